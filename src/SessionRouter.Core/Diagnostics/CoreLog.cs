using Microsoft.Extensions.Logging;

namespace SessionRouter.Core.Diagnostics;

/// <summary>
/// Every log line of SessionRouter.Core, source-generated, with its event id. Ids are unique within the
/// assembly and grouped by the part that logs: 1–99 node health (category
/// <c>SessionRouter.Core.Health.NodeHealthMonitor</c>).
/// </summary>
internal static partial class CoreLog
{
    // Node health: 1–99.

    [LoggerMessage(EventId = 1, Level = LogLevel.Warning, Message = "State node {NodeId} is down ({Cause}, {Failures} failure(s) in a row): {Reason}")]
    public static partial void NodeDown(ILogger logger, string nodeId, string cause, int failures, string reason);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "State node {NodeId} is up again after {Successes} good probe(s) in a row")]
    public static partial void NodeUp(ILogger logger, string nodeId, int successes);

    [LoggerMessage(EventId = 3, Level = LogLevel.Debug, Message = "Probe of state node {NodeId} failed ({Failures} in a row): {Reason}")]
    public static partial void ProbeFailed(ILogger logger, string nodeId, int failures, string reason);

    [LoggerMessage(EventId = 4, Level = LogLevel.Error, Message = "A health probe round failed")]
    public static partial void ProbeRoundFailed(ILogger logger, Exception error);

    [LoggerMessage(EventId = 5, Level = LogLevel.Information, Message = "State node {NodeId} joined the health monitor (healthy until a probe says otherwise)")]
    public static partial void NodeAdded(ILogger logger, string nodeId);

    [LoggerMessage(EventId = 6, Level = LogLevel.Information, Message = "State node {NodeId} left the health monitor")]
    public static partial void NodeRemoved(ILogger logger, string nodeId);

    [LoggerMessage(EventId = 7, Level = LogLevel.Warning, Message = "No state node answered its health probe within {TimeoutMs} ms ({Nodes} node(s)); the round is not counted, as a gateway too busy to see the answers is likelier than every node failing at once")]
    public static partial void ProbeRoundInconclusive(ILogger logger, int nodes, double timeoutMs);
}
