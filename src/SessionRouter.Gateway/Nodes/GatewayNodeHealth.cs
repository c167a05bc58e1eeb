using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SessionRouter.Core.Configuration;
using SessionRouter.Core.Health;

namespace SessionRouter.Gateway.Nodes;

/// <summary>
/// The gateway's view of Core's <see cref="NodeHealthMonitor"/>: active probes in the background,
/// passive failures from store calls, membership replaced on every map edit.
/// </summary>
internal sealed class GatewayNodeHealth : IGatewayNodeHealth, IHostedService, IAsyncDisposable
{
    private readonly NodeHealthMonitor _monitor;

    public GatewayNodeHealth(SessionRouterOptions options, TimeProvider time, ILogger<NodeHealthMonitor> logger, System.Diagnostics.Metrics.IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(options);
        _monitor = new NodeHealthMonitor(options.HealthChecks, new Dictionary<string, IStateNodeProbe>(), time, logger, meterFactory);
    }

    public bool IsHealthy(string nodeId) => _monitor.IsHealthy(nodeId);

    public void ReportFailure(string nodeId, Exception? error) => _monitor.ReportFailure(nodeId, error);

    public void ReportSuccess(string nodeId) => _monitor.ReportSuccess(nodeId);

    public void UpdateNodes(IReadOnlyDictionary<string, IStateNodeProbe> probes) => _monitor.UpdateNodes(probes);

    public void UpdateSettings(HealthCheckSettings settings) => _monitor.UpdateSettings(settings);

    public NodeHealthStatus GetStatus(string nodeId)
    {
        var snapshot = _monitor.GetSnapshot(nodeId);
        return snapshot is null
            ? new NodeHealthStatus(true, nameof(NodeHealthState.Healthy), null, null)
            : new NodeHealthStatus(snapshot.State == NodeHealthState.Healthy, snapshot.State.ToString(), snapshot.Since, snapshot.LastError, snapshot.LastProbe);
    }

    public IReadOnlyList<NodeHealthTransition> GetRecentTransitions() => _monitor.GetRecentTransitions();

    public Task StartAsync(CancellationToken cancellationToken) => _monitor.StartAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => _monitor.StopAsync(cancellationToken);

    public ValueTask DisposeAsync() => _monitor.DisposeAsync();
}
