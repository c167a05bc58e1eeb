using SessionRouter.Core.Configuration;
using SessionRouter.Core.Health;
using SessionRouter.Gateway.Nodes;
using SessionRouter.StateServer.Storage;

namespace SessionRouter.PeerStacks;

/// <summary>
/// Gives every node of the partition map the engine's in-memory store inside the gateway's own process.
/// Not a deployment (the state dies with the gateway): the load script's ceiling stack, the gateway with
/// every store round trip taken away, so the cost of those round trips can be read off beside stack d.
/// </summary>
internal sealed class InProcessNodeConnector : IStateNodeConnector
{
    public ValueTask<StateNodeConnection> ConnectAsync(StateNodeOptions node, SessionRouterOptions options, CancellationToken cancellationToken)
    {
        var store = new InMemorySessionStore(new InMemorySessionStoreOptions());
        return ValueTask.FromResult(new StateNodeConnection(store, new AlwaysHealthy(), new StoreLifetime(store)));
    }

    private sealed class AlwaysHealthy : IStateNodeProbe
    {
        public ValueTask ProbeAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }

    private sealed class StoreLifetime(InMemorySessionStore store) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            store.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
