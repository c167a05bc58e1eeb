using System.Buffers.Binary;
using System.Text;
using SessionRouter.Core.Storage;

namespace SessionRouter.StateServer.Wire;

/// <summary>What <see cref="ContentionCodec.TryReadFrame"/> found at the start of the bytes it was given.</summary>
internal enum ContentionFrameStatus
{
    /// <summary>A whole frame: it was decoded and its length is reported.</summary>
    Complete,

    /// <summary>The frame is not whole yet: read more bytes and try again (nothing is consumed).</summary>
    Incomplete,

    /// <summary>The bytes cannot be a frame: the stream is broken and is given up.</summary>
    Malformed,
}

/// <summary>
/// The framing of the engine's contention stream (<c>GET /contention</c>, docs/engine.md, "Contention
/// stream"): the preamble <c>SRC1</c> once, then one frame per announcement, all integers little-endian —
/// application length (uint16), session id length (uint16), the holder's lock id (int64), then the
/// application name and the session id (UTF-8). A stream of small fixed-header frames, so the engine
/// can flush each as it happens and the client decodes without parsing text; every length is checked
/// before it is used, as in <see cref="BatchCodec"/>.
/// </summary>
internal static class ContentionCodec
{
    /// <summary>"SRC1": the first four bytes of every contention stream.</summary>
    public const uint Magic = 0x31435253;

    public const int PreambleBytes = 4;
    public const int FrameHeaderBytes = 12;

    /// <summary>The largest frame: a header, the longest application name the length field holds, the longest id.</summary>
    public const int MaxFrameBytes = FrameHeaderBytes + ushort.MaxValue + StateProtocol.MaxSessionIdBytes;


    public static void WritePreamble(Span<byte> destination) => BinaryPrimitives.WriteUInt32LittleEndian(destination, Magic);

    /// <summary>True when <paramref name="source"/> (at least <see cref="PreambleBytes"/> long) starts with the preamble.</summary>
    public static bool IsPreamble(ReadOnlySpan<byte> source) =>
        source.Length >= PreambleBytes && BinaryPrimitives.ReadUInt32LittleEndian(source) == Magic;

    /// <summary>
    /// The bytes <paramref name="contention"/> takes as a frame, or -1 when it cannot be framed (an application
    /// name past 65,535 UTF-8 bytes, an empty one, or a session id that is empty or past
    /// <see cref="StateProtocol.MaxSessionIdBytes"/>); the store never holds such a key, so this is a guard only.
    /// </summary>
    public static int FrameSize(LockContention contention)
    {
        var applicationBytes = Encoding.UTF8.GetByteCount(contention.Key.Application ?? string.Empty);
        var idBytes = Encoding.UTF8.GetByteCount(contention.Key.SessionId ?? string.Empty);
        return applicationBytes is 0 or > ushort.MaxValue || idBytes is 0 or > StateProtocol.MaxSessionIdBytes
            ? -1
            : FrameHeaderBytes + applicationBytes + idBytes;
    }

    /// <summary>Writes one frame; <paramref name="destination"/> must hold <see cref="FrameSize"/> bytes. Returns its length.</summary>
    public static int WriteFrame(Span<byte> destination, LockContention contention)
    {
        var applicationBytes = Encoding.UTF8.GetBytes(contention.Key.Application, destination[FrameHeaderBytes..]);
        var idBytes = Encoding.UTF8.GetBytes(contention.Key.SessionId, destination[(FrameHeaderBytes + applicationBytes)..]);
        BinaryPrimitives.WriteUInt16LittleEndian(destination, (ushort)applicationBytes);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[2..], (ushort)idBytes);
        BinaryPrimitives.WriteInt64LittleEndian(destination[4..], contention.HolderLockId);
        return FrameHeaderBytes + applicationBytes + idBytes;
    }

    /// <summary>
    /// Decodes the frame at the start of <paramref name="source"/>. <see cref="ContentionFrameStatus.Incomplete"/>
    /// asks for more bytes; <see cref="ContentionFrameStatus.Malformed"/> says why in <paramref name="error"/>
    /// (an empty application or id, an id past <see cref="StateProtocol.MaxSessionIdBytes"/> bytes or with a
    /// <c>/</c>, a lock id that is not positive, invalid UTF-8).
    /// </summary>
    public static ContentionFrameStatus TryReadFrame(ReadOnlySpan<byte> source, out LockContention contention, out int consumed, out string error)
    {
        contention = default;
        consumed = 0;
        error = string.Empty;
        if (source.Length < FrameHeaderBytes)
        {
            return ContentionFrameStatus.Incomplete;
        }

        int applicationBytes = BinaryPrimitives.ReadUInt16LittleEndian(source);
        int idBytes = BinaryPrimitives.ReadUInt16LittleEndian(source[2..]);
        var lockId = BinaryPrimitives.ReadInt64LittleEndian(source[4..]);
        if (applicationBytes == 0 || idBytes is 0 or > StateProtocol.MaxSessionIdBytes)
        {
            error = $"the application and the session id must be non-empty and the id at most {StateProtocol.MaxSessionIdBytes} bytes (the frame declares {applicationBytes} and {idBytes} bytes).";
            return ContentionFrameStatus.Malformed;
        }

        if (lockId <= 0)
        {
            error = $"the holder's lock id must be positive; the frame carries {lockId}.";
            return ContentionFrameStatus.Malformed;
        }

        var length = FrameHeaderBytes + applicationBytes + idBytes;
        if (source.Length < length)
        {
            return ContentionFrameStatus.Incomplete;
        }

        if (!WireSessionKey.TryDecode(source.Slice(FrameHeaderBytes, applicationBytes), source.Slice(FrameHeaderBytes + applicationBytes, idBytes), out var key, out var keyError))
        {
            error = keyError;
            return ContentionFrameStatus.Malformed;
        }

        contention = new LockContention(key, lockId);
        consumed = length;
        return ContentionFrameStatus.Complete;
    }
}
