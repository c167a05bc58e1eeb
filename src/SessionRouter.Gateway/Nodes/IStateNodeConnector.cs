using SessionRouter.Core.Configuration;
using SessionRouter.Core.Health;
using SessionRouter.Core.Storage;

namespace SessionRouter.Gateway.Nodes;

/// <summary>
/// Turns one state node of the partition map into a store client and its health probe. The one place
/// where the gateway knows the engines; everything else speaks the store contract.
/// </summary>
internal interface IStateNodeConnector
{
    ValueTask<StateNodeConnection> ConnectAsync(StateNodeOptions node, SessionRouterOptions options, CancellationToken cancellationToken);
}

/// <summary>A connected state node: its store, its probe and what to dispose when the node leaves the map.</summary>
internal sealed class StateNodeConnection(ISessionStore store, IStateNodeProbe probe, IAsyncDisposable? lifetime)
{
    public ISessionStore Store { get; } = store;

    public IStateNodeProbe Probe { get; } = probe;

    public IAsyncDisposable? Lifetime { get; } = lifetime;
}
