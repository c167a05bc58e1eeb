using System.Diagnostics.Metrics;
using SessionRouter.Core.Diagnostics;

namespace SessionRouter.StateServer.Client;

/// <summary>
/// Counters of one engine client (meter <c>SessionRouter.StateServer.Client</c>), tagged with the node id:
/// how many requests went to the node, alone or as batches, and how many operations the batches carried
/// (their ratio is the mean batch size).
/// </summary>
internal sealed class StateServerClientMetrics : IDisposable
{
    public const string MeterName = "SessionRouter.StateServer.Client";

    private readonly MeterScope _meter;
    private readonly Counter<long> _requests;
    private readonly Counter<long> _batchedOperations;
    private readonly KeyValuePair<string, object?> _node;
    private readonly KeyValuePair<string, object?> _single = new("kind", "single");
    private readonly KeyValuePair<string, object?> _batch = new("kind", "batch");

    public StateServerClientMetrics(IMeterFactory? meterFactory, string nodeId)
    {
        _meter = new MeterScope(meterFactory, MeterName);
        _node = new("node", nodeId);
        _requests = _meter.Meter.CreateCounter<long>("sessionrouter.stateserver.client.requests", "{request}", "Requests sent to the engine node, by kind: single (one operation) or batch.");
        _batchedOperations = _meter.Meter.CreateCounter<long>("sessionrouter.stateserver.client.batched_operations", "{operation}", "Store operations sent inside batch requests.");
    }

    public void SingleRequest() => _requests.Add(1, _node, _single);

    public void BatchRequest(int operations)
    {
        _requests.Add(1, _node, _batch);
        _batchedOperations.Add(operations, _node);
    }

    public void Dispose() => _meter.Dispose();
}
