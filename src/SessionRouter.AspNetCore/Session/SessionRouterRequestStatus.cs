namespace SessionRouter.AspNetCore.Session;

/// <summary>What the SessionRouter headers of a request amounted to.</summary>
public enum SessionRouterRequestStatus
{
    /// <summary>Signed by the gateway within the timestamp window: the session is available.</summary>
    Verified,

    /// <summary>
    /// No SessionRouter header at all: the route's session mode is <c>None</c>, or the request did not come
    /// through the gateway. The request runs without a session.
    /// </summary>
    NoSession,

    /// <summary>The gateway forwarded the request without a session because no state node was healthy.</summary>
    NodeUnavailable,

    /// <summary>
    /// SessionRouter headers were present but failed verification (missing or bad signature, timestamp outside
    /// the window, malformed value). The request runs without a session, or gets 403 when
    /// <c>RejectInvalidRequests</c> is on.
    /// </summary>
    Unverified,
}
