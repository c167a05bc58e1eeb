using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using SessionRouter.Core.Configuration;
using SessionRouter.Core.Diagnostics;
using SessionRouter.Core.Storage;
using SessionRouter.Gateway.Diagnostics;
using SessionRouter.Gateway.Nodes;

namespace SessionRouter.Gateway.Leases;

/// <summary>
/// The sessions this gateway holds under a lease (see <see cref="SessionLease"/>), bounded in bytes with the
/// least recently used given up first. A lease ends when a node announces a waiter for its lock (revocation),
/// when it has not been renewed for nearly the lease time (expiry), when the map changes, when memory is short
/// (eviction), and at shutdown; ending it releases the store's locks, so the next request anywhere loads afresh.
/// </summary>
internal sealed class LeaseTable
{
    /// <summary>What a lease costs besides its state: the lease, its gate, its table and recency entries, its key.</summary>
    public const int OverheadBytes = 512;

    private readonly ConcurrentDictionary<SessionKey, SessionLease> _leases = new();
    private readonly LinkedList<SessionLease> _recency = new();
    private readonly Lock _recencyLock = new();
    private readonly GatewayMetrics _metrics;
    private readonly OrphanedLockReleaser _orphanedLocks;
    private readonly ILogger _logger;
    private long _bytes;
    private int _evicting;

    private readonly TimeProvider _time;

    public LeaseTable(GatewayMetrics metrics, OrphanedLockReleaser orphanedLocks, ILogger<LeaseTable> logger, TimeProvider time)
    {
        _time = time;
        _metrics = metrics;
        _orphanedLocks = orphanedLocks;
        _logger = logger;
        metrics.ObserveLeases(() => Volatile.Read(ref _bytes), () => _leases.Count);
    }

    /// <summary>Which sessions are worth a lease (see <see cref="LeaseAdmission"/>).</summary>
    public LeaseAdmission Admission { get; } = new();

    /// <summary>How many sessions are held (for the admin status and tests).</summary>
    public int Count => _leases.Count;

    /// <summary>The bytes the held leases are counted for.</summary>
    public long Bytes => Volatile.Read(ref _bytes);

    /// <summary>
    /// Takes the in-process lock of session <paramref name="key"/>, waiting at most <paramref name="wait"/> behind
    /// this gateway's other requests of the session. Null when it was not free in time.
    /// </summary>
    public async ValueTask<SessionLease?> EnterAsync(SessionKey key, TimeSpan wait)
    {
        while (true)
        {
            var lease = _leases.GetOrAdd(key, static k => new SessionLease(k));
            if (!await lease.Gate.WaitAsync(wait).ConfigureAwait(false))
            {
                return null;
            }

            if (!lease.Removed)
            {
                return lease;
            }

            // Ended while this request waited: a fresh lease takes its place.
            lease.Gate.Release();
        }
    }

    /// <summary>The lease on session <paramref name="key"/>, if this gateway has one (held or being taken).</summary>
    public bool TryGet(SessionKey key, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out SessionLease? lease)
        => _leases.TryGetValue(key, out lease);

    /// <summary>
    /// Keeps <paramref name="data"/> under <paramref name="lease"/> (its locks held, renewed by the caller) until
    /// <paramref name="validUntil"/>; called by the lease's holder of the gate. Gives up least recently used leases
    /// when the table is over <paramref name="maxBytes"/>.
    /// </summary>
    public void Hold(SessionLease lease, ReadOnlyMemory<byte> data, long validUntil, long maxBytes)
    {
        lease.Hold(data, validUntil);
        var bytes = OverheadBytes + (long)data.Length;
        var total = Interlocked.Add(ref _bytes, bytes - lease.Bytes);
        lease.Bytes = bytes;
        lock (_recencyLock)
        {
            if (lease.Recency is { } node)
            {
                _recency.Remove(node);
                _recency.AddFirst(node);
            }
            else
            {
                lease.Recency = _recency.AddFirst(lease);
            }
        }

        if (total > maxBytes && Interlocked.Exchange(ref _evicting, 1) == 0)
        {
            _ = EvictAsync(maxBytes);
        }
    }

    /// <summary>
    /// Ends the use of <paramref name="lease"/> by the request that entered it. A lease that holds nothing is taken
    /// out of the table; one revoked meanwhile is given up now, so the waiting request elsewhere gets the lock.
    /// </summary>
    public async ValueTask ExitAsync(SessionLease lease)
    {
        try
        {
            if (!lease.Held)
            {
                Remove(lease);
            }
            else if (lease.Revoked)
            {
                await EndAsync(lease).ConfigureAwait(false);
            }
        }
        finally
        {
            lease.Gate.Release();
        }
    }

    /// <summary>
    /// Gives up the lease: releases its locks, forgets its state and takes it out of the table. Called by the
    /// holder of the gate (a request that found the lease stale, or one of the table's own sweeps).
    /// </summary>
    public async ValueTask EndAsync(SessionLease lease)
    {
        Remove(lease);
        await ReleaseLocksAsync(lease).ConfigureAwait(false);
    }

    /// <summary>
    /// Releases the lease's locks and forgets its state, keeping it in the table for the request that holds its gate
    /// (which found it stale and takes the lock afresh).
    /// </summary>
    public async ValueTask ReleaseLocksAsync(SessionLease lease)
    {
        var quorum = lease.Quorum;
        var node = lease.NodeHandle;
        var lockId = lease.LockId;
        if (!lease.Held)
        {
            return;
        }

        lease.Clear();
        Interlocked.Add(ref _bytes, -lease.Bytes);
        lease.Bytes = 0;
        try
        {
            if (quorum is not null)
            {
                await quorum.ReleaseAsync(lease.Key).ConfigureAwait(false);
            }
            else if (node is not null)
            {
                await node.Store.ReleaseAsync(lease.Key, lockId, CancellationToken.None).ConfigureAwait(false);
            }
        }
#pragma warning disable CA1031 // The node is failing (its store recorded it): the releaser gives the lock back once it answers.
        catch (Exception)
#pragma warning restore CA1031
        {
            if (node is not null)
            {
                _orphanedLocks.Watch(node, lease.Key, lockId, lease.LockTimeout);
            }
        }
    }

    /// <summary>Takes a lease that holds nothing (any more) out of the table; its locks are not this table's to release.</summary>
    public void Forget(SessionLease lease)
    {
        lease.Clear();
        Remove(lease);
    }

    /// <summary>
    /// A node announced that a caller waits for the lock <see cref="LockContention.HolderLockId"/> of a session: when
    /// this gateway holds it as a lease, the lease is revoked, and given up at once when no request uses it.
    /// </summary>
    public void OnContention(LockContention contention)
    {
        if (!_leases.TryGetValue(contention.Key, out var lease) || lease.LockId != contention.HolderLockId || !lease.Revoke())
        {
            return;
        }

        _metrics.LeaseRevoked();
        Admission.Revoked(contention.Key, _time.GetTimestamp());
        GatewayLog.LeaseRevoked(_logger, SessionIdText.Redact(contention.Key.SessionId));
        if (lease.Gate.Wait(0))
        {
            _ = EndIdleAsync(lease);
        }
    }

    /// <summary>
    /// Gives up the leases that may no longer serve: not renewed for nearly the lease time, or taken under an
    /// earlier revision of the configuration. Leases in use are left to their request.
    /// </summary>
    public async ValueTask SweepAsync(long nowTimestamp, long revision)
    {
        foreach (var lease in _leases.Values)
        {
            if (lease.Held && (nowTimestamp >= lease.ValidUntil || lease.Revision != revision) && lease.Gate.Wait(0))
            {
                if (lease.Held && !lease.Removed)
                {
                    _metrics.LeaseExpired();
                }

                await EndIdleAsync(lease).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Gives up every lease no request uses (the gateway stops): other gateways need not wait for them to expire.</summary>
    public async ValueTask<int> EndAllAsync()
    {
        var ended = 0;
        foreach (var lease in _leases.Values)
        {
            if (lease.Gate.Wait(0))
            {
                ended += lease.Held ? 1 : 0;
                await EndIdleAsync(lease).ConfigureAwait(false);
            }
        }

        return ended;
    }

    private async Task EndIdleAsync(SessionLease lease)
    {
        try
        {
            if (!lease.Removed)
            {
                await EndAsync(lease).ConfigureAwait(false);
            }
        }
        finally
        {
            lease.Gate.Release();
        }
    }

    private async Task EvictAsync(long maxBytes)
    {
        try
        {
            while (Volatile.Read(ref _bytes) > maxBytes)
            {
                SessionLease? victim = null;
                lock (_recencyLock)
                {
                    // The least recently used lease no request is using.
                    for (var node = _recency.Last; node is not null; node = node.Previous)
                    {
                        if (node.Value.Gate.Wait(0))
                        {
                            victim = node.Value;
                            break;
                        }
                    }
                }

                if (victim is null)
                {
                    return;
                }

                _metrics.LeaseEvicted();
                await EndIdleAsync(victim).ConfigureAwait(false);
            }
        }
        finally
        {
            Volatile.Write(ref _evicting, 0);
        }
    }

    private void Remove(SessionLease lease)
    {
        if (lease.Removed)
        {
            return;
        }

        lease.Removed = true;
        _leases.TryRemove(new KeyValuePair<SessionKey, SessionLease>(lease.Key, lease));
        Interlocked.Add(ref _bytes, -lease.Bytes);
        lease.Bytes = 0;
        lock (_recencyLock)
        {
            if (lease.Recency is { } node)
            {
                _recency.Remove(node);
                lease.Recency = null;
            }
        }
    }
}
