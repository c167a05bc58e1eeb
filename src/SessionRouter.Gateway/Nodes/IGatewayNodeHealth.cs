using SessionRouter.Core.Health;

namespace SessionRouter.Gateway.Nodes;

/// <summary>
/// What the gateway needs from node health: the cheap per-request view, the passive signals of real
/// store calls, the set of nodes to probe (replaced on every map edit) and a status for the admin page.
/// </summary>
internal interface IGatewayNodeHealth : INodeHealthView, INodeHealthReporter
{
    /// <summary>Replaces the probed nodes; nodes kept by id keep their health state.</summary>
    void UpdateNodes(IReadOnlyDictionary<string, IStateNodeProbe> probes);

    /// <summary>Replaces the probe settings after an edit of <c>HealthChecks</c>.</summary>
    void UpdateSettings(Core.Configuration.HealthCheckSettings settings);

    /// <summary>A point-in-time status of one node for the admin endpoints.</summary>
    NodeHealthStatus GetStatus(string nodeId);

    /// <summary>The last nodes marked down or up again, newest first, for the status page.</summary>
    IReadOnlyList<NodeHealthTransition> GetRecentTransitions();
}

/// <summary>The admin view of one node's health; <paramref name="LastProbe"/> is null until the first probe of the node finished.</summary>
internal readonly record struct NodeHealthStatus(bool Healthy, string State, DateTimeOffset? Since, string? LastError, DateTimeOffset? LastProbe = null);
