using Microsoft.AspNetCore.Http;
using SessionRouter.Core.Configuration;
using SessionRouter.Core.HeaderContract;
using SessionRouter.Core.Storage;
using SessionRouter.Gateway.Diagnostics;
using SessionRouter.Gateway.Nodes;
using SessionRouter.Gateway.Replication;

namespace SessionRouter.Gateway.Pipeline;

/// <summary>
/// The exchange's steps when the map keeps each session on several nodes (<c>ReplicationFactor</c> above 1):
/// the same request life as with one node, with the session's replica set (<see cref="ReplicaQuorum"/>) in
/// place of one node and its failover. A majority of the set must hold the lock, answer the read and apply
/// the save; otherwise the request is answered as when no node is healthy.
/// </summary>
internal sealed partial class SessionExchange
{
    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<GatewayRefusal?> BeginReplicatedAsync(HttpContext context)
    {
        var quorum = _quorum = ReplicaQuorum.For(_snapshot.Resolver, _snapshot.Nodes, _key, _snapshot.Options.ReplicationFactor, _services.OrphanedLocks, _snapshot.Options.LockTimeout);
        ReadOnlyMemory<byte> state = default;

        // Nobody else knows a freshly minted id: no lock and no read; the first save writes the replicas, so a
        // read-write request is refused now, before the site does its work, when that save could not be acknowledged.
        if (_isNew && Mode == SessionMode.ReadWrite && !quorum.MajorityHealthy(_services.Health))
        {
            return NoQuorum(quorum, StoreOperation.Save, context.Request.Headers);
        }

        if (!_isNew)
        {
            if (Mode == SessionMode.ReadWrite)
            {
                _lockRequest = _snapshot.ExclusiveRead with { ProposedLockId = SessionLockId() };

                // The save's version is not below this: a writer that takes the lock over after the lock timeout
                // writes a higher version than any late write of this request can carry.
                _lockedAtMilliseconds = _services.Time.GetUtcNow().ToUnixTimeMilliseconds();
                if (_lease is not null)
                {
                    StampLeaseSend(_lockedAtMilliseconds);
                }

                var status = await quorum.LockAndReadAsync(_key, _lockRequest, _services.Health).ConfigureAwait(false);
                if (status is not { } locked)
                {
                    return NoQuorum(quorum, StoreOperation.Load, context.Request.Headers);
                }

                if (locked != StoreStatus.Ok)
                {
                    return Refuse(StoreOperation.Load, locked, quorum.RefusedBy?.Id);
                }

                if (quorum.TookOver)
                {
                    GatewayLog.LockTakenOver(_services.Logger, LogId, NodeId);
                    _services.Metrics.LockTakenOver();
                }
            }
            else if (!await quorum.ReadAsync(_key, _services.Health, context.RequestAborted).ConfigureAwait(false))
            {
                return NoQuorum(quorum, StoreOperation.Read, context.Request.Headers);
            }

            CountRepairs(quorum);
            state = quorum.Latest?.Data ?? default;

            // No replica holds the session (none stored, or only an item the lock just created): an edit of the
            // map may have moved it. An abandoned session holds its empty state under a writer's version.
            if (!quorum.HoldsSession && _snapshot.Handovers.Count > 0)
            {
                if (await FindInReplacedReplicaSetsAsync(context).ConfigureAwait(false) is { } busy)
                {
                    return busy;
                }

                state = _handedOverState;
            }
        }

        _loadedState = state;
        AttachRequestHeaders(context.Request.Headers, state.Span, Mode == SessionMode.ReadWrite ? SessionModeValues.ReadWrite : SessionModeValues.ReadOnly);
        return null;
    }

    /// <summary>Writes <paramref name="state"/> to the replica set; acknowledged once a majority applied it.</summary>
    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<GatewayRefusal?> WriteReplicasAsync(ReadOnlyMemory<byte> state, HttpResponse response)
    {
        var quorum = _quorum!;
        var now = _services.Time.GetUtcNow().ToUnixTimeMilliseconds();
        if (_lockedAtMilliseconds != 0 && now - _lockedAtMilliseconds >= (long)_snapshot.LockTakeoverAge.TotalMilliseconds)
        {
            // Past the lock timeout another request may hold the session: never write, as a single node would refuse.
            return Refuse(StoreOperation.Save, StoreStatus.LockMismatch);
        }

        var status = await quorum.WriteAsync(_key, state, _snapshot.Options.IdleTimeout, _lockedAtMilliseconds != 0 ? _lockedAtMilliseconds : now, _services.Health, _keepLock).ConfigureAwait(false);
        if (status is not { } written)
        {
            GatewayLog.QuorumNotReached(_services.Logger, LogId, StoreOperation.Save, quorum.Majority, quorum.LastFailedNode ?? "", quorum.LastError ?? "");
            return new GatewayRefusal(StatusCodes.Status503ServiceUnavailable, GatewayResponses.StoreFailed, _snapshot.RetryAfterSeconds);
        }

        if (written != StoreStatus.Ok)
        {
            return Refuse(StoreOperation.Save, written, quorum.RefusedBy?.Id);
        }

        IssueCookieIfNew(response);
        return null;
    }

    /// <summary>
    /// The session has no state on its replica set: an edit of the map may have moved it. Reads it from its
    /// replica set in each replaced map still handed over, newest first, the same way (read-write: under that
    /// set's majority lock, so a request of the old map still in flight finishes first). Returns the answer to
    /// give when that lock is not free in time; null otherwise, with <see cref="_handedOverState"/> set when found.
    /// </summary>
    private async ValueTask<GatewayRefusal?> FindInReplacedReplicaSetsAsync(HttpContext context)
    {
        var now = _services.Time.GetUtcNow();
        foreach (var handover in _snapshot.Handovers)
        {
            if (handover.Until <= now)
            {
                continue;
            }

            var old = ReplicaQuorum.For(handover.Resolver, handover.Nodes, _key, _snapshot.Options.ReplicationFactor, _services.OrphanedLocks, _snapshot.Options.LockTimeout, sharedWith: _quorum);
            if (Mode == SessionMode.ReadWrite)
            {
                // Created with the lock where missing, unlike the single-node handover: a replica of the old set that
                // restarted empty must still count towards its majority, which then writes the state back to it.
                _lockRequest = _snapshot.ExclusiveRead with { ProposedLockId = NewLockId() };
                var status = await old.LockAndReadAsync(_key, _lockRequest, _services.Health).ConfigureAwait(false);
                if (status is not { } locked)
                {
                    // Going on without it would start the session over and bury what the old set holds: refuse instead.
                    GatewayLog.HandoverReadFailed(_services.Logger, LogId, old.Primary.Id, handover.Revision, old.LastError ?? "no majority of its replicas answered");
                    return NoQuorum(old, StoreOperation.Load, context.Request.Headers);
                }

                if (locked == StoreStatus.NotFound)
                {
                    // Never there (or expired): nothing to hand over from this map.
                    continue;
                }

                if (locked != StoreStatus.Ok)
                {
                    return Refuse(StoreOperation.Load, locked, old.RefusedBy?.Id);
                }
            }
            else if (!await old.ReadAsync(_key, _services.Health, context.RequestAborted).ConfigureAwait(false))
            {
                GatewayLog.HandoverReadFailed(_services.Logger, LogId, old.Primary.Id, handover.Revision, old.LastError ?? "no majority of its replicas answered");
                continue;
            }

            if (old.HoldsSession && old.Latest is { Data.IsEmpty: false } item)
            {
                _handedOverState = item.Data;
                _handoverRevision = handover.Revision;
                _handoverQuorum = old;
                return null;
            }

            // Nothing there either (or an abandoned session): give its locks back and look further.
            await old.ReleaseAsync(_key).ConfigureAwait(false);
        }

        return null;
    }

    private void CountRepairs(ReplicaQuorum quorum)
    {
        if (quorum.Repaired > 0)
        {
            _services.Metrics.ReplicasRepaired(quorum.Repaired);
            GatewayLog.ReplicasRepaired(_services.Logger, LogId, quorum.Repaired, quorum.LatestVersion);
        }
    }

    private GatewayRefusal? NoQuorum(ReplicaQuorum quorum, string operation, IHeaderDictionary requestHeaders)
    {
        GatewayLog.QuorumNotReached(_services.Logger, LogId, operation, quorum.Majority, quorum.LastFailedNode ?? "", quorum.LastError ?? "too few of them are healthy");
        return AnswerWithoutNode(requestHeaders);
    }
}
