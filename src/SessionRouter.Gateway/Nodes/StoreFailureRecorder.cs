using SessionRouter.Gateway.Diagnostics;

namespace SessionRouter.Gateway.Nodes;

/// <summary>
/// Records a failed store call: counted, kept as the node's last error for the admin status, and reported
/// to node health so the node is skipped at once. One place for the load path and the save path.
/// </summary>
internal sealed class StoreFailureRecorder(IGatewayNodeHealth health, GatewayMetrics metrics, TimeProvider time)
{
    public void Record(StateNodeHandle node, Exception error)
    {
        metrics.StoreFailure();
        node.LastError = error.Message;
        node.LastErrorAt = time.GetUtcNow();
        health.ReportFailure(node.Id, error);
    }
}
