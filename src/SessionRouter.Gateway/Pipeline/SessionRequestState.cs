using SessionRouter.Core.Configuration;
using SessionRouter.Core.Storage;
using SessionRouter.Gateway.Configuration;

namespace SessionRouter.Gateway.Pipeline;

/// <summary>
/// What the session middleware learnt while loading a request's session, handed to the response
/// transform through the request's features. One object per session request.
/// </summary>
internal sealed class SessionRequestState
{
    public SessionRequestState(GatewaySnapshot snapshot, SessionMode mode)
    {
        Snapshot = snapshot;
        Mode = mode;
    }

    public GatewaySnapshot Snapshot { get; }

    public SessionMode Mode { get; }

    public SessionKey Key { get; set; }

    /// <summary>The id was minted for this request: nothing is stored yet and the client has no cookie.</summary>
    public bool IsNew { get; set; }

    /// <summary>The node (index into the snapshot's nodes) the state was read from and is saved to.</summary>
    public int NodeIndex { get; set; } = -1;

    /// <summary>The node's position in the session's preference list (failover continues after it).</summary>
    public int Position { get; set; } = -1;

    /// <summary>The request's lock while it is held; the middleware releases it if nobody else did.</summary>
    public long LockId { get; set; }

    public bool LockHeld { get; set; }

    /// <summary>No item exists yet: the first save is create-only (expected version 0).</summary>
    public bool CreateOnSave { get; set; }

    /// <summary>Forwarded without a session because no node was healthy (opt-in fallback).</summary>
    public bool Unavailable { get; set; }
}
