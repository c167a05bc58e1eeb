using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using SessionRouter.AspNetCore.Configuration;
using SessionRouter.Core.Configuration;
using SessionRouter.Core.HeaderContract;

namespace SessionRouter.AspNetCore.Session;

/// <summary>
/// Reads the request headers of the contract and checks the gateway's signature and timestamp window.
/// Never throws for bad input: every defect becomes <see cref="SessionRouterRequestStatus.Unverified"/> with
/// a reason that names it.
/// </summary>
internal sealed class SessionRequestVerifier
{
    private readonly SessionSignature _signature;
    private readonly long _windowSeconds;
    private readonly TimeProvider _time;

    public SessionRequestVerifier(IOptions<SessionRouterSessionOptions> options, TimeProvider time)
    {
        var settings = options.Value;
        if (settings.SignatureKey is null || !SessionRouterSessionOptionsValidator.TryDecodeKey(settings.SignatureKey, out var key))
        {
            throw new InvalidOperationException("SessionRouter:SignatureKey must be set to a base64 key shared with the gateway.");
        }

        _signature = new SessionSignature(key);
        _windowSeconds = (long)Math.Ceiling(settings.TimestampWindow.TotalSeconds);
        _time = time;
    }

    public SessionRequest Read(IHeaderDictionary headers)
    {
        var id = Single(headers, SessionHeaders.Id);
        var mode = Single(headers, SessionHeaders.Mode);
        var state = Single(headers, SessionHeaders.State);
        var timestamp = Single(headers, SessionHeaders.Timestamp);
        var signature = Single(headers, SessionHeaders.Signature);

        if (id.Count == 0 && mode.Count == 0 && state.Count == 0 && timestamp.Count == 0 && signature.Count == 0)
        {
            return SessionRequest.NoSession;
        }

        if (mode.Count == 1 && string.Equals(mode[0], SessionModeValues.Unavailable, StringComparison.Ordinal))
        {
            // Carries no state, so there is nothing to protect: a forged "unavailable" only denies the session.
            return SessionRequest.NodeUnavailable;
        }

        if (id.Count > 1 || mode.Count > 1 || state.Count > 1 || timestamp.Count > 1 || signature.Count > 1)
        {
            return SessionRequest.Unverified("a SessionRouter header appears more than once");
        }

        string? idText = id, modeText = mode, stateText = state, timestampText = timestamp, signatureText = signature;
        if (string.IsNullOrEmpty(signatureText))
        {
            return SessionRequest.Unverified($"the {SessionHeaders.Signature} header is missing");
        }

        if (string.IsNullOrEmpty(idText) || string.IsNullOrEmpty(modeText))
        {
            return SessionRequest.Unverified($"the {SessionHeaders.Id} or {SessionHeaders.Mode} header is missing");
        }

        if (!long.TryParse(timestampText, NumberStyles.None, CultureInfo.InvariantCulture, out var signedAt))
        {
            return SessionRequest.Unverified($"the {SessionHeaders.Timestamp} header is missing or not a decimal number of Unix seconds");
        }

        if (!VerifySignature(idText, modeText, signedAt, stateText, signatureText))
        {
            return SessionRequest.Unverified("the signature does not match (a different SignatureKey, or altered headers)");
        }

        var now = _time.GetUtcNow().ToUnixTimeSeconds();
        if (Math.Abs(now - signedAt) > _windowSeconds)
        {
            return SessionRequest.Unverified(
                $"the signed timestamp {signedAt} is {now - signedAt} s from this server's clock, outside SessionRouter:TimestampWindow ({_windowSeconds} s)");
        }

        SessionMode sessionMode;
        switch (modeText)
        {
            case SessionModeValues.ReadWrite:
                sessionMode = SessionMode.ReadWrite;
                break;
            case SessionModeValues.ReadOnly:
                sessionMode = SessionMode.ReadOnly;
                break;
            default:
                return SessionRequest.Unverified($"the {SessionHeaders.Mode} value '{modeText}' is not read-write, read-only or unavailable");
        }

        return new SessionRequest(SessionRouterRequestStatus.Verified, idText, sessionMode, string.IsNullOrEmpty(stateText) ? null : stateText, null);
    }

    private bool VerifySignature(string id, string mode, long signedAt, string? state, string signature)
    {
        try
        {
            return _signature.Verify(id, mode, signedAt, state, signature);
        }
        catch (FormatException)
        {
            // Base64Url throws (rather than returning false) on characters outside its alphabet.
            return false;
        }
    }

    private static StringValues Single(IHeaderDictionary headers, string name)
        => headers.TryGetValue(name, out var values) ? values : StringValues.Empty;
}
