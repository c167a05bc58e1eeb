using System.Diagnostics.Metrics;
using SessionRouter.Core.Diagnostics;
using SessionRouter.Core.Storage;

namespace SessionRouter.Redis.Diagnostics;

/// <summary>Counters of one Redis store (meter <c>SessionRouter.Redis</c>), tagged with the node id.</summary>
internal sealed class RedisStoreMetrics : IDisposable
{
    public const string MeterName = "SessionRouter.Redis";

    private readonly MeterScope _meter;
    private readonly Counter<long> _operations;
    private readonly Counter<long> _failures;
    private readonly Counter<long> _lockWaits;
    private readonly Counter<long> _takeovers;
    private readonly Counter<long> _unreplicated;
    private readonly KeyValuePair<string, object?> _node;

    public RedisStoreMetrics(IMeterFactory? meterFactory, string nodeId)
    {
        _meter = new MeterScope(meterFactory, MeterName);
        _node = new(MetricTags.Node, nodeId);
        _operations = _meter.Meter.CreateCounter<long>("sessionrouter.redis.operations", "{operation}", "Store operations answered, by operation and status.");
        _failures = _meter.Meter.CreateCounter<long>("sessionrouter.redis.failures", "{operation}", "Operations that failed with the node unavailable.");
        _lockWaits = _meter.Meter.CreateCounter<long>("sessionrouter.redis.lock_waits", "{request}", "Exclusive reads that waited for a lock release.");
        _takeovers = _meter.Meter.CreateCounter<long>("sessionrouter.redis.lock_takeovers", "{lock}", "Locks taken over after their lock timeout.");
        _unreplicated = _meter.Meter.CreateCounter<long>("sessionrouter.redis.saves.unreplicated", "{save}", "Saves that fewer replicas than WaitForReplicas acknowledged within WaitForReplicasTimeout.");
    }

    public void Operation(string operation, StoreStatus status) =>
        _operations.Add(1, _node, new(MetricTags.Operation, operation), new(MetricTags.Status, status.ToString()));

    public void Failure(string operation) => _failures.Add(1, _node, new KeyValuePair<string, object?>(MetricTags.Operation, operation));

    public void LockWait() => _lockWaits.Add(1, _node);

    public void Takeover() => _takeovers.Add(1, _node);

    public void Unreplicated() => _unreplicated.Add(1, _node);

    public void Dispose() => _meter.Dispose();
}
