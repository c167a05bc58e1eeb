using System.Buffers.Binary;
using SessionRouter.Core.Storage;

namespace SessionRouter.Redis.Scripts;

/// <summary>
/// The fixed header in front of every stored state blob (big-endian, 50 bytes):
/// format (1) = 1, flags (1: 1 = uninitialized, 4 = locked), version (8: 1 for a new item, +1 per write, or
/// the writer's own), item timeout ms (8), lock time ms on the server clock (8), lock timeout ms (8), lock id
/// (8: the current lock's, or the last one's after release, so that lock ids of a session keep rising),
/// waiters-until ms on the server clock (8: releases publish a notification until then).
/// </summary>
internal readonly record struct ItemHeader(byte Flags, long Version, long ItemTimeoutMs, long LockTimeMs, long LockTimeoutMs, long LockId)
{
    public const int Length = 50;

    public bool IsLocked => (Flags & 4) != 0;

    public static ItemHeader Parse(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < Length || bytes[0] != 1)
        {
            throw new InvalidDataException($"A Redis session item has no valid header ({bytes.Length} bytes).");
        }

        return new ItemHeader(
            bytes[1],
            BinaryPrimitives.ReadInt64BigEndian(bytes[2..]),
            BinaryPrimitives.ReadInt64BigEndian(bytes[10..]),
            BinaryPrimitives.ReadInt64BigEndian(bytes[18..]),
            BinaryPrimitives.ReadInt64BigEndian(bytes[26..]),
            BinaryPrimitives.ReadInt64BigEndian(bytes[34..]));
    }

    /// <summary>The lock this header describes, aged on the server's clock <paramref name="nowMs"/>.</summary>
    public SessionLock LockAt(long nowMs) => IsLocked
        ? new SessionLock(LockId, DateTimeOffset.FromUnixTimeMilliseconds(LockTimeMs), TimeSpan.FromMilliseconds(Math.Max(nowMs - LockTimeMs, 0)))
        : default;
}
