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
                    UseHttp2 = node.Http2,
                    ProbeTimeout = options.HealthChecks.Timeout,

                    // Passive health already takes a node out of every session's list at its first failed
                    // call, so a down node gets no calls to fail fast; the breaker's bookkeeping on every
                    // call (Polly's pipeline and rolling window) is pure cost here. Should it ever be turned
                    // back on, an open circuit still reports to node health.
                    EnableCircuitBreaker = false,
                    OnCircuitOpened = health.ReportFailure,
                });
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
