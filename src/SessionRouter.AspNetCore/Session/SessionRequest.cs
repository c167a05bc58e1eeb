using SessionRouter.Core.Configuration;

namespace SessionRouter.AspNetCore.Session;

/// <summary>The outcome of reading a request's SessionRouter headers.</summary>
internal readonly record struct SessionRequest(
    SessionRouterRequestStatus Status,
    string? SessionId,
    SessionMode Mode,
    string? StateHeader,
    string? FailureReason)
{
    public static SessionRequest NoSession { get; } = new(
        SessionRouterRequestStatus.NoSession, null, SessionMode.None, null,
        "the request carries no SessionRouter headers (the route's session mode is None, or the request did not come through the gateway)");

    public static SessionRequest NodeUnavailable { get; } = new(
        SessionRouterRequestStatus.NodeUnavailable, null, SessionMode.None, null,
        "the gateway forwarded the request without a session because no state node is available (SessionRouter-Mode: unavailable)");

    public static SessionRequest Unverified(string reason) => new(
        SessionRouterRequestStatus.Unverified, null, SessionMode.None, null, reason);
}
