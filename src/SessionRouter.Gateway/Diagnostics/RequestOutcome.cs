using Microsoft.AspNetCore.Http;
using SessionRouter.Core.HeaderContract;
using SessionRouter.Gateway.Pipeline;

namespace SessionRouter.Gateway.Diagnostics;

/// <summary>
/// The <c>outcome</c> tag of <c>sessionrouter.gateway.requests</c>: <see cref="Ok"/>, or why the gateway
/// answered in the backend's place. Derived from the refusal the gateway wrote (every refusal passes through
/// <see cref="GatewayResponses.WriteAsync"/>), so the request path carries no extra bookkeeping.
/// </summary>
internal static class RequestOutcome
{
    /// <summary>The session was loaded and the backend's answer carried out (saved, released or removed).</summary>
    public const string Ok = "ok";

    /// <summary>Forwarded without a session: no healthy node, with <c>WhenNoHealthyNode: ForwardWithoutSession</c>.</summary>
    public const string Unavailable = "unavailable";

    /// <summary>503: the session's lock was not free in time, or its waiting queue was full.</summary>
    public const string Busy = "busy";

    /// <summary>409: the request's lock was taken over after the lock timeout and its late save refused.</summary>
    public const string LockLost = "lock_lost";

    /// <summary>503: no node of the session's list was healthy.</summary>
    public const string NoNode = "no_node";

    /// <summary>503: every node the request tried failed.</summary>
    public const string NodeFailed = "node_failed";

    /// <summary>503: the node's memory cap refused a new session.</summary>
    public const string StoreFull = "store_full";

    /// <summary>502: the backend's state was too large or not base64url.</summary>
    public const string StateRejected = "state_rejected";

    /// <summary>502: the store refused the write for another reason.</summary>
    public const string StoreRefused = "store_refused";

    /// <summary>The request ended with an exception (for example, the client went away mid-request).</summary>
    public const string Error = "error";

    /// <summary>Remembers the refusal the gateway is about to write for <paramref name="context"/>'s request.</summary>
    public static void Refused(HttpContext context, GatewayRefusal refusal)
        => context.Features.Set(new RefusalFeature(ForRefusal(refusal)));

    /// <summary>The outcome of a request whose exchange ended normally.</summary>
    public static string Of(HttpContext context)
    {
        if (context.Features.Get<RefusalFeature>() is { } refused)
        {
            return refused.Outcome;
        }

        return context.Request.Headers[SessionHeaders.Mode] == SessionModeValues.Unavailable ? Unavailable : Ok;
    }

    private static string ForRefusal(GatewayRefusal refusal) => refusal.Message switch
    {
        GatewayResponses.LockBusy => Busy,
        GatewayResponses.LockLost => LockLost,
        GatewayResponses.NoHealthyNode => NoNode,
        GatewayResponses.StoreFailed => NodeFailed,
        GatewayResponses.StoreFull => StoreFull,
        GatewayResponses.StateTooLarge or GatewayResponses.StateInvalid => StateRejected,
        _ => StoreRefused,
    };

    /// <summary>Set only on refused requests: the common path allocates nothing.</summary>
    private sealed class RefusalFeature(string outcome)
    {
        public string Outcome { get; } = outcome;
    }
}
