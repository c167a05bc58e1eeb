namespace SessionRouter.Core.Health;

/// <summary>Whether a state node takes sessions.</summary>
public enum NodeHealthState
{
    /// <summary>Used for lookups (also the state of a node not yet probed: healthy until proven otherwise).</summary>
    Healthy,

    /// <summary>Skipped at lookup time until enough consecutive probes succeed.</summary>
    Unhealthy,
}

/// <summary>A point-in-time view of one node's health, for the admin endpoint.</summary>
/// <param name="NodeId">The node's id in the partition map.</param>
/// <param name="State">Its current state.</param>
/// <param name="Since">When it entered <paramref name="State"/> (when monitoring started for a node never changed).</param>
/// <param name="ConsecutiveFailures">Failed probes or reported failures since the last success.</param>
/// <param name="ConsecutiveSuccesses">Good probes in a row while unhealthy (counts towards coming back).</param>
/// <param name="LastError">Text of the most recent failure, or null.</param>
/// <param name="LastProbe">When the most recent probe finished, or null before the first.</param>
public sealed record NodeHealthSnapshot(
    string NodeId,
    NodeHealthState State,
    DateTimeOffset Since,
    int ConsecutiveFailures,
    int ConsecutiveSuccesses,
    string? LastError,
    DateTimeOffset? LastProbe);

/// <summary>One node going down or coming back.</summary>
/// <param name="NodeId">The node's id in the partition map.</param>
/// <param name="Healthy">True when the node came back, false when it was marked down.</param>
/// <param name="At">When it happened.</param>
/// <param name="Cause">Why: the failure that took it down, or the probes that brought it back.</param>
public sealed record NodeHealthTransition(string NodeId, bool Healthy, DateTimeOffset At, string Cause);
