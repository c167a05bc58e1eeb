using SessionRouter.Gateway.Diagnostics;

namespace SessionRouter.Gateway.Nodes;

/// <summary>
/// What one store call teaches the gateway, for <see cref="RecordedSessionStore"/>: an answer reports the
/// node healthy and times the call; a failure is counted, kept as the node's last error for the admin
/// status, and reported to node health so the node is skipped at once.
/// </summary>
internal sealed class StoreCallRecorder(IGatewayNodeHealth health, GatewayMetrics metrics, TimeProvider time)
{
    /// <summary>Marks the start of a call; pass the value to <see cref="Answered"/>.</summary>
    public long Starting() => metrics.StoreCallStarting();

    /// <param name="operation">One of <see cref="StoreOperation"/>.</param>
    public void Answered(StateNodeHandle node, long started, string operation)
    {
        health.ReportSuccess(node.Id);
        metrics.StoreCallAnswered(started, node.Id, operation);
    }

    public void Failed(StateNodeHandle node, Exception error)
    {
        metrics.StoreFailure();
        node.LastError = error.Message;
        node.LastErrorAt = time.GetUtcNow();
        health.ReportFailure(node.Id, error);
    }
}
