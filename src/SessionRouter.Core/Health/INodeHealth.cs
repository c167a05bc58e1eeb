namespace SessionRouter.Core.Health;

/// <summary>Answers whether a state node may be used now. Read on every request: must be cheap.</summary>
public interface INodeHealthView
{
    bool IsHealthy(string nodeId);
}

/// <summary>Passive health signals from real store calls.</summary>
public interface INodeHealthReporter
{
    /// <summary>A real call to the node failed (unreachable, timed out, circuit open): the node goes down at once.</summary>
    void ReportFailure(string nodeId, Exception? error);

    /// <summary>A real call to the node succeeded.</summary>
    void ReportSuccess(string nodeId);
}

/// <summary>An active health probe of one node (the engine's health endpoint, Redis PING).</summary>
public interface IStateNodeProbe
{
    /// <summary>Completes when the node answered healthy; throws otherwise.</summary>
    ValueTask ProbeAsync(CancellationToken cancellationToken);
}
