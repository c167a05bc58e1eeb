using Microsoft.Extensions.Diagnostics.HealthChecks;
using SessionRouter.Gateway.Configuration;
using SessionRouter.Gateway.Nodes;

namespace SessionRouter.Gateway.Admin;

/// <summary>
/// The gateway's health as ASP.NET Core health checks report it, from its view of the state nodes: Healthy
/// when every node of the map is up, Degraded when some are down (their sessions are served by the next node
/// of their lists, or by the other replicas of their sets), Unhealthy when none is up (session requests are refused or forwarded without a session).
/// </summary>
/// <remarks>
/// Called directly by the admin endpoints rather than through ASP.NET Core's HealthCheckService, which logs a
/// warning for every report that is not Healthy: a load balancer polling a gateway with one node down would
/// write a line per poll, while the node's going down is already logged once.
/// </remarks>
internal sealed class StateNodesHealthCheck(GatewaySnapshotProvider snapshots, IGatewayNodeHealth health) : IHealthCheck
{
    public const string Name = "state-nodes";

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        => Task.FromResult(Evaluate());

    /// <summary>The result now (a read of node health, no I/O).</summary>
    public HealthCheckResult Evaluate()
    {
        var snapshot = snapshots.Current;
        var nodes = snapshot.Nodes;
        var down = new List<string>();
        foreach (var node in nodes)
        {
            if (!health.IsHealthy(node.Id))
            {
                down.Add(node.Id);
            }
        }

        var data = new Dictionary<string, object>(StringComparer.Ordinal)
        {
            ["nodes"] = nodes.Length,
            ["up"] = nodes.Length - down.Count,
            ["down"] = down.ToArray(),
        };
        return down.Count == 0
            ? HealthCheckResult.Healthy($"All {nodes.Length} state nodes are up.", data)
            : down.Count < nodes.Length
                ? HealthCheckResult.Degraded($"{down.Count} of {nodes.Length} state nodes are down ({string.Join(", ", down)}); {WhoServes(snapshot.Options.ReplicationFactor, nodes.Length)}", data: data)
                : HealthCheckResult.Unhealthy($"None of the {nodes.Length} state nodes is up: session requests cannot be served.", data: data);
    }

    private static string WhoServes(int replicationFactor, int nodeCount)
    {
        var replicas = Math.Min(replicationFactor, nodeCount);
        return replicas <= 1
            ? "their sessions are served by the next node of their lists."
            : $"their sessions are served by the other replicas of their sets while {(replicas / 2) + 1} of {replicas} are up.";
    }
}
