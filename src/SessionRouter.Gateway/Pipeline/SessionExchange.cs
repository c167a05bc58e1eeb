using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Http;
using SessionRouter.Core.Configuration;
using SessionRouter.Core.Diagnostics;
using SessionRouter.Core.HeaderContract;
using SessionRouter.Core.Partitioning;
using SessionRouter.Core.Storage;
using SessionRouter.Gateway.Configuration;
using SessionRouter.Gateway.Cookies;
using SessionRouter.Gateway.Diagnostics;
using SessionRouter.Gateway.Nodes;
using SessionRouter.Gateway.Replication;

namespace SessionRouter.Gateway.Pipeline;

/// <summary>
/// One request's exchange with its session's state nodes, from the cookie to the saved state. The session
/// middleware calls <see cref="BeginAsync"/> before forwarding and <see cref="EndAsync"/> when the request
/// ends; the response transform calls <see cref="CompleteAsync"/> when the backend's headers arrive. This
/// type alone owns the session's lock, the node the session is served from and its failover, the
/// create-only rule, the mapping of store answers to HTTP answers and the log line of each outcome.
/// </summary>
/// <remarks>
/// Not thread-safe and not meant to be: one request calls its three steps one after the other. Its async
/// methods use pooled builders: they suspend on every store call, and a request passes several of them.
/// </remarks>
internal sealed partial class SessionExchange
{
    private readonly SessionExchangeFactory _services;
    private readonly GatewaySnapshot _snapshot;
    private SessionKey _key;

    // The session's id was minted for this request: nothing is stored yet and the client has no cookie.
    private bool _isNew;

    // The request saw no stored item (new id, or the node had none): its first save is create-only, so
    // it can never overwrite an item another request created meanwhile.
    private bool _noStoredItem;

    // Forwarded without a session because no node was healthy (the opt-in fallback).
    private bool _unavailable;

    // The response transform carried out the backend's answer.
    private bool _completed;

    // The node (index into the snapshot's nodes) the session is served from; -1 when none is left.
    private int _node = -1;

    // The nodes this request failed on, skipped by every later choice.
    private int[]? _failed;
    private int _failedCount;
    private string? _lastFailedNode;
    private string? _lastError;

    // The request's lock on _node while it holds one; 0 is never a lock id.
    private long _lockId;

    // The lock-taking read of this request, with the lock id it proposes (see OrphanedLockReleaser).
    private LockRequest _lockRequest;

    // The state a save writes, kept for the failover attempts.
    private ReadOnlyMemory<byte> _pendingState;

    // A session an edit of the map moved, found on its node in the replaced map: that node, the lock this request
    // holds there (read-write), the revision and the state read. Copied forward to _node, then removed there.
    private StateNodeHandle? _handoverNode;
    private long _handoverLockId;
    private long _handoverRevision;
    private ReadOnlyMemory<byte> _handedOverState;

    // With a replication factor above 1: the session's replica set in the map in force, and (a handover) in the
    // replaced map the session was found in. They hold the locks then; _node is the set's first replica.
    private ReplicaQuorum? _quorum;
    private ReplicaQuorum? _handoverQuorum;

    // When a replicated read-write request took its locks (Unix ms): the floor of its save's version; 0 without.
    private long _lockedAtMilliseconds;

    internal SessionExchange(SessionExchangeFactory services, GatewaySnapshot snapshot, SessionMode mode)
    {
        _services = services;
        _snapshot = snapshot;
        Mode = mode;
    }

    public SessionMode Mode { get; }

    private string LogId => SessionIdText.Redact(_key.SessionId);

    /// <summary>
    /// Reads the cookie (or mints a new id), chooses the session's node, loads its state (taking the lock on a
    /// read-write route) and attaches the signed contract headers for the backend. Returns the answer to give
    /// instead of forwarding, or null to forward.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<GatewayRefusal?> BeginAsync(HttpContext context)
    {
        var sessionId = ReadCookie(context);
        if (sessionId is null)
        {
            sessionId = SessionCookieCodec.NewSessionId();
            _isNew = true;
            _noStoredItem = true;
        }

        _key = new SessionKey(_snapshot.ApplicationName, sessionId);
        if (!_isNew && LeasesEnabled)
        {
            if (Mode == SessionMode.ReadWrite)
            {
                var (served, refusal) = await BeginLeasedAsync(context).ConfigureAwait(false);
                if (served)
                {
                    return refusal;
                }
            }
            else if (TryReadLeased(context))
            {
                return null;
            }
        }

        if (_snapshot.Options.ReplicationFactor > 1)
        {
            return await BeginReplicatedAsync(context).ConfigureAwait(false);
        }

        _node = ChooseNode();
        ReadOnlyMemory<byte> state = default;

        // Nobody else knows a freshly minted id: no lock and no read.
        if (!_isNew && _node >= 0)
        {
            if (Mode == SessionMode.ReadWrite)
            {
                // Never abandoned halfway, even when the client goes away: the node may already have granted the
                // lock, and a reply dropped on cancellation would leave the session locked until the lock timeout.
                // The call is bounded by the attempt timeout plus the lock wait; EndAsync releases the lock after.
                _lockRequest = _snapshot.ExclusiveRead with { ProposedLockId = SessionLockId() };
                if (_lease is not null)
                {
                    StampLeaseSend(_services.Time.GetUtcNow().ToUnixTimeMilliseconds());
                }

                var answer = await CallAsync(
                    StoreOperation.Load,
                    static (exchange, store, _) => store.GetExclusiveAsync(exchange._key, exchange._lockRequest, CancellationToken.None),
                    failOver: true,
                    CancellationToken.None).ConfigureAwait(false);
                if (answer is { } read)
                {
                    switch (read.Status)
                    {
                        case StoreStatus.Ok:
                            _lockId = read.Lock.LockId;
                            state = read.Item?.Data ?? default;
                            if (read.TookOver)
                            {
                                GatewayLog.LockTakenOver(_services.Logger, LogId, NodeId);
                                _services.Metrics.LockTakenOver();
                            }

                            break;
                        case StoreStatus.NotFound:
                            // The store did not create the item with the lock; the first save creates it.
                            _noStoredItem = true;
                            break;
                        default:
                            return Refuse(StoreOperation.Load, read.Status);
                    }
                }
            }
            else
            {
                var answer = await CallAsync(
                    StoreOperation.Read,
                    static (exchange, store, cancellationToken) => store.GetAsync(exchange._key, cancellationToken),
                    failOver: true,
                    context.RequestAborted).ConfigureAwait(false);
                if (answer is { Status: StoreStatus.Ok } read)
                {
                    state = read.Item?.Data ?? default;
                }
            }
        }

        if (_node < 0)
        {
            return NoHealthyNode(context.Request.Headers);
        }

        if (!_isNew && state.IsEmpty && _snapshot.Handovers.Count > 0)
        {
            if (await FindInReplacedMapsAsync(context.RequestAborted).ConfigureAwait(false) is { } busy)
            {
                return busy;
            }

            state = _handedOverState;
        }

        _loadedState = state;

        AttachRequestHeaders(context.Request.Headers, state.Span, Mode == SessionMode.ReadWrite ? SessionModeValues.ReadWrite : SessionModeValues.ReadOnly);
        return null;
    }

    /// <summary>
    /// Carries out what the backend answered (its contract headers already removed from the response): saves
    /// <paramref name="newState"/>, removes the session when <paramref name="abandon"/>, or only gives the lock
    /// back. Returns the answer to give instead of the backend's, or null to pass the backend's on.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<GatewayRefusal?> CompleteAsync(HttpResponse response, string? newState, bool abandon, string? path)
    {
        _completed = true;
        if (Mode != SessionMode.ReadWrite || _unavailable)
        {
            if (newState is not null || abandon)
            {
                GatewayLog.StateIgnored(_services.Logger, LogId, _unavailable ? SessionModeValues.Unavailable : SessionModeValues.ReadOnly, path);
            }

            return null;
        }

        GatewayRefusal? refusal = null;
        var done = false;
        _keepLock = ShouldKeepLease(abandon);
        if (_keepLock && newState is not null)
        {
            StampLeaseSend(_services.Time.GetUtcNow().ToUnixTimeMilliseconds());
        }

        if (abandon)
        {
            (refusal, done) = (await AbandonAsync(response).ConfigureAwait(false), true);
        }
        else if (newState is not null)
        {
            refusal = await SaveAsync(response, newState).ConfigureAwait(false);
            done = refusal is null;
        }
        else if (!_handedOverState.IsEmpty)
        {
            // The backend changed nothing, but the session has to move to its node in the map in force.
            refusal = await WriteAsync(_handedOverState, response).ConfigureAwait(false);
            done = refusal is null;
        }

        if (_keepLock && refusal is null)
        {
            if (newState is not null)
            {
                KeepLease(_savedState);
            }
            else if (_leaseHit)
            {
                // Nothing written, nothing renewed: the lease goes on as it was.
                _leaseKept = true;
            }
            else
            {
                KeepLease(_loadedState);
            }
        }

        if (HoldsLock && !_leaseKept)
        {
            // Nothing was written (no new state, or the save was refused): give the lock back now.
            await ReleaseLockAsync(noResponse: false).ConfigureAwait(false);
        }

        if (_handoverNode is not null || _handoverQuorum is not null)
        {
            await EndHandoverAsync(removeOldCopy: done).ConfigureAwait(false);
        }

        return refusal;
    }

    /// <summary>
    /// Ends the exchange, whatever happened: releases a lock no response released (backend error or timeout,
    /// client gone) and lets go of the configuration snapshot.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask EndAsync()
    {
        try
        {
            if (_leaseHit && !_completed)
            {
                // Served from the lease and ended without a response to carry out: nothing changed, the lease goes on.
                _leaseKept = true;
            }

            if (HoldsLock && !_leaseKept)
            {
                await ReleaseLockAsync(noResponse: true).ConfigureAwait(false);
            }

            if (_handoverNode is not null || _handoverQuorum is not null)
            {
                await EndHandoverAsync(removeOldCopy: false).ConfigureAwait(false);
            }
        }
        finally
        {
            if (_lease is not null)
            {
                await ExitLeaseAsync().ConfigureAwait(false);
            }

            _snapshot.Exit();
        }
    }

    private string NodeId => _quorum?.Primary.Id ?? _snapshot.Nodes[_node].Id;

    private bool HoldsLock => _lockId != 0 || (_quorum?.HoldsLocks ?? false);

    /// <summary>
    /// The session id of the first cookie of the session's name that verifies, in the order the client sent
    /// them (see <see cref="SessionCookieValues"/>); null when there is none, counted and logged when the
    /// request did carry one.
    /// </summary>
    private string? ReadCookie(HttpContext context)
    {
        var rejectedLength = -1;
        foreach (var value in new SessionCookieValues(context.Request.Headers.Cookie, _snapshot.Options.Cookie.Name))
        {
            if (_services.Cookies.TryUnprotect(value, out var sessionId))
            {
                return sessionId;
            }

            if (rejectedLength < 0)
            {
                rejectedLength = value.Length;
            }
        }

        if (rejectedLength >= 0)
        {
            _services.Metrics.CookieRejected();
            GatewayLog.CookieRejected(_services.Logger, context.Connection.RemoteIpAddress, rejectedLength);
        }

        return null;
    }

    private int ChooseNode()
        => _snapshot.Resolver.FirstHealthy(_key.SessionId, _services.Health, _failed.AsSpan(0, _failedCount));

    /// <summary>
    /// Calls the session's node; when the node fails (unreachable, timed out) and <paramref name="failOver"/>
    /// is set, calls the next healthy node of the session's list until one answers. Returns null when no node
    /// answered; <see cref="_lastFailedNode"/> and <see cref="_lastError"/> then say why, and
    /// <see cref="_node"/> is -1 after a failover that found no node left. Every call is recorded by the node's store.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<TAnswer?> CallAsync<TAnswer>(
        string operation,
        Func<SessionExchange, ISessionStore, CancellationToken, ValueTask<TAnswer>> call,
        bool failOver,
        CancellationToken cancellationToken)
        where TAnswer : struct
    {
        while (_node >= 0)
        {
            var node = _snapshot.Nodes[_node];
            try
            {
                return await call(this, node.Store, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
#pragma warning disable CA1031 // Any failure of a node's client fails that node over; the request goes on with the next one.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                // A lock this request held was on the failed node: unreachable now, it expires there with the lock timeout.
                // A lock-taking read may still be carried out by a node that hung: release that lock once it is back.
                _lockId = 0;
                if (operation == StoreOperation.Load)
                {
                    _services.OrphanedLocks.Watch(node, _key, _lockRequest.ProposedLockId, _snapshot.Options.LockTimeout);
                }

                _lastFailedNode = node.Id;
                _lastError = ex.Message;
                RememberFailed(_node);
                if (!failOver)
                {
                    return null;
                }

                _node = ChooseNode();
                if (_node >= 0)
                {
                    GatewayLog.FailedOver(_services.Logger, LogId, operation, node.Id, ex.Message, NodeId);
                    _services.Metrics.FailedOver(operation);
                }
            }
        }

        return null;
    }

    private void RememberFailed(int node)
    {
        if (_failed is null || _failedCount == _failed.Length)
        {
            Array.Resize(ref _failed, Math.Max(4, _failedCount * 2));
        }

        _failed[_failedCount++] = node;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<GatewayRefusal?> SaveAsync(HttpResponse response, string encoded)
    {
        if (encoded.Length > _snapshot.MaxEncodedStateChars)
        {
            _services.Metrics.StateRejected();
            GatewayLog.StateTooLarge(_services.Logger, LogId, Base64Url.GetMaxDecodedLength(encoded.Length), _snapshot.Options.MaxStateBytes);
            return new GatewayRefusal(StatusCodes.Status502BadGateway, GatewayResponses.StateTooLarge);
        }

        var buffer = new byte[Base64Url.GetMaxDecodedLength(encoded.Length)];

        // The OperationStatus overload reports bad characters instead of throwing.
        if (Base64Url.DecodeFromChars(encoded, buffer, out _, out var length) != OperationStatus.Done)
        {
            _services.Metrics.StateRejected();
            GatewayLog.StateInvalid(_services.Logger, LogId);
            return new GatewayRefusal(StatusCodes.Status502BadGateway, GatewayResponses.StateInvalid);
        }

        _savedState = new ReadOnlyMemory<byte>(buffer, 0, length);
        return await WriteAsync(_savedState, response).ConfigureAwait(false);
    }

    /// <summary>Writes <paramref name="state"/> to the session's node (set-and-release), failing over to the next healthy node of its list.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<GatewayRefusal?> WriteAsync(ReadOnlyMemory<byte> state, HttpResponse response)
    {
        if (_quorum is not null)
        {
            return await WriteReplicasAsync(state, response).ConfigureAwait(false);
        }

        _pendingState = state;
        var answer = await CallAsync(
            StoreOperation.Save,
            static (exchange, store, _) => store.SetAsync(exchange._key, exchange.PendingWrite(), CancellationToken.None),
            failOver: true,
            CancellationToken.None).ConfigureAwait(false);
        if (answer is not { } written)
        {
            return NodesFailed(StoreOperation.Save);
        }

        if (written.Status != StoreStatus.Ok)
        {
            return Refuse(StoreOperation.Save, written.Status);
        }

        // Set-and-release gave the lock back; a lease's write kept it.
        if (!_keepLock)
        {
            _lockId = 0;
        }

        if (_failedCount > 0)
        {
            _services.Metrics.FailoverSave();
        }

        IssueCookieIfNew(response);
        return null;
    }

    private void IssueCookieIfNew(HttpResponse response)
    {
        if (_isNew)
        {
            _services.Metrics.SessionCreated();
            response.Cookies.Append(_snapshot.Options.Cookie.Name, _services.Cookies.Protect(_key.SessionId), CookieOptionsFor(_snapshot.Options.Cookie));
        }
    }

    /// <summary>The write of <see cref="_pendingState"/> as this request may make it now: with its lock while it holds one, create-only when it saw no item.</summary>
    private SessionWrite PendingWrite()
        => new(_pendingState, _snapshot.Options.IdleTimeout, _lockId != 0 ? _lockId : null, _noStoredItem ? 0 : null, KeepLock: _keepLock && _lockId != 0);

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<GatewayRefusal?> AbandonAsync(HttpResponse response)
    {
        response.Cookies.Delete(_snapshot.Options.Cookie.Name, CookieOptionsFor(_snapshot.Options.Cookie));
        if (_isNew)
        {
            return null;
        }

        if (_quorum is not null)
        {
            // An empty state under a new version, not a removal: a replica that missed the abandon (down at the
            // time) is outvoted by it, where a removed item would let that replica's old state come back.
            var refusal = await WriteReplicasAsync(ReadOnlyMemory<byte>.Empty, response).ConfigureAwait(false);
            if (refusal is null)
            {
                _services.Metrics.SessionAbandoned();
            }

            return refusal;
        }

        // No failover: the item to remove is on this node, and the next node of the list holds none.
        var answer = await CallAsync(
            StoreOperation.Remove,
            static (exchange, store, _) => store.RemoveAsync(exchange._key, exchange._lockId != 0 ? exchange._lockId : null, CancellationToken.None),
            failOver: false,
            CancellationToken.None).ConfigureAwait(false);
        if (answer is not { } removed)
        {
            return NodesFailed(StoreOperation.Remove);
        }

        if (removed.Status is StoreStatus.Ok or StoreStatus.NotFound)
        {
            // The item and its lock are gone.
            _lockId = 0;
            _services.Metrics.SessionAbandoned();
            return null;
        }

        return Refuse(StoreOperation.Remove, removed.Status);
    }

    /// <summary>
    /// The session has no state on its node: an edit of the map may have moved it. Looks on its node in each
    /// replaced map still handed over, newest first, and keeps the first state found (read-write: under that
    /// node's lock, so a request of the old map still in flight finishes first and nothing writes there after
    /// the copy). Returns the answer to give when that lock is not free in time; null otherwise.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<GatewayRefusal?> FindInReplacedMapsAsync(CancellationToken requestAborted)
    {
        var now = _services.Time.GetUtcNow();
        var current = _snapshot.Nodes[_node];
        foreach (var handover in _snapshot.Handovers)
        {
            var index = handover.Until > now ? handover.Resolver.FirstHealthy(_key.SessionId, _services.Health) : -1;
            if (index < 0 || ReferenceEquals(handover.Nodes[index], current))
            {
                continue;
            }

            var old = handover.Nodes[index];
            try
            {
                if (Mode != SessionMode.ReadWrite)
                {
                    var read = await old.Store.GetAsync(_key, requestAborted).ConfigureAwait(false);
                    if (read is { Status: StoreStatus.Ok, Item.Data.IsEmpty: false })
                    {
                        _handedOverState = read.Item.Data;
                        return null;
                    }

                    continue;
                }

                // Bounded like the load itself; never cancelled halfway, for the same reason.
                _lockRequest = _snapshot.HandoverRead with { ProposedLockId = NewLockId() };
                var locked = await old.Store.GetExclusiveAsync(_key, _lockRequest, CancellationToken.None).ConfigureAwait(false);
                if (locked.Status == StoreStatus.NotFound)
                {
                    continue;
                }

                if (locked.Status != StoreStatus.Ok)
                {
                    return Refuse(StoreOperation.Load, locked.Status);
                }

                _handoverNode = old;
                _handoverLockId = locked.Lock.LockId;
                _handoverRevision = handover.Revision;
                if (locked.Item is { Data.IsEmpty: false } item)
                {
                    _handedOverState = item.Data;
                    return null;
                }

                // An empty item there too: nothing to hand over from this map.
                await EndHandoverAsync(removeOldCopy: false).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (requestAborted.IsCancellationRequested)
            {
                throw;
            }
#pragma warning disable CA1031 // The replaced map's node is failing (its store recorded it): the request goes on without that copy.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                if (Mode == SessionMode.ReadWrite)
                {
                    _services.OrphanedLocks.Watch(old, _key, _lockRequest.ProposedLockId, _snapshot.Options.LockTimeout);
                }

                GatewayLog.HandoverReadFailed(_services.Logger, LogId, old.Id, handover.Revision, ex.Message);
            }
        }

        return null;
    }

    /// <summary>
    /// Ends a handover: once the state is copied forward (or the session abandoned) the old copy is removed with
    /// this request's lock there, so no later request reads it again; otherwise the lock is only given back and the
    /// session's next request hands it over.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask EndHandoverAsync(bool removeOldCopy)
    {
        if (_handoverQuorum is { } oldReplicas)
        {
            _handoverQuorum = null;
            if (removeOldCopy)
            {
                // Copied forward: an empty state under a new version on the old set (with its locks, which that
                // releases), so neither this session's next request nor one after an abandon finds it there again.
                var now = _services.Time.GetUtcNow().ToUnixTimeMilliseconds();
                var cleared = await oldReplicas.WriteAsync(_key, ReadOnlyMemory<byte>.Empty, _snapshot.Options.IdleTimeout, now, _services.Health).ConfigureAwait(false);
                if (cleared == StoreStatus.Ok)
                {
                    _services.Metrics.HandedOver();
                    GatewayLog.HandedOver(_services.Logger, LogId, oldReplicas.Primary.Id, _handoverRevision, NodeId);
                }
                else
                {
                    GatewayLog.HandoverCleanupFailed(_services.Logger, LogId, oldReplicas.Primary.Id, cleared?.ToString() ?? "no majority of its replicas applied it");
                }
            }

            await oldReplicas.ReleaseAsync(_key).ConfigureAwait(false);
            return;
        }

        var old = _handoverNode!;
        var lockId = _handoverLockId;
        _handoverNode = null;
        _handoverLockId = 0;
        try
        {
            if (removeOldCopy)
            {
                var removed = await old.Store.RemoveAsync(_key, lockId, CancellationToken.None).ConfigureAwait(false);
                if (removed.Status is StoreStatus.Ok or StoreStatus.NotFound)
                {
                    _services.Metrics.HandedOver();
                    GatewayLog.HandedOver(_services.Logger, LogId, old.Id, _handoverRevision, NodeId);
                }
                else
                {
                    GatewayLog.HandoverCleanupFailed(_services.Logger, LogId, old.Id, removed.Status.ToString());
                }
            }
            else
            {
                await old.Store.ReleaseAsync(_key, lockId, CancellationToken.None).ConfigureAwait(false);
            }
        }
#pragma warning disable CA1031 // The old node is failing (its store recorded it); its copy and lock expire there.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            if (removeOldCopy)
            {
                GatewayLog.HandoverCleanupFailed(_services.Logger, LogId, old.Id, ex.Message);
            }
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask ReleaseLockAsync(bool noResponse)
    {
        if (_quorum is not null)
        {
            await _quorum.ReleaseAsync(_key).ConfigureAwait(false);
            return;
        }

        var lockId = _lockId;
        _lockId = 0;
        try
        {
            var answer = await _snapshot.Nodes[_node].Store.ReleaseAsync(_key, lockId, CancellationToken.None).ConfigureAwait(false);
            if (answer.Status == StoreStatus.LockMismatch)
            {
                GatewayLog.ReleaseAfterTakeover(_services.Logger, LogId, NodeId);
            }
            else if (noResponse)
            {
                GatewayLog.ReleasedWithoutResponse(_services.Logger, LogId, NodeId, answer.Status);
            }
        }
#pragma warning disable CA1031 // The node is failing (its store recorded it); its lock expires with the lock timeout. Never fail the request's end for it.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }

    /// <summary>A store's refusal: counted, logged once, and mapped to the client's answer.</summary>
    private GatewayRefusal Refuse(string operation, StoreStatus status, string? nodeId = null)
    {
        nodeId ??= NodeId;
        var refusal = GatewayRefusal.ForStoreStatus(status, _snapshot.RetryAfterSeconds);
        switch (status)
        {
            case StoreStatus.Locked or StoreStatus.WaitTimeout or StoreStatus.QueueFull:
                _services.Metrics.LockRefused();
                GatewayLog.LockBusy(_services.Logger, LogId, nodeId, status);
                break;
            case StoreStatus.LockMismatch:
                // Our lock was taken over after the lock timeout: the store refused the late write.
                _lockId = 0;
                _services.Metrics.SaveRefused();
                GatewayLog.LateSaveRefused(_services.Logger, LogId, nodeId, _snapshot.LockTakeoverAge);
                break;
            default:
                _services.Metrics.SaveRefused();
                GatewayLog.Refused(_services.Logger, LogId, nodeId, operation, status, refusal.StatusCode);
                break;
        }

        return refusal;
    }

    private GatewayRefusal NodesFailed(string operation)
    {
        GatewayLog.NodesFailed(_services.Logger, LogId, operation, _lastFailedNode ?? "", _lastError ?? "", StatusCodes.Status503ServiceUnavailable);
        return new GatewayRefusal(StatusCodes.Status503ServiceUnavailable, GatewayResponses.StoreFailed, _snapshot.RetryAfterSeconds);
    }

    private GatewayRefusal? NoHealthyNode(IHeaderDictionary requestHeaders)
    {
        GatewayLog.NoHealthyNode(_services.Logger, LogId, _snapshot.Options.WhenNoHealthyNode);
        return AnswerWithoutNode(requestHeaders);
    }

    /// <summary>No node (or no majority of the replica set) can serve the session: 503, or forwarded without a session when configured so.</summary>
    private GatewayRefusal? AnswerWithoutNode(IHeaderDictionary requestHeaders)
    {
        _services.Metrics.NoHealthyNode();
        var behavior = _snapshot.Options.WhenNoHealthyNode;
        if (behavior == NoHealthyNodeBehavior.ForwardWithoutSession)
        {
            _unavailable = true;
            AttachRequestHeaders(requestHeaders, default, SessionModeValues.Unavailable);
            return null;
        }

        return new GatewayRefusal(StatusCodes.Status503ServiceUnavailable, GatewayResponses.NoHealthyNode, _snapshot.RetryAfterSeconds);
    }

    private void AttachRequestHeaders(IHeaderDictionary headers, ReadOnlySpan<byte> state, string mode)
    {
        var sessionId = _unavailable ? "" : _key.SessionId;
        var encoded = state.IsEmpty ? null : Base64Url.EncodeToString(state);
        var timestamp = _services.Time.GetUtcNow().ToUnixTimeSeconds();
        if (sessionId.Length > 0)
        {
            headers[SessionHeaders.Id] = sessionId;
        }

        headers[SessionHeaders.Mode] = mode;
        if (encoded is not null)
        {
            headers[SessionHeaders.State] = encoded;
        }

        headers[SessionHeaders.Timestamp] = timestamp.ToString(CultureInfo.InvariantCulture);
        headers[SessionHeaders.Signature] = _snapshot.Signature.Sign(sessionId, mode, timestamp, encoded);
    }

    /// <summary>A random positive 63-bit lock id: unique per request, so a late release can never free another request's lock.</summary>
    private static long NewLockId()
    {
        Span<byte> bytes = stackalloc byte[sizeof(long)];
        long id;
        do
        {
            RandomNumberGenerator.Fill(bytes);
            id = BitConverter.ToInt64(bytes) & long.MaxValue;
        }
        while (id == 0);

        return id;
    }

    private static CookieOptions CookieOptionsFor(SessionCookieOptions cookie) => new()
    {
        Path = cookie.Path,
        Domain = cookie.Domain,
        Secure = cookie.Secure,
        HttpOnly = true,
        SameSite = SameSiteMode.Lax,
        IsEssential = true,
    };
}
