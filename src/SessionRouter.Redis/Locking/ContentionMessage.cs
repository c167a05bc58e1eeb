using System.Buffers.Binary;
using System.Text;
using SessionRouter.Core.Storage;

namespace SessionRouter.Redis.Locking;

/// <summary>
/// A contention announcement as it is published on the store's contention channel: the holder's lock id
/// (8 bytes, big-endian as the scripts keep ids), the application name's length in UTF-8 bytes (2 bytes,
/// big-endian), the application name, then the session id (the rest). Binary, so neither part needs escaping.
/// </summary>
internal static class ContentionMessage
{
    private const int HeaderBytes = 10;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The message for <paramref name="contention"/>; null when its application name is past 65,535 UTF-8 bytes.</summary>
    public static byte[]? Encode(LockContention contention)
    {
        var applicationBytes = Encoding.UTF8.GetByteCount(contention.Key.Application);
        if (applicationBytes > ushort.MaxValue)
        {
            return null;
        }

        var message = new byte[HeaderBytes + applicationBytes + Encoding.UTF8.GetByteCount(contention.Key.SessionId)];
        BinaryPrimitives.WriteInt64BigEndian(message, contention.HolderLockId);
        BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(8), (ushort)applicationBytes);
        var written = Encoding.UTF8.GetBytes(contention.Key.Application, message.AsSpan(HeaderBytes));
        Encoding.UTF8.GetBytes(contention.Key.SessionId, message.AsSpan(HeaderBytes + written));
        return message;
    }

    /// <summary>Decodes a message; false for anything <see cref="Encode"/> never produces (short, empty id, invalid UTF-8, lock id not positive).</summary>
    public static bool TryDecode(ReadOnlySpan<byte> message, out LockContention contention)
    {
        contention = default;
        if (message.Length <= HeaderBytes)
        {
            return false;
        }

        var lockId = BinaryPrimitives.ReadInt64BigEndian(message);
        int applicationBytes = BinaryPrimitives.ReadUInt16BigEndian(message[8..]);
        if (lockId <= 0 || message.Length - HeaderBytes <= applicationBytes)
        {
            return false;
        }

        try
        {
            var application = StrictUtf8.GetString(message.Slice(HeaderBytes, applicationBytes));
            var id = StrictUtf8.GetString(message[(HeaderBytes + applicationBytes)..]);
            contention = new LockContention(new SessionKey(application, id), lockId);
            return true;
        }
        catch (DecoderFallbackException)
        {
            return false;
        }
    }
}
