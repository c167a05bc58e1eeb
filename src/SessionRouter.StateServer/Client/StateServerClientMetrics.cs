using System.Diagnostics.Metrics;

namespace SessionRouter.StateServer.Client;

/// <summary>
/// Counters of one engine client (meter <c>SessionRouter.StateServer.Client</c>), tagged with the node id:
/// how many requests went to the node, alone or as batches, and how many operations the batches carried
/// (their ratio is the mean batch size).
/// </summary>
internal sealed class StateServerClientMetrics : IDisposable
{
    public const string MeterName = "SessionRouter.StateServer.Client";

    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private readonly Counter<long> _requests;
    private readonly Counter<long> _batchedOperations;
    private readonly KeyValuePair<string, object?> _node;
    private readonly KeyValuePair<string, object?> _single = new("kind", "single");
    private readonly KeyValuePair<string, object?> _batch = new("kind", "batch");

    public StateServerClientMetrics(IMeterFactory? meterFactory, string nodeId)
    {
        _ownsMeter = meterFactory is null;
        _meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        _node = new("node", nodeId);
        _requests = _meter.CreateCounter<long>("sessionrouter.stateserver.client.requests", "{request}", "Requests sent to the engine node, by kind: single (one operation) or batch.");
        _batchedOperations = _meter.CreateCounter<long>("sessionrouter.stateserver.client.batched_operations", "{operation}", "Store operations sent inside batch requests.");
    }

    public void SingleRequest() => _requests.Add(1, _node, _single);

    public void BatchRequest(int operations)
    {
        _requests.Add(1, _node, _batch);
        _batchedOperations.Add(operations, _node);
    }

    public void Dispose()
    {
        if (_ownsMeter)
        {
            _meter.Dispose();
        }
    }
}
