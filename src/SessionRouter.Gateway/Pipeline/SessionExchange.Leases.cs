using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Http;
using SessionRouter.Core.Configuration;
using SessionRouter.Core.HeaderContract;
using SessionRouter.Core.Storage;
using SessionRouter.Gateway.Leases;

namespace SessionRouter.Gateway.Pipeline;

/// <summary>
/// The exchange's steps while leases are on (<c>Leases:Enabled</c>): a read-write request takes the session's
/// in-process lock, serves from the lease when this gateway holds one (no load), and keeps the session's lock and
/// state as the lease after its save (which renews it) instead of releasing; a read-only request is served from a
/// held lease without any store call. Everything else is the exchange as without leases.
/// </summary>
internal sealed partial class SessionExchange
{
    // The session's lease on this gateway, entered (its gate held) by this read-write request.
    private SessionLease? _lease;

    // This request was served from the lease: its locks and state were the lease's.
    private bool _leaseHit;

    // The session is worth a lease (see LeaseAdmission): this request, which loaded it, keeps its lock as one.
    private bool _leaseAdmitted;

    // The lease holds the session after this request: its locks are not released.
    private bool _leaseKept;

    // Saves keep the lock (a lease renewed) instead of releasing it.
    private bool _keepLock;

    // The state the backend got, and the state the save wrote: what the lease holds afterwards.
    private ReadOnlyMemory<byte> _loadedState;
    private ReadOnlyMemory<byte> _savedState;

    // When the call that took or renews the lease's lock was sent: the lease's validity counts from there.
    private long _leaseSentTimestamp;
    private long _leaseSentMilliseconds;

    private bool LeasesEnabled => _snapshot.Options.Leases.Enabled;

    /// <summary>
    /// Enters the session's lease (the in-process lock) and serves from it when it holds the session. Served: the
    /// request goes to the backend with the lease's state, or the refusal is answered (the in-process lock was not
    /// free in time). Not served: the request loads from the store, under the lease's new lock id.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<(bool Served, GatewayRefusal? Refusal)> BeginLeasedAsync(HttpContext context)
    {
        // No lease here and none worth taking (cold traffic): the request goes on exactly as without leases, at the
        // cost of one lookup, without an entry or an in-process lock.
        var admitted = false;
        if (!_services.Leases.TryGet(_key, out _))
        {
            admitted = Admit();
            if (!admitted)
            {
                _services.Metrics.LeaseMissed();
                _services.Metrics.LeaseDeclined();
                return (false, null);
            }
        }

        var lease = await _services.Leases.EnterAsync(_key, _snapshot.Options.LockWaitTimeout).ConfigureAwait(false);
        if (lease is null)
        {
            // This gateway's other requests of the session held it for the whole lock wait.
            _services.Metrics.LockRefused();
            Diagnostics.GatewayLog.LockBusy(_services.Logger, LogId, InProcessLock, StoreStatus.WaitTimeout);
            return (true, GatewayRefusal.ForStoreStatus(StoreStatus.WaitTimeout, _snapshot.RetryAfterSeconds));
        }

        _lease = lease;
        if (lease.TryRead(_snapshot.Revision, _services.Time.GetTimestamp(), out var state) && LeaseNodeHealthy(lease))
        {
            _leaseHit = true;
            _loadedState = state;
            _lockedAtMilliseconds = lease.RenewedAtMilliseconds;
            if (lease.Quorum is { } quorum)
            {
                quorum.ForgetFailures();
                _quorum = quorum;
            }
            else
            {
                _node = lease.Node;
                _lockId = lease.LockId;
            }

            _services.Metrics.LeaseHit(SessionMode.ReadWrite);
            AttachRequestHeaders(context.Request.Headers, state.Span, SessionModeValues.ReadWrite);
            return (true, null);
        }

        // Expired, revoked, or taken under another map: its locks go back before the lock is taken afresh.
        await _services.Leases.ReleaseLocksAsync(lease).ConfigureAwait(false);
        lease.StartLock(NewLockId());
        _services.Metrics.LeaseMissed();
        _leaseAdmitted = admitted || Admit();
        if (!_leaseAdmitted)
        {
            _services.Metrics.LeaseDeclined();
        }

        return (false, null);
    }

    /// <summary>Whether the session, which must load now, is worth a lease (see <see cref="LeaseAdmission"/>).</summary>
    private bool Admit()
    {
        var frequency = _services.Time.TimestampFrequency;
        return _services.Leases.Admission.Admit(
            _key,
            _services.Time.GetTimestamp(),
            (long)(_snapshot.LockTakeoverAge.TotalSeconds * frequency),
            (long)(_snapshot.Options.Leases.ContentionBackoff.TotalSeconds * frequency));
    }

    /// <summary>A read-only request served from this gateway's lease on the session: no store call.</summary>
    private bool TryReadLeased(HttpContext context)
    {
        if (!_services.Leases.TryGet(_key, out var lease)
            || !lease.TryRead(_snapshot.Revision, _services.Time.GetTimestamp(), out var state)
            || !LeaseNodeHealthy(lease))
        {
            return false;
        }

        _services.Metrics.LeaseHit(SessionMode.ReadOnly);
        AttachRequestHeaders(context.Request.Headers, state.Span, SessionModeValues.ReadOnly);
        return true;
    }

    /// <summary>
    /// With one replica, a lease on a node this gateway sees down is not served from: other gateways may have failed
    /// the session over to its next node. A replica set's majority of locks needs no such care.
    /// </summary>
    private bool LeaseNodeHealthy(SessionLease lease) => lease.NodeHandle is not { } node || _services.Health.IsHealthy(node.Id);

    /// <summary>The lock id a lock-taking read of the session proposes: the lease's while leasing, else a new one.</summary>
    private long SessionLockId() => _lease?.LockId ?? NewLockId();

    /// <summary>Notes when the call that takes or renews the lease's lock is sent.</summary>
    private void StampLeaseSend(long unixMilliseconds)
    {
        _leaseSentTimestamp = _services.Time.GetTimestamp();
        _leaseSentMilliseconds = unixMilliseconds;
    }

    /// <summary>
    /// Whether this request's save keeps the lock as the lease: when the lease served it or admitted the session, and
    /// not when the lease was revoked (a request elsewhere waits), nor for a session handed over from a replaced map or
    /// abandoned.
    /// </summary>
    private bool ShouldKeepLease(bool abandon)
        => _lease is { Revoked: false } && (_leaseHit || _leaseAdmitted) && !abandon && _handoverNode is null && _handoverQuorum is null;

    /// <summary>
    /// After the response: the lease holds the session with <paramref name="state"/> when this request still holds
    /// its lock (on the node, or on a majority of the set); renewed from <see cref="_leaseSentTimestamp"/>.
    /// </summary>
    private void KeepLease(ReadOnlyMemory<byte> state)
    {
        var lease = _lease!;
        if (_quorum is { } quorum)
        {
            if (quorum.LockedCount < quorum.Majority)
            {
                return;
            }

            lease.Quorum = quorum;
        }
        else
        {
            if (_lockId == 0)
            {
                return;
            }

            lease.LockId = _lockId;
            lease.Node = _node;
            lease.NodeHandle = _snapshot.Nodes[_node];
        }

        lease.Revision = _snapshot.Revision;
        lease.LockTimeout = _snapshot.Options.LockTimeout;
        lease.RenewedAtMilliseconds = _leaseSentMilliseconds;

        // A little before the node may let a waiter take the lock over: the lease's clock and the node's may run at
        // slightly different rates, and the node counts from when it granted the lock, after this was sent.
        var trusted = _snapshot.LockTakeoverAge * 0.9;
        var validUntil = _leaseSentTimestamp + (long)(trusted.TotalSeconds * _services.Time.TimestampFrequency);
        _services.Leases.Hold(lease, state, validUntil, _snapshot.Options.Leases.MaxBytes);
        _leaseKept = true;
    }

    /// <summary>Ends this request's use of the lease: kept, it stays for the session's next request; otherwise it is forgotten.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask ExitLeaseAsync()
    {
        var lease = _lease!;
        _lease = null;
        if (!_leaseKept)
        {
            lease.Clear();
        }

        await _services.Leases.ExitAsync(lease).ConfigureAwait(false);
    }

    // Named in the log line of a request that waited too long behind this gateway's own requests of its session.
    private const string InProcessLock = "(this gateway's lease)";
}
