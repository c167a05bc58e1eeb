using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using Microsoft.AspNetCore.DataProtection;

namespace SessionRouter.Gateway.Cookies;

/// <summary>
/// Mints session ids and protects them in the session cookie with DataProtection. Every gateway that
/// shares the key ring and the application name reads every other's cookie; anything else (garbled,
/// tampered, a foreign key) is simply not a session id.
/// </summary>
internal sealed class SessionCookieCodec
{
    /// <summary>128 bits: the id is 22 base64url characters.</summary>
    public const int IdBytes = 16;
    public const int IdLength = 22;

    // A protected 16-byte payload is ~100 bytes; anything far longer is not ours and is not worth decoding.
    private const int MaxCookieLength = 512;
    // Unprotecting costs a key derivation and two MACs per request; a cookie that verified once maps to
    // the same id for good, so verified values are remembered (bounded: the map is dropped when full).
    private const int MaxRemembered = 100_000;
    private readonly IDataProtector _protector;
    private readonly ConcurrentDictionary<string, string> _verified = new(StringComparer.Ordinal);

    // Looks remembered values up by span: reading a known cookie allocates nothing.
    private readonly ConcurrentDictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> _verifiedBySpan;
    private int _rememberedCount;

    public SessionCookieCodec(IDataProtectionProvider provider)
    {
        ArgumentNullException.ThrowIfNull(provider);
        _protector = provider.CreateProtector("SessionRouter.SessionCookie.v1");
        _verifiedBySpan = _verified.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>A new session id from the OS CSPRNG.</summary>
    public static string NewSessionId()
    {
        Span<byte> raw = stackalloc byte[IdBytes];
        RandomNumberGenerator.Fill(raw);
        return Base64Url.EncodeToString(raw);
    }

    public string Protect(string sessionId)
    {
        var raw = new byte[IdBytes];
        if (sessionId.Length != IdLength || Base64Url.DecodeFromChars(sessionId, raw, out _, out var written) != System.Buffers.OperationStatus.Done || written != IdBytes)
        {
            throw new ArgumentException("Not a session id minted by the gateway.", nameof(sessionId));
        }

        var cookie = Base64Url.EncodeToString(_protector.Protect(raw));
        Remember(cookie, sessionId);
        return cookie;
    }

    /// <summary>Reads a cookie value; false for anything this gateway's key ring did not protect.</summary>
    public bool TryUnprotect(ReadOnlySpan<char> cookieValue, out string sessionId)
    {
        if (_verifiedBySpan.TryGetValue(cookieValue, out var known))
        {
            sessionId = known;
            return true;
        }

        sessionId = "";
        if (cookieValue.Length is 0 or > MaxCookieLength)
        {
            return false;
        }

        Span<byte> buffer = stackalloc byte[MaxCookieLength];
        // The OperationStatus overload reports bad characters instead of throwing (TryDecodeFromChars throws on them).
        if (Base64Url.DecodeFromChars(cookieValue, buffer, out _, out var length) != System.Buffers.OperationStatus.Done
            || !IsCanonical(cookieValue, buffer[..length]))
        {
            return false;
        }

        byte[] raw;
        try
        {
            raw = _protector.Unprotect(buffer[..length].ToArray());
        }
        catch (CryptographicException)
        {
            return false;
        }

        if (raw.Length != IdBytes)
        {
            return false;
        }

        sessionId = Base64Url.EncodeToString(raw);
        Remember(cookieValue.ToString(), sessionId);
        return true;
    }

    /// <summary>
    /// True when <paramref name="cookieValue"/> is the one spelling the gateway issues for <paramref name="decoded"/>.
    /// The decoder also takes padding, whitespace anywhere and stray low bits in the last character: each such
    /// spelling of a stolen cookie would cost a MAC check and take a place in the verified-cookie cache.
    /// </summary>
    private static bool IsCanonical(ReadOnlySpan<char> cookieValue, ReadOnlySpan<byte> decoded)
    {
        if (Base64Url.GetEncodedLength(decoded.Length) != cookieValue.Length)
        {
            return false;
        }

        Span<char> encoded = stackalloc char[MaxCookieLength];
        return Base64Url.TryEncodeToChars(decoded, encoded, out var written) && encoded[..written].SequenceEqual(cookieValue);
    }

    private void Remember(string cookieValue, string sessionId)
    {
        if (Interlocked.Increment(ref _rememberedCount) > MaxRemembered)
        {
            _verified.Clear();
            Interlocked.Exchange(ref _rememberedCount, 1);
        }

        _verified.TryAdd(cookieValue, sessionId);
    }
}
