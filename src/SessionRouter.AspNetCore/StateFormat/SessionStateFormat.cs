using System.Buffers.Binary;
using System.Buffers.Text;
using System.Text;

namespace SessionRouter.AspNetCore.StateFormat;

/// <summary>
/// The state blob, format version 1 (docs/protocol.md, "State blob"): one version byte <c>0x01</c>, then
/// zero or more entries to the end of the blob, each a big-endian <c>uint16</c> key length, the key in
/// UTF-8, a big-endian <c>uint32</c> value length and the value bytes. Keys are unique (ordinal). Any
/// language can read and write it with its standard library; the gateway never looks inside.
/// </summary>
public static class SessionStateFormat
{
    /// <summary>The first byte of every version 1 blob.</summary>
    public const byte Version1 = 0x01;

    /// <summary>The longest key, in UTF-8 bytes.</summary>
    public const int MaxKeyBytes = ushort.MaxValue;

    private const int KeyLengthSize = sizeof(ushort);
    private const int ValueLengthSize = sizeof(uint);

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The size in bytes of the blob that <see cref="Encode"/> would produce.</summary>
    public static int GetEncodedLength(IEnumerable<KeyValuePair<string, byte[]>> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        long length = 1;
        foreach (var (key, value) in entries)
        {
            var keyBytes = StrictUtf8.GetByteCount(key);
            if (keyBytes > MaxKeyBytes)
            {
                throw new ArgumentException($"The session key '{Truncate(key)}' is {keyBytes} UTF-8 bytes; the state format allows at most {MaxKeyBytes}.", nameof(entries));
            }

            length += KeyLengthSize + keyBytes + ValueLengthSize + value.Length;
            if (length > int.MaxValue)
            {
                throw new ArgumentException("The session state exceeds 2 GiB.", nameof(entries));
            }
        }

        return (int)length;
    }

    /// <summary>Writes the entries as a version 1 blob.</summary>
    public static byte[] Encode(IReadOnlyCollection<KeyValuePair<string, byte[]>> entries)
    {
        var blob = new byte[GetEncodedLength(entries)];
        var span = blob.AsSpan();
        span[0] = Version1;
        var offset = 1;
        foreach (var (key, value) in entries)
        {
            var keyBytes = StrictUtf8.GetBytes(key, span[(offset + KeyLengthSize)..]);
            BinaryPrimitives.WriteUInt16BigEndian(span[offset..], (ushort)keyBytes);
            offset += KeyLengthSize + keyBytes;
            BinaryPrimitives.WriteUInt32BigEndian(span[offset..], (uint)value.Length);
            offset += ValueLengthSize;
            value.CopyTo(span[offset..]);
            offset += value.Length;
        }

        return blob;
    }

    /// <summary>Reads a version 1 blob into a new dictionary (ordinal keys, values copied).</summary>
    /// <exception cref="FormatException">The blob is not a well-formed version 1 blob.</exception>
    public static Dictionary<string, byte[]> Decode(ReadOnlySpan<byte> blob)
    {
        if (blob.IsEmpty)
        {
            throw new FormatException("The session state blob is empty; a version 1 blob starts with the byte 0x01.");
        }

        if (blob[0] != Version1)
        {
            throw new FormatException($"The session state blob has format version 0x{blob[0]:X2}; only 0x01 is understood.");
        }

        var entries = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        var offset = 1;
        while (offset < blob.Length)
        {
            if (blob.Length - offset < KeyLengthSize)
            {
                throw Truncated(offset, "key length");
            }

            int keyLength = BinaryPrimitives.ReadUInt16BigEndian(blob[offset..]);
            offset += KeyLengthSize;
            if (blob.Length - offset < keyLength)
            {
                throw Truncated(offset, "key");
            }

            string key;
            try
            {
                key = StrictUtf8.GetString(blob.Slice(offset, keyLength));
            }
            catch (DecoderFallbackException ex)
            {
                throw new FormatException($"The session state blob has a key at byte {offset} that is not valid UTF-8.", ex);
            }

            offset += keyLength;
            if (blob.Length - offset < ValueLengthSize)
            {
                throw Truncated(offset, "value length");
            }

            var valueLength = BinaryPrimitives.ReadUInt32BigEndian(blob[offset..]);
            offset += ValueLengthSize;
            if ((ulong)(blob.Length - offset) < valueLength)
            {
                throw Truncated(offset, "value");
            }

            if (!entries.TryAdd(key, blob.Slice(offset, (int)valueLength).ToArray()))
            {
                throw new FormatException($"The session state blob lists the key '{Truncate(key)}' twice.");
            }

            offset += (int)valueLength;
        }

        return entries;
    }

    /// <summary>Encodes to the header form: base64url without padding (RFC 4648 §5).</summary>
    public static string ToHeaderValue(ReadOnlySpan<byte> blob) => Base64Url.EncodeToString(blob);

    /// <summary>Decodes the header form (base64url; trailing padding tolerated).</summary>
    /// <exception cref="FormatException">The value is not base64url.</exception>
    public static byte[] FromHeaderValue(string headerValue)
    {
        ArgumentNullException.ThrowIfNull(headerValue);
        var buffer = new byte[Base64Url.GetMaxDecodedLength(headerValue.Length)];
        int written;
        try
        {
            // Returns false only when the buffer is too small, which GetMaxDecodedLength rules out.
            Base64Url.TryDecodeFromChars(headerValue, buffer, out written);
        }
        catch (FormatException ex)
        {
            throw new FormatException("The SessionRouter-State header is not base64url (RFC 4648 §5, alphabet A-Z a-z 0-9 - _).", ex);
        }

        return written == buffer.Length ? buffer : buffer[..written];
    }

    private static FormatException Truncated(int offset, string what)
        => new($"The session state blob ends at byte {offset} in the middle of an entry's {what}.");

    private static string Truncate(string key) => key.Length <= 40 ? key : string.Concat(key.AsSpan(0, 40), "…");
}
