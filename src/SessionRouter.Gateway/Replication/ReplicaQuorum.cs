using SessionRouter.Core.Health;
using SessionRouter.Core.Partitioning;
using SessionRouter.Core.Storage;
using SessionRouter.Gateway.Nodes;

namespace SessionRouter.Gateway.Replication;

/// <summary>
/// One request's work with a session's replica set: the first R nodes of the session's preference list in
/// one map, whatever their health. The lock is held on a majority, taken one replica after the other in list
/// order; a read gathers a majority and keeps the highest version, writing it back to the replicas it found
/// behind; a write carries a version the writer assigns, above every version it read, and counts once a
/// majority applied it. Health decides only which replicas are asked, never how many must answer, so two
/// gateways that disagree about a node still meet on at least one replica. docs/design.md gives the reasoning.
/// </summary>
/// <remarks>Not thread-safe: one request uses it, one step after the other.</remarks>
internal sealed class ReplicaQuorum
{
    private readonly StateNodeHandle[] _replicas;
    private readonly Replica[] _state;

    private ReplicaQuorum(StateNodeHandle[] replicas)
    {
        _replicas = replicas;
        _state = new Replica[replicas.Length];
    }

    /// <summary>The replica set of <paramref name="sessionId"/> in the map of <paramref name="resolver"/> (index-aligned <paramref name="nodes"/>).</summary>
    public static ReplicaQuorum For(IPartitionResolver resolver, StateNodeHandle[] nodes, string sessionId, int replicationFactor)
    {
        var count = Math.Clamp(replicationFactor, 1, nodes.Length);
        Span<int> list = stackalloc int[count];
        resolver.GetPreferenceList(sessionId, list);
        var replicas = new StateNodeHandle[count];
        for (var i = 0; i < count; i++)
        {
            replicas[i] = nodes[list[i]];
        }

        return new ReplicaQuorum(replicas);
    }

    /// <summary>How many replicas must hold a lock, answer a read or apply a write: more than half of the set.</summary>
    public int Majority => (_replicas.Length / 2) + 1;

    /// <summary>The first replica of the set (the session's primary), named in log lines.</summary>
    public StateNodeHandle Primary => _replicas[0];

    /// <summary>The item with the highest version the last read found; null when no replica had one.</summary>
    public SessionItem? Latest { get; private set; }

    /// <summary>The highest version the reads of this request found (0: none).</summary>
    public long LatestVersion => Latest?.Version ?? 0;

    /// <summary>True when at least a majority of the replicas are healthy: a request has a chance to reach them.</summary>
    public bool MajorityHealthy(INodeHealthView health)
    {
        var healthy = 0;
        foreach (var replica in _replicas)
        {
            if (health.IsHealthy(replica.Id))
            {
                healthy++;
            }
        }

        return healthy >= Majority;
    }

    /// <summary>True while this request holds the lock on at least one replica.</summary>
    public bool HoldsLocks
    {
        get
        {
            foreach (var replica in _state)
            {
                if (replica.LockId != 0)
                {
                    return true;
                }
            }

            return false;
        }
    }

    /// <summary>A lock was taken over from a holder older than the lock timeout.</summary>
    public bool TookOver { get; private set; }

    /// <summary>How many replicas the last write-back brought up to <see cref="LatestVersion"/>.</summary>
    public int Repaired { get; private set; }

    /// <summary>The last replica that failed and why, for the log line of a quorum that could not be reached.</summary>
    public string? LastFailedNode { get; private set; }

    public string? LastError { get; private set; }

    /// <summary>The replica whose answer refused the operation (a busy lock, a newer writer).</summary>
    public StateNodeHandle? RefusedBy { get; private set; }

    /// <summary>
    /// Takes the lock on a majority of the replicas, in list order, skipping those health marks down or that fail
    /// now, and reads the session from them. <see cref="StoreStatus.Ok"/> once a majority is locked (the behind
    /// ones already written back); <see cref="StoreStatus.NotFound"/> when a majority answered without the item
    /// and the request does not create it (nothing acknowledged can be there; no lock is held); the refusing
    /// replica's status when one of them did not grant the lock in time (the locks taken are given back);
    /// <c>null</c> when too few replicas answered (given back too).
    /// </summary>
    public async ValueTask<StoreStatus?> LockAndReadAsync(SessionKey key, LockRequest request, INodeHealthView health, OrphanedLockReleaser orphanedLocks, TimeSpan lockTimeout)
    {
        var locked = 0;
        var missing = 0;
        for (var i = 0; i < _replicas.Length && locked < Majority && missing < Majority; i++)
        {
            var replica = _replicas[i];
            if (!health.IsHealthy(replica.Id))
            {
                continue;
            }

            SessionReadResult read;
            try
            {
                // Never cancelled halfway: a lock granted to a dropped reply would stay until the lock timeout.
                read = await replica.Store.GetExclusiveAsync(key, request, CancellationToken.None).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // A failing replica is skipped (its store reported it to health); the majority decides.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                // A node that hung may still grant the lock later: release it once the node is back.
                orphanedLocks.Watch(replica, key, request.ProposedLockId, lockTimeout);
                Failed(i, ex);
                continue;
            }

            if (read.Status != StoreStatus.Ok)
            {
                if (read.Status == StoreStatus.NotFound)
                {
                    // Not created with the lock (a handover's read): no lock for us here, but an answer.
                    Answered(i, null);
                    missing++;
                    continue;
                }

                RefusedBy = replica;
                await ReleaseAsync(key).ConfigureAwait(false);
                return read.Status;
            }

            _state[i].LockId = read.Lock.LockId;
            TookOver |= read.TookOver;
            Answered(i, read.Item);
            locked++;
        }

        if (locked < Majority)
        {
            await ReleaseAsync(key).ConfigureAwait(false);
            // A majority without the item: an acknowledged state would be on at least one of them.
            return missing >= Majority ? StoreStatus.NotFound : null;
        }

        await WriteBackAsync(key).ConfigureAwait(false);
        return StoreStatus.Ok;
    }

    /// <summary>
    /// Reads the session from a majority of the replicas without locking, asking the healthy ones in list order
    /// and the next ones when some fail, and writes the highest version back to those found behind, so no later
    /// majority read can return an older state. False when too few replicas answered.
    /// </summary>
    public async ValueTask<bool> ReadAsync(SessionKey key, INodeHealthView health, CancellationToken cancellationToken)
    {
        var answered = 0;
        var next = 0;
        var pending = new List<(int Index, Task<SessionReadResult> Read)>(Majority);
        while (answered < Majority)
        {
            // Ask as many more healthy replicas as answers are still missing, all at once.
            for (; next < _replicas.Length && pending.Count < Majority - answered; next++)
            {
                if (health.IsHealthy(_replicas[next].Id))
                {
                    pending.Add((next, _replicas[next].Store.GetAsync(key, cancellationToken).AsTask()));
                }
            }

            if (pending.Count == 0)
            {
                return false;
            }

            foreach (var (index, read) in pending)
            {
                try
                {
                    var answer = await read.ConfigureAwait(false);
                    Answered(index, answer.Status == StoreStatus.Ok ? answer.Item : null);
                    answered++;
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    throw;
                }
#pragma warning disable CA1031 // A failing replica is skipped; the next one of the list is asked instead.
                catch (Exception ex)
#pragma warning restore CA1031
                {
                    Failed(index, ex);
                }
            }

            pending.Clear();
        }

        await WriteBackAsync(key).ConfigureAwait(false);
        return true;
    }

    /// <summary>
    /// Writes <paramref name="data"/> with a version above every version this request read (and not below the
    /// clock's milliseconds, so a writer that took over an expired lock outranks the late writes of the holder it
    /// replaced): with the lock to the replicas this request locked (which releases them), as a plain versioned
    /// write to the other healthy ones. <see cref="StoreStatus.Ok"/> once a majority applied it;
    /// <see cref="StoreStatus.LockMismatch"/> when a replica showed a newer writer took over; <c>null</c> when
    /// fewer than a majority applied it (not saved: the replicas that did keep an unacknowledged version).
    /// </summary>
    public async ValueTask<StoreStatus?> WriteAsync(SessionKey key, ReadOnlyMemory<byte> data, TimeSpan timeout, long clockMilliseconds, INodeHealthView health)
    {
        var version = Math.Max(LatestVersion + 1, clockMilliseconds);
        var writes = new List<(int Index, Task<SessionWriteResult> Write)>(_replicas.Length);
        for (var i = 0; i < _replicas.Length; i++)
        {
            var lockId = _state[i].LockId;
            if (lockId != 0 || (_state[i].Outcome != Outcome.Failed && health.IsHealthy(_replicas[i].Id)))
            {
                var write = new SessionWrite(data, timeout, lockId != 0 ? lockId : null, Version: version);
                writes.Add((i, _replicas[i].Store.SetAsync(key, write, CancellationToken.None).AsTask()));
            }
        }

        var applied = 0;
        var superseded = false;
        foreach (var (index, write) in writes)
        {
            var lockId = _state[index].LockId;
            _state[index].LockId = 0;
            try
            {
                var answer = await write.ConfigureAwait(false);
                switch (answer.Status)
                {
                    case StoreStatus.Ok:
                        applied++;
                        break;
                    case StoreStatus.LockMismatch or StoreStatus.VersionConflict:
                        // A newer writer holds or wrote this replica: this request's lock was taken over.
                        superseded = true;
                        RefusedBy ??= _replicas[index];
                        break;
                    default:
                        // Refused (size, capacity): a lock the write did not release is still ours to give back.
                        _state[index].LockId = lockId;
                        RefusedBy ??= _replicas[index];
                        break;
                }
            }
#pragma warning disable CA1031 // A failing replica does not apply the write; the majority decides.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                Failed(index, ex);
            }
        }

        if (superseded)
        {
            return StoreStatus.LockMismatch;
        }

        if (applied >= Majority)
        {
            Latest = new SessionItem(data, version, timeout, IsUninitialized: false);
            return StoreStatus.Ok;
        }

        return null;
    }

    /// <summary>Gives back every lock this request holds; a replica that fails keeps its lock until the lock timeout.</summary>
    public async ValueTask ReleaseAsync(SessionKey key)
    {
        for (var i = 0; i < _state.Length; i++)
        {
            var lockId = _state[i].LockId;
            if (lockId == 0)
            {
                continue;
            }

            _state[i].LockId = 0;
            try
            {
                await _replicas[i].Store.ReleaseAsync(key, lockId, CancellationToken.None).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // The replica is failing (its store recorded it); its lock expires with the lock timeout.
            catch (Exception)
#pragma warning restore CA1031
            {
            }
        }
    }

    /// <summary>
    /// Brings the replicas that answered with an older version up to <see cref="Latest"/>, without their locks
    /// (a versioned write is applied whoever holds the lock and leaves it in place). A replica that restarted
    /// empty or missed writes while it hung is repaired here by the first request that reads it.
    /// </summary>
    private async ValueTask WriteBackAsync(SessionKey key)
    {
        Repaired = 0;
        if (Latest is not { IsUninitialized: false } latest)
        {
            // Nothing, or only an empty item a lock created: there is no state to carry.
            return;
        }

        List<(int Index, Task<SessionWriteResult> Write)>? writes = null;
        for (var i = 0; i < _replicas.Length; i++)
        {
            if (_state[i].Outcome == Outcome.Answered && _state[i].Version < latest.Version)
            {
                var write = new SessionWrite(latest.Data, latest.Timeout, Version: latest.Version);
                (writes ??= []).Add((i, _replicas[i].Store.SetAsync(key, write, CancellationToken.None).AsTask()));
            }
        }

        if (writes is null)
        {
            return;
        }

        foreach (var (index, write) in writes)
        {
            try
            {
                if ((await write.ConfigureAwait(false)).Status == StoreStatus.Ok)
                {
                    _state[index].Version = latest.Version;
                    Repaired++;
                }
            }
#pragma warning disable CA1031 // A replica that fails the write-back stays behind; the next majority read outvotes it.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                Failed(index, ex);
            }
        }
    }

    private void Answered(int index, SessionItem? item)
    {
        _state[index].Outcome = Outcome.Answered;
        _state[index].Version = item?.Version ?? 0;
        if (item is not null && IsNewer(item, Latest))
        {
            Latest = item;
        }
    }

    private void Failed(int index, Exception error)
    {
        _state[index].Outcome = Outcome.Failed;
        _state[index].LockId = 0;
        LastFailedNode = _replicas[index].Id;
        LastError = error.Message;
    }

    // Of two items with the same version, one that holds state beats an empty one (an item the lock created).
    private static bool IsNewer(SessionItem item, SessionItem? than)
        => than is null
           || item.Version > than.Version
           || (item.Version == than.Version && !item.Data.IsEmpty && than.Data.IsEmpty);

    private enum Outcome
    {
        NotAsked,
        Answered,
        Failed,
    }

    private struct Replica
    {
        public Outcome Outcome;
        public long Version;
        public long LockId;
    }
}
