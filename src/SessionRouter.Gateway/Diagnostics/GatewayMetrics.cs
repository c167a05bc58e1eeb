using System.Diagnostics.Metrics;

namespace SessionRouter.Gateway.Diagnostics;

/// <summary>
/// The gateway's counters (meter <c>SessionRouter.Gateway</c>): what users and operators need to see
/// when sessions are refused, lost locks or bad cookies happen.
/// </summary>
internal sealed class GatewayMetrics
{
    public const string MeterName = "SessionRouter.Gateway";

    private readonly Counter<long> _sessionsCreated;
    private readonly Counter<long> _cookiesRejected;
    private readonly Counter<long> _lockRefusals;
    private readonly Counter<long> _noHealthyNode;
    private readonly Counter<long> _storeFailures;
    private readonly Counter<long> _savesRefused;
    private readonly Counter<long> _statesRejected;
    private readonly Counter<long> _failoverSaves;
    private readonly Counter<long> _headersStripped;
    private readonly Counter<long> _configApplied;
    private readonly Counter<long> _configRejected;

    public GatewayMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        var meter = meterFactory.Create(MeterName);
        _sessionsCreated = meter.CreateCounter<long>("sessionrouter.gateway.sessions.created", description: "Sessions whose first state was stored (a cookie was issued).");
        _cookiesRejected = meter.CreateCounter<long>("sessionrouter.gateway.cookies.rejected", description: "Session cookies that were garbled, tampered with or protected with an unknown key; a new session was started.");
        _lockRefusals = meter.CreateCounter<long>("sessionrouter.gateway.lock.refusals", description: "Read-write requests answered 503 because the session's lock was not free in time or its queue was full.");
        _noHealthyNode = meter.CreateCounter<long>("sessionrouter.gateway.no_healthy_node", description: "Requests whose session had no healthy state node.");
        _storeFailures = meter.CreateCounter<long>("sessionrouter.gateway.store.failures", description: "Store calls that failed (node unreachable or timed out).");
        _savesRefused = meter.CreateCounter<long>("sessionrouter.gateway.saves.refused", description: "Saves refused by the store (lock taken over, conflicts, size or capacity).");
        _statesRejected = meter.CreateCounter<long>("sessionrouter.gateway.states.rejected", description: "State headers from backends that were too large or not base64url.");
        _failoverSaves = meter.CreateCounter<long>("sessionrouter.gateway.saves.failover", description: "Saves that went to the next node of the session's list because the first node failed.");
        _headersStripped = meter.CreateCounter<long>("sessionrouter.gateway.headers.stripped", description: "Requests that arrived with SessionRouter-* headers (removed before forwarding).");
        _configApplied = meter.CreateCounter<long>("sessionrouter.gateway.config.applied", description: "Edits of the SessionRouter section applied while running.");
        _configRejected = meter.CreateCounter<long>("sessionrouter.gateway.config.rejected", description: "Edits of the SessionRouter section refused.");
    }

    public void SessionCreated() => _sessionsCreated.Add(1);

    public void CookieRejected() => _cookiesRejected.Add(1);

    public void LockRefused() => _lockRefusals.Add(1);

    public void NoHealthyNode() => _noHealthyNode.Add(1);

    public void StoreFailure() => _storeFailures.Add(1);

    public void SaveRefused() => _savesRefused.Add(1);

    public void StateRejected() => _statesRejected.Add(1);

    public void FailoverSave() => _failoverSaves.Add(1);

    public void HeadersStripped() => _headersStripped.Add(1);

    public void ConfigurationApplied() => _configApplied.Add(1);

    public void ConfigurationRejected() => _configRejected.Add(1);
}
