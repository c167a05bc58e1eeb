using System.Buffers;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace SessionRouter.Core.HeaderContract;

/// <summary>
/// Signs and verifies the request headers of the contract with a key shared by gateway and sites, so a
/// request that bypasses the gateway cannot forge a session. The signed text is
/// <c>"v1\n" + id + "\n" + mode + "\n" + timestamp + "\n" + state</c> (state as sent, base64url or empty),
/// UTF-8 encoded; the signature is HMAC-SHA256 of it, base64url without padding.
/// </summary>
public sealed class SessionSignature
{
    private const int HashSize = 32;
    private readonly byte[] _key;

    public SessionSignature(ReadOnlySpan<byte> key)
    {
        if (key.Length < 32)
        {
            throw new ArgumentException("The signature key must be at least 32 bytes (256 bits).", nameof(key));
        }

        _key = key.ToArray();
    }

    /// <summary>Computes the signature header value.</summary>
    public string Sign(string sessionId, string mode, long timestamp, string? state)
    {
        Span<byte> hash = stackalloc byte[HashSize];
        ComputeHash(sessionId, mode, timestamp, state, hash);
        return Base64Url.EncodeToString(hash);
    }

    /// <summary>Verifies a signature header value in constant time.</summary>
    public bool Verify(string sessionId, string mode, long timestamp, string? state, string? signature)
    {
        if (string.IsNullOrEmpty(signature))
        {
            return false;
        }

        Span<byte> presented = stackalloc byte[HashSize];
        // IsValid first: TryDecodeFromChars throws on characters outside base64url, and a forged header must not.
        if (!Base64Url.IsValid(signature, out var decodedLength) || decodedLength != HashSize
            || !Base64Url.TryDecodeFromChars(signature, presented, out var written) || written != HashSize)
        {
            return false;
        }

        Span<byte> expected = stackalloc byte[HashSize];
        ComputeHash(sessionId, mode, timestamp, state, expected);
        return CryptographicOperations.FixedTimeEquals(expected, presented);
    }

    private void ComputeHash(string sessionId, string mode, long timestamp, string? state, Span<byte> destination)
    {
        // One-shot HMAC over one buffer: creating an IncrementalHash per call costs more than hashing
        // a 1 KiB state, and this runs on every forwarded request (gateway) and every verified one (site).
        state ??= "";
        var maxLength = Encoding.UTF8.GetMaxByteCount(sessionId.Length + mode.Length + state.Length) + 32;
        byte[]? rented = null;
        var buffer = maxLength <= 512 ? stackalloc byte[512] : (rented = ArrayPool<byte>.Shared.Rent(maxLength));
        try
        {
            var length = 0;
            length += Encoding.UTF8.GetBytes("v1\n", buffer[length..]);
            length += Encoding.UTF8.GetBytes(sessionId, buffer[length..]);
            buffer[length++] = (byte)'\n';
            length += Encoding.UTF8.GetBytes(mode, buffer[length..]);
            buffer[length++] = (byte)'\n';
            timestamp.TryFormat(buffer[length..], out var digits, provider: System.Globalization.CultureInfo.InvariantCulture);
            length += digits;
            buffer[length++] = (byte)'\n';
            length += Encoding.UTF8.GetBytes(state, buffer[length..]);
            HMACSHA256.HashData(_key, buffer[..length], destination);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }
}
