using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using SessionRouter.StateServer.Wire;

namespace SessionRouter.StateServer.Connections;

/// <summary>
/// The node's access-key rule, one for every request whatever answers it (the protocol handler, /health,
/// /metrics): the key compared in constant time, and the outcome told to the connection guard, which admits a
/// connection whose request presents the key (or needs none) and closes one that fails it after its 401.
/// </summary>
internal sealed class AccessKeyGate(string? accessKey)
{
    private const int MaxKeyChars = 1024;
    private const string BearerPrefix = "Bearer ";

    private readonly byte[]? _key = string.IsNullOrEmpty(accessKey) ? null : Encoding.UTF8.GetBytes(accessKey);

    /// <summary>
    /// True when the request may go on: no key is set, or it presents it in <c>X-SR-Access-Key</c> (or, with
    /// <paramref name="acceptBearer"/>, as <c>Authorization: Bearer</c>, the form scrapers send).
    /// </summary>
    public bool Admit(HttpContext context, bool acceptBearer = false)
    {
        var admission = context.Features.Get<ConnectionAdmission>();
        if (_key is not null && !Presents(context.Request.Headers, acceptBearer))
        {
            admission?.Refuse();
            return false;
        }

        admission?.Admit();
        return true;
    }

    private bool Presents(IHeaderDictionary headers, bool acceptBearer)
    {
        var value = headers[StateProtocol.AccessKey];
        if (value.Count == 1 && value[0] is { Length: > 0 and <= MaxKeyChars } key)
        {
            return Matches(key);
        }

        if (!acceptBearer)
        {
            return false;
        }

        var authorization = headers.Authorization;
        return authorization.Count == 1
            && authorization[0] is { Length: > 7 and <= MaxKeyChars + 7 } bearer
            && bearer.StartsWith(BearerPrefix, StringComparison.OrdinalIgnoreCase)
            && Matches(bearer[BearerPrefix.Length..]);
    }

    private bool Matches(string key)
    {
        Span<byte> buffer = stackalloc byte[MaxKeyChars * 4];
        var length = Encoding.UTF8.GetBytes(key, buffer);
        return CryptographicOperations.FixedTimeEquals(buffer[..length], _key);
    }
}
