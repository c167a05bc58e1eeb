using SessionRouter.AspNetCore.StateFormat;
using SessionRouter.Core.HeaderContract;

namespace SessionRouter.AspNetCore.Tests.Infrastructure;

/// <summary>Builds the request headers a gateway would send, signed with Core's <see cref="SessionSignature"/>.</summary>
internal static class GatewayHeaders
{
    public static string NewSessionId() => Convert.ToBase64String(Guid.NewGuid().ToByteArray()).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static string Encode(IReadOnlyDictionary<string, byte[]> entries)
        => SessionStateFormat.ToHeaderValue(SessionStateFormat.Encode(entries.ToList()));

    public static string EncodeStrings(params (string Key, string Value)[] entries)
        => Encode(entries.ToDictionary(e => e.Key, e => System.Text.Encoding.UTF8.GetBytes(e.Value)));

    public static HttpRequestMessage Signed(
        HttpMethod method,
        string path,
        string sessionId,
        string mode = SessionModeValues.ReadWrite,
        string? state = null,
        long? timestamp = null,
        string? key = null)
    {
        var request = new HttpRequestMessage(method, path);
        var signedAt = timestamp ?? DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var signature = new SessionSignature(Convert.FromBase64String(key ?? TestKeys.SignatureKey));
        request.Headers.Add(SessionHeaders.Id, sessionId);
        request.Headers.Add(SessionHeaders.Mode, mode);
        request.Headers.Add(SessionHeaders.Timestamp, signedAt.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (state is not null)
        {
            request.Headers.Add(SessionHeaders.State, state);
        }

        request.Headers.Add(SessionHeaders.Signature, signature.Sign(sessionId, mode, signedAt, state));
        return request;
    }

    public static Dictionary<string, string> DecodeStrings(string headerValue)
        => SessionStateFormat.Decode(SessionStateFormat.FromHeaderValue(headerValue))
            .ToDictionary(e => e.Key, e => System.Text.Encoding.UTF8.GetString(e.Value));

    public static string? ResponseState(HttpResponseMessage response)
        => response.Headers.TryGetValues(SessionHeaders.State, out var values) ? values.Single() : null;

    public static bool HasAbandon(HttpResponseMessage response) => response.Headers.Contains(SessionHeaders.Abandon);
}
