namespace SessionRouter.Core.Diagnostics;

/// <summary>
/// The tag names of every SessionRouter instrument, in one place so that one dimension has one name
/// across meters: a dashboard that filters the gateway's store latency by <c>node</c> filters node health,
/// the Redis store and the engine client by the same tag.
/// </summary>
public static class MetricTags
{
    /// <summary>The state node's id in the partition map (<c>SessionRouter:Nodes:i:Id</c>).</summary>
    public const string Node = "node";

    /// <summary>The store operation a measurement belongs to.</summary>
    public const string Operation = "operation";

    /// <summary>The outcome: a store status, or how a site's request verified.</summary>
    public const string Status = "status";

    /// <summary>The state a node's health moved to: <c>down</c> or <c>up</c>.</summary>
    public const string State = "state";

    /// <summary>Why an engine refused a request: <c>capacity</c>, <c>too_large</c>, <c>queue_full</c>.</summary>
    public const string Reason = "reason";

    /// <summary>What a site's response handed back to the gateway: <c>state</c> or <c>abandon</c>.</summary>
    public const string Change = "change";

    /// <summary>How the engine client sent its requests: <c>single</c> or <c>batch</c>.</summary>
    public const string Kind = "kind";

    /// <summary>A gateway request's session mode: <c>read_write</c>, <c>read_only</c> or <c>none</c>.</summary>
    public const string Mode = "mode";

    /// <summary>How the gateway ended a request's session work: <c>ok</c>, or why it answered in the backend's place.</summary>
    public const string Outcome = "outcome";
}
