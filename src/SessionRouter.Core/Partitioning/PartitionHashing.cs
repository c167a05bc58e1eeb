using System.IO.Hashing;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace SessionRouter.Core.Partitioning;

/// <summary>
/// The hash functions of the partition map. Every seed is a fixed constant so every process, machine and
/// restart computes the same map; <see cref="string.GetHashCode()"/> is randomised per process and is never used.
/// Changing any constant here re-partitions every deployed map, so they are part of the on-disk contract.
/// </summary>
internal static class PartitionHashing
{
    /// <summary>Seed of the session id hash (XxHash3 over the id's UTF-16 code units).</summary>
    private const ulong KeySeed = 0x5E55_1011_2026_0001UL;

    /// <summary>Seed of the node id hash (XxHash3 over the id's UTF-8 bytes).</summary>
    private const ulong NodeSeed = 0x5E55_1011_2026_0002UL;

    /// <summary>
    /// Hashes a session id. UTF-16 code units are hashed as they are (little-endian on every platform .NET
    /// runs on), which avoids transcoding on the per-request path.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong HashKey(ReadOnlySpan<char> sessionId)
        => XxHash3.HashToUInt64(MemoryMarshal.AsBytes(sessionId), unchecked((long)KeySeed));

    /// <summary>A node's rendezvous seed: XxHash3 of its id's UTF-8 bytes.</summary>
    public static ulong HashNode(string nodeId)
        => XxHash3.HashToUInt64(Encoding.UTF8.GetBytes(nodeId), unchecked((long)NodeSeed));
}
