using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using SessionRouter.Core.Configuration;
using SessionRouter.Redis;
using SessionRouter.Redis.Configuration;
using SessionRouter.StateServer.Client;

namespace SessionRouter.Gateway.Nodes;

/// <summary>Connects built-in engine nodes (the MS-ASP client, HTTP/2 by default) and Redis nodes.</summary>
internal sealed class StateNodeConnector(ILoggerFactory loggerFactory, IMeterFactory meterFactory, IGatewayNodeHealth health) : IStateNodeConnector
{
    public async ValueTask<StateNodeConnection> ConnectAsync(StateNodeOptions node, SessionRouterOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(node);
        ArgumentNullException.ThrowIfNull(options);
        switch (node.Engine)
        {
            case StateNodeEngine.Builtin:
                var client = new StateServerClient(new StateServerClientOptions
                {
                    NodeId = node.Id,
                    BaseAddress = new Uri(node.Address!),
                    AccessKey = node.AccessKey,
                    TlsThumbprint = node.TlsThumbprint,
                    TlsCaPath = node.TlsCaPath,
                    UseHttp2 = node.Http2,
                    EnableBatching = node.MaxRequestsInFlight > 0,
                    MaxRequestsInFlight = Math.Max(node.MaxRequestsInFlight, 1),
                    ProbeTimeout = options.HealthChecks.Timeout,

                    // The circuit breaker per node is the client's only Polly strategy (the attempt
                    // timeout runs below it without Polly), so it costs little per call; an open circuit
                    // reports to node health as a passive signal beside the gateway's own failure reports.
                    EnableCircuitBreaker = true,
                    OnCircuitOpened = health.ReportFailure,
                }, meterFactory);
                return new StateNodeConnection(client, client, new DisposeAdapter(client));
            case StateNodeEngine.Redis:
                var store = await RedisSessionStore.ConnectAsync(RedisStoreOptions.FromNode(node, options), loggerFactory, meterFactory, cancellationToken).ConfigureAwait(false);
                return new StateNodeConnection(store, store, store);
            default:
                throw new NotSupportedException($"Engine {node.Engine} of node '{node.Id}' is not supported.");
        }
    }

    private sealed class DisposeAdapter(IDisposable inner) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            inner.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
