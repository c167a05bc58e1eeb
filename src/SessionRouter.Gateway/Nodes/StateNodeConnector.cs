using SessionRouter.Core.Configuration;

namespace SessionRouter.Gateway.Nodes;

/// <summary>Connects built-in engine nodes (MS-ASP client) and Redis nodes.</summary>
internal sealed class StateNodeConnector : IStateNodeConnector
{
    public ValueTask<StateNodeConnection> ConnectAsync(StateNodeOptions node, SessionRouterOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(node);
        throw new NotSupportedException($"Engine {node.Engine} is not available yet.");
    }
}
