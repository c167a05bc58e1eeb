using SessionRouter.Core.Configuration;

namespace SessionRouter.AspNetCore.Session;

/// <summary>
/// The SessionRouter side of a request, next to <c>HttpContext.Session</c>: how the request was verified, the
/// route's session mode, and the abandon marker. Get it with <c>HttpContext.Features.Get&lt;ISessionRouterFeature&gt;()</c>.
/// </summary>
public interface ISessionRouterFeature
{
    /// <summary>How the request's SessionRouter headers were judged.</summary>
    SessionRouterRequestStatus Status { get; }

    /// <summary>Why the session is not available, for logs and error pages; null when it is.</summary>
    string? UnavailableReason { get; }

    /// <summary>The route's session mode as the gateway stated it (<c>None</c> without a verified session).</summary>
    SessionMode Mode { get; }

    /// <summary>True once <see cref="Abandon"/> was called on this request.</summary>
    bool IsAbandoned { get; }

    /// <summary>
    /// Ends the session: the response carries the abandon marker, the gateway removes the stored state and
    /// expires the cookie; the next request starts a new session. The in-memory session is cleared at once.
    /// </summary>
    /// <exception cref="InvalidOperationException">The session is unavailable or read-only, or the response has started.</exception>
    void Abandon();
}
