using System.Diagnostics.Metrics;

namespace SessionRouter.StateServer.Storage;

/// <summary>
/// Publishes the store's counters through <see cref="System.Diagnostics.Metrics"/>. Every instrument is
/// observable, so the hot path only bumps plain counters and pays nothing when nobody listens.
/// </summary>
internal sealed class StoreMetrics : IDisposable
{
    public const string MeterName = "SessionRouter.StateServer";

    private readonly Meter _meter;
    private readonly bool _ownsMeter;

    public StoreMetrics(IMeterFactory? meterFactory, Func<SessionStoreStatistics> read)
    {
        if (meterFactory is null)
        {
            _meter = new Meter(MeterName);
            _ownsMeter = true;
        }
        else
        {
            _meter = meterFactory.Create(MeterName);
        }

        _meter.CreateObservableUpDownCounter("sessionrouter.stateserver.sessions.active", () => read().ActiveSessions, "{session}", "Sessions held now.");
        _meter.CreateObservableCounter("sessionrouter.stateserver.sessions.created", () => read().SessionsCreated, "{session}", "Sessions created since start.");
        _meter.CreateObservableCounter("sessionrouter.stateserver.sessions.expired", () => read().SessionsExpired, "{session}", "Sessions freed by sliding expiry.");
        _meter.CreateObservableCounter("sessionrouter.stateserver.sessions.abandoned", () => read().SessionsAbandoned, "{session}", "Sessions removed by a client.");
        _meter.CreateObservableUpDownCounter("sessionrouter.stateserver.memory.held", () => read().BytesHeld, "By", "Bytes held by items, keys and per-item bookkeeping.");
        _meter.CreateObservableCounter("sessionrouter.stateserver.locks.waited", () => read().LocksWaited, "{request}", "Exclusive reads that were parked until a release.");
        _meter.CreateObservableCounter("sessionrouter.stateserver.locks.takeovers", () => read().LockTakeovers, "{lock}", "Locks taken over after the lock timeout.");
        _meter.CreateObservableCounter("sessionrouter.stateserver.refusals", () => ReadRefusals(read()), "{request}", "Requests refused by a limit, by reason.");
    }

    private static IEnumerable<Measurement<long>> ReadRefusals(SessionStoreStatistics statistics) =>
    [
        new(statistics.RefusedCapacity, new KeyValuePair<string, object?>("reason", "capacity")),
        new(statistics.RefusedTooLarge, new KeyValuePair<string, object?>("reason", "too_large")),
        new(statistics.RefusedQueueFull, new KeyValuePair<string, object?>("reason", "queue_full")),
    ];

    public void Dispose()
    {
        if (_ownsMeter)
        {
            _meter.Dispose();
        }
    }
}
