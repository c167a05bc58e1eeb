using System.Diagnostics.Metrics;
using SessionRouter.Core.Diagnostics;

namespace SessionRouter.StateServer.Storage;

/// <summary>
/// Publishes the store's counters through <see cref="System.Diagnostics.Metrics"/>. Every instrument is
/// observable, so the hot path only bumps plain counters and pays nothing when nobody listens.
/// </summary>
internal sealed class StoreMetrics : IDisposable
{
    public const string MeterName = "SessionRouter.StateServer";

    private readonly MeterScope _scope;

    public StoreMetrics(IMeterFactory? meterFactory, Func<SessionStoreStatistics> read, long memoryCapBytes = 0)
    {
        _scope = new MeterScope(meterFactory, MeterName);
        var meter = _scope.Meter;

        meter.CreateObservableUpDownCounter("sessionrouter.stateserver.sessions.active", () => read().ActiveSessions, "{session}", "Sessions held now.");
        meter.CreateObservableCounter("sessionrouter.stateserver.sessions.created", () => read().SessionsCreated, "{session}", "Sessions created since start.");
        meter.CreateObservableCounter("sessionrouter.stateserver.sessions.expired", () => read().SessionsExpired, "{session}", "Sessions freed by sliding expiry.");
        meter.CreateObservableCounter("sessionrouter.stateserver.sessions.abandoned", () => read().SessionsAbandoned, "{session}", "Sessions removed by a client.");
        meter.CreateObservableUpDownCounter("sessionrouter.stateserver.memory.held", () => read().BytesHeld, "By", "Bytes held by items, keys and per-item bookkeeping.");
        if (memoryCapBytes > 0)
        {
            // Published only with a cap: a limit of 0 would read as "no room" on a dashboard.
            meter.CreateObservableUpDownCounter("sessionrouter.stateserver.memory.limit", () => memoryCapBytes, "By", "The memory cap (MemoryCapBytes): new sessions are refused once memory.held reaches it.");
        }

        meter.CreateObservableCounter("sessionrouter.stateserver.locks.waited", () => read().LocksWaited, "{request}", "Exclusive reads that were parked until a release.");
        meter.CreateObservableCounter("sessionrouter.stateserver.locks.takeovers", () => read().LockTakeovers, "{lock}", "Locks taken over after the lock timeout.");
        meter.CreateObservableCounter("sessionrouter.stateserver.refusals", () => ReadRefusals(read()), "{request}", "Requests refused by a limit, by reason.");
    }

    private static IEnumerable<Measurement<long>> ReadRefusals(SessionStoreStatistics statistics) =>
    [
        new(statistics.RefusedCapacity, new KeyValuePair<string, object?>(MetricTags.Reason, "capacity")),
        new(statistics.RefusedTooLarge, new KeyValuePair<string, object?>(MetricTags.Reason, "too_large")),
        new(statistics.RefusedQueueFull, new KeyValuePair<string, object?>(MetricTags.Reason, "queue_full")),
    ];

    public void Dispose() => _scope.Dispose();
}
