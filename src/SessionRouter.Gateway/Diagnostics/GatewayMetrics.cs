using System.Diagnostics;
using System.Diagnostics.Metrics;
using SessionRouter.Core.Configuration;
using SessionRouter.Core.Diagnostics;

namespace SessionRouter.Gateway.Diagnostics;

/// <summary>
/// The gateway's counters (meter <c>SessionRouter.Gateway</c>): what users and operators need to see
/// when sessions are refused, lost locks or bad cookies happen, and how long each store call took, which
/// is the latency the session adds to a request.
/// </summary>
internal sealed class GatewayMetrics
{
    public const string MeterName = "SessionRouter.Gateway";

    public const string StoreDurationName = "sessionrouter.gateway.store.duration";

    // Store calls take a fraction of a millisecond on a local network and up to the lock wait timeout when they queue
    // behind a writer; the default boundaries (0, 5, 10, ... seconds) would put them all in one bucket.
    private static readonly KeyValuePair<string, object?> ReadWriteTag = new(MetricTags.Mode, "read_write");
    private static readonly KeyValuePair<string, object?> ReadOnlyTag = new(MetricTags.Mode, "read_only");
    private static readonly KeyValuePair<string, object?> NoneTag = new(MetricTags.Mode, "none");
    private static readonly KeyValuePair<string, object?> OkTag = new(MetricTags.Outcome, RequestOutcome.Ok);

    private static readonly double[] StoreDurationBuckets = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private readonly Counter<long> _requests;
    private readonly Counter<long> _sessionsCreated;
    private readonly Counter<long> _sessionsAbandoned;
    private readonly Counter<long> _cookiesRejected;
    private readonly Counter<long> _lockRefusals;
    private readonly Counter<long> _lockTakeovers;
    private readonly Counter<long> _noHealthyNode;
    private readonly Counter<long> _storeFailures;
    private readonly Counter<long> _failovers;
    private readonly Counter<long> _savesRefused;
    private readonly Counter<long> _statesRejected;
    private readonly Counter<long> _failoverSaves;
    private readonly Counter<long> _handovers;
    private readonly Counter<long> _orphanedLocksReleased;
    private readonly Counter<long> _replicasRepaired;
    private readonly Counter<long> _headersStripped;
    private readonly Counter<long> _headersRefused;
    private readonly Counter<long> _configApplied;
    private readonly Counter<long> _configRejected;
    private readonly Counter<long> _leaseHits;
    private readonly Counter<long> _leaseMisses;
    private readonly Counter<long> _leaseRevocations;
    private readonly Counter<long> _leaseExpirations;
    private readonly Counter<long> _leaseEvictions;
    private readonly Counter<long> _leaseDeclines;
    private readonly Meter _meter;
    private readonly Histogram<double> _storeDuration;

    public GatewayMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        var meter = _meter = meterFactory.Create(MeterName);
        _leaseHits = meter.CreateCounter<long>("sessionrouter.gateway.leases.hits", "{request}", "Requests served from a session this gateway holds under a lease, by session mode: no load from the store.");
        _leaseMisses = meter.CreateCounter<long>("sessionrouter.gateway.leases.misses", "{request}", "Read-write requests with leases on that had to load their session from the store.");
        _leaseRevocations = meter.CreateCounter<long>("sessionrouter.gateway.leases.revocations", "{lease}", "Leases given up because a request elsewhere waited for the session's lock.");
        _leaseExpirations = meter.CreateCounter<long>("sessionrouter.gateway.leases.expirations", "{lease}", "Leases given up because they were not renewed within the lease time, or their map was replaced.");
        _leaseDeclines = meter.CreateCounter<long>("sessionrouter.gateway.leases.declined", "{request}", "Read-write requests that loaded their session and released its lock as without leases: the session had not come back to this gateway within the lease time, or a request elsewhere revoked its lease within Leases:ContentionBackoff.");
        _leaseEvictions = meter.CreateCounter<long>("sessionrouter.gateway.leases.evictions", "{lease}", "Leases given up, least recently used first, to keep the leased states within Leases:MaxBytes.");
        _requests = meter.CreateCounter<long>("sessionrouter.gateway.requests", "{request}", "Requests by session mode and outcome: ok, or why the gateway answered in the backend's place (busy, lock_lost, no_node, node_failed, store_full, state_rejected, store_refused, error); unavailable when forwarded without a session.");
        _sessionsCreated = meter.CreateCounter<long>("sessionrouter.gateway.sessions.created", "{session}", "Sessions whose first state was stored (a cookie was issued).");
        _sessionsAbandoned = meter.CreateCounter<long>("sessionrouter.gateway.sessions.abandoned", "{session}", "Sessions removed because their site abandoned them.");
        _cookiesRejected = meter.CreateCounter<long>("sessionrouter.gateway.cookies.rejected", "{cookie}", "Session cookies that were garbled, tampered with or protected with an unknown key; a new session was started.");
        _lockRefusals = meter.CreateCounter<long>("sessionrouter.gateway.lock.refusals", "{request}", "Read-write requests answered 503 because the session's lock was not free in time or its queue was full.");
        _lockTakeovers = meter.CreateCounter<long>("sessionrouter.gateway.lock.takeovers", "{lock}", "Locks taken over after the lock timeout; the old holder's save will be refused.");
        _noHealthyNode = meter.CreateCounter<long>("sessionrouter.gateway.no_healthy_node", "{request}", "Requests whose session had no healthy state node.");
        _storeFailures = meter.CreateCounter<long>("sessionrouter.gateway.store.failures", "{call}", "Store calls that failed (node unreachable or timed out).");
        _failovers = meter.CreateCounter<long>("sessionrouter.gateway.failovers", "{call}", "Store calls moved to the next healthy node of the session's list because a node failed, by operation.");
        _savesRefused = meter.CreateCounter<long>("sessionrouter.gateway.saves.refused", "{request}", "Saves refused by the store (lock taken over, conflicts, size or capacity).");
        _orphanedLocksReleased = meter.CreateCounter<long>("sessionrouter.gateway.locks.orphaned_released", "{lock}", "Locks a node granted after the gateway had given up on the lock-taking read (a timeout, a hung node), released by the gateway.");
        _handovers = meter.CreateCounter<long>("sessionrouter.gateway.handovers", "{session}", "Sessions found on their node in a map an edit replaced and copied forward to their node in the map in force.");
        _replicasRepaired = meter.CreateCounter<long>("sessionrouter.gateway.replicas.repaired", "{replica}", "Replicas found behind a session's latest version by a read (restarted empty, or missed writes while down) and written back.");
        _statesRejected = meter.CreateCounter<long>("sessionrouter.gateway.states.rejected", "{response}", "State headers from backends that were too large or not base64url.");
        _failoverSaves = meter.CreateCounter<long>("sessionrouter.gateway.saves.failover", "{request}", "Saves that went to the next node of the session's list because the first node failed.");
        _headersStripped = meter.CreateCounter<long>("sessionrouter.gateway.headers.stripped", "{request}", "Requests that arrived with SessionRouter-* headers (removed before forwarding).");
        _headersRefused = meter.CreateCounter<long>("sessionrouter.gateway.headers.refused", "{request}", "Requests answered 400 because a header's value could not be encoded for the web server (non-ASCII without a cluster RequestHeaderEncoding).");
        _configApplied = meter.CreateCounter<long>("sessionrouter.gateway.config.applied", "{edit}", "Edits of the SessionRouter section applied while running.");
        _configRejected = meter.CreateCounter<long>("sessionrouter.gateway.config.rejected", "{edit}", "Edits of yarp.json refused (invalid settings, or a file that is not JSON).");
        _storeDuration = meter.CreateHistogram(
            StoreDurationName,
            unit: "s",
            description: "Duration of the store calls that answered, by node and operation (load: exclusive read; read: read-only read; save; release; remove; touch; create). A load includes any wait for the session's lock.",
            tags: null,
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = StoreDurationBuckets });
    }

    /// <summary>A timestamp to pass to <see cref="StoreCallAnswered"/>; 0 (and no clock read) while nobody listens.</summary>
    public long StoreCallStarting() => _storeDuration.Enabled ? Stopwatch.GetTimestamp() : 0;

    public void StoreCallAnswered(long startedTimestamp, string nodeId, string operation)
    {
        if (startedTimestamp != 0)
        {
            _storeDuration.Record(
                Stopwatch.GetElapsedTime(startedTimestamp).TotalSeconds,
                new KeyValuePair<string, object?>(MetricTags.Node, nodeId),
                new KeyValuePair<string, object?>(MetricTags.Operation, operation));
        }
    }

    /// <summary>Counts a request with a session (read-write or read-only) when its exchange has ended.</summary>
    /// <param name="outcome">One of <see cref="RequestOutcome"/>.</param>
    public void RequestCompleted(SessionMode mode, string outcome)
        => _requests.Add(1, mode == SessionMode.ReadWrite ? ReadWriteTag : ReadOnlyTag, new KeyValuePair<string, object?>(MetricTags.Outcome, outcome));

    /// <summary>Counts a request of a route without session (forwarded as it is).</summary>
    public void RequestWithoutSession() => _requests.Add(1, NoneTag, OkTag);

    public void SessionCreated() => _sessionsCreated.Add(1);

    public void SessionAbandoned() => _sessionsAbandoned.Add(1);

    public void LockTakenOver() => _lockTakeovers.Add(1);

    public void FailedOver(string operation) => _failovers.Add(1, new KeyValuePair<string, object?>(MetricTags.Operation, operation));

    public void CookieRejected() => _cookiesRejected.Add(1);

    public void LockRefused() => _lockRefusals.Add(1);

    public void NoHealthyNode() => _noHealthyNode.Add(1);

    public void StoreFailure() => _storeFailures.Add(1);

    public void SaveRefused() => _savesRefused.Add(1);

    public void StateRejected() => _statesRejected.Add(1);

    public void FailoverSave() => _failoverSaves.Add(1);

    public void HandedOver() => _handovers.Add(1);

    public void OrphanedLockReleased() => _orphanedLocksReleased.Add(1);

    public void ReplicasRepaired(int count) => _replicasRepaired.Add(count);

    public void HeadersStripped() => _headersStripped.Add(1);

    public void HeaderRefused() => _headersRefused.Add(1);

    public void LeaseHit(SessionMode mode) => _leaseHits.Add(1, mode == SessionMode.ReadWrite ? ReadWriteTag : ReadOnlyTag);

    public void LeaseMissed() => _leaseMisses.Add(1);

    public void LeaseRevoked() => _leaseRevocations.Add(1);

    public void LeaseExpired() => _leaseExpirations.Add(1);

    public void LeaseEvicted() => _leaseEvictions.Add(1);

    public void LeaseDeclined() => _leaseDeclines.Add(1);

    /// <summary>Publishes the lease table's size: the bytes counted for the leased sessions, and how many there are.</summary>
    public void ObserveLeases(Func<long> bytes, Func<int> count)
    {
        _meter.CreateObservableUpDownCounter("sessionrouter.gateway.leases.bytes", bytes, "By", "Memory counted for the sessions held under a lease (state plus a fixed overhead each), against Leases:MaxBytes.");
        _meter.CreateObservableUpDownCounter("sessionrouter.gateway.leases.active", count, "{lease}", "Sessions held under a lease.");
    }

    public void ConfigurationApplied() => _configApplied.Add(1);

    public void ConfigurationRejected() => _configRejected.Add(1);
}
