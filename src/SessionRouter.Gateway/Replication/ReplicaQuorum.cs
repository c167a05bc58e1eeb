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
/// <remarks>
/// An in-memory node that restarted answers without the item, which would outvote the replicas that kept it:
/// an answer without the session's state is therefore no vote, and the replicas after it in the list are asked
/// too until a majority answered with the state, or every replica did. Not thread-safe: one request uses it,
/// one step after the other.
/// </remarks>
internal sealed class ReplicaQuorum
{
    /// <summary>
    /// Versions a writer assigns are at least the Unix milliseconds of its clock; a store counts its own from 1.
    /// An item at or above this version (2001-09-09 in Unix milliseconds) was written by a writer, even when its
    /// state is empty (an abandoned session).
    /// </summary>
    public const long FirstWriterVersion = 1_000_000_000_000;

    private readonly StateNodeHandle[] _replicas;
    private readonly Replica[] _state;
    private readonly SessionKey _key;
    private readonly OrphanedLockReleaser _orphanedLocks;
    private readonly TimeSpan _lockTimeout;

    private ReplicaQuorum(StateNodeHandle[] replicas, SessionKey key, OrphanedLockReleaser orphanedLocks, TimeSpan lockTimeout)
    {
        _replicas = replicas;
        _key = key;
        _state = new Replica[replicas.Length];
        _orphanedLocks = orphanedLocks;
        _lockTimeout = lockTimeout;
    }

    /// <summary>
    /// The replica set of the session <paramref name="key"/> in the map of <paramref name="resolver"/> (index-aligned
    /// <paramref name="nodes"/>). With <paramref name="sharedWith"/> (the set in force, when this is a replaced map's
    /// set) a replica both sets hold is never written or released through this one, and what the set in force read
    /// and locked there counts here too: the request never waits for its own lock.
    /// </summary>
    public static ReplicaQuorum For(
        IPartitionResolver resolver,
        StateNodeHandle[] nodes,
        SessionKey key,
        int replicationFactor,
        OrphanedLockReleaser orphanedLocks,
        TimeSpan lockTimeout,
        ReplicaQuorum? sharedWith = null)
    {
        var count = Math.Clamp(replicationFactor, 1, nodes.Length);
        Span<int> list = stackalloc int[count];
        resolver.GetPreferenceList(key.SessionId, list);
        var replicas = new StateNodeHandle[count];
        for (var i = 0; i < count; i++)
        {
            replicas[i] = nodes[list[i]];
        }

        var quorum = new ReplicaQuorum(replicas, key, orphanedLocks, lockTimeout);
        if (sharedWith is not null)
        {
            quorum.Share(sharedWith);
        }

        return quorum;
    }

    /// <summary>How many replicas must hold a lock, answer a read or apply a write: more than half of the set.</summary>
    public int Majority => (_replicas.Length / 2) + 1;

    /// <summary>The first replica of the set (the session's primary), named in log lines.</summary>
    public StateNodeHandle Primary => _replicas[0];

    /// <summary>The item with the highest version the last read found; null when no replica had one.</summary>
    public SessionItem? Latest { get; private set; }

    /// <summary>The highest version the reads of this request found (0: none).</summary>
    public long LatestVersion => Latest?.Version ?? 0;

    /// <summary>Some replica holds the session: a state, or the empty state of an abandon (a writer's version).</summary>
    public bool HoldsSession => Latest is { } latest && IsVote(latest);

    /// <summary>True while this request holds the lock on at least one replica.</summary>
    public bool HoldsLocks => LockedCount > 0;

    /// <summary>On how many replicas the lock is held; a lease needs a majority.</summary>
    public int LockedCount
    {
        get
        {
            var count = 0;
            foreach (var replica in _state)
            {
                count += replica.LockId != 0 ? 1 : 0;
            }

            return count;
        }
    }

    /// <summary>A lock was taken over from a holder older than the lock timeout.</summary>
    public bool TookOver { get; private set; }

    /// <summary>How many replicas the last write-back brought up to <see cref="LatestVersion"/>.</summary>
    public int Repaired { get; private set; }

    /// <summary>The last replica that failed and why, for the log line of a quorum that could not be reached.</summary>
    public string? LastFailedNode { get; private set; }

    public string? LastError { get; private set; }

    /// <summary>The replica whose answer refused the operation (a busy lock, a newer writer, a full store).</summary>
    public StateNodeHandle? RefusedBy { get; private set; }

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

    /// <summary>
    /// Takes the lock on a majority of the replicas, in list order, skipping those health marks down, that fail
    /// now or that refuse for capacity, and reads the session from them; when a locked replica answered without
    /// the state, the next ones are locked and read too (see the remarks). <see cref="StoreStatus.Ok"/> once a
    /// majority is locked (the behind ones already written back); <see cref="StoreStatus.NotFound"/> when a
    /// majority answered without the item and the request does not create it (no lock is held); the refusing
    /// replica's lock status when one did not grant the lock in time (the locks taken are given back);
    /// <c>null</c> when too few replicas answered (given back too).
    /// </summary>
    public async ValueTask<StoreStatus?> LockAndReadAsync(SessionKey key, LockRequest request, INodeHealthView health)
    {
        var locked = 0;
        var lockedWithoutState = 0;
        var missing = 0;
        for (var i = 0; i < _replicas.Length; i++)
        {
            if (_state[i].Adopted)
            {
                // Read and locked by the set in force: counted, never asked again.
                locked += _state[i].AdoptedLock ? 1 : 0;
                lockedWithoutState += _state[i].AdoptedLock && !_state[i].HasState ? 1 : 0;
            }
        }

        // Enough: a majority locked, and a majority of answers carrying the state or none without it.
        for (var i = 0; i < _replicas.Length && !(locked >= Majority && (lockedWithoutState == 0 || locked - lockedWithoutState >= Majority)) && missing < Majority; i++)
        {
            var replica = _replicas[i];
            if (_state[i].Adopted || !health.IsHealthy(replica.Id))
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
                _orphanedLocks.Watch(replica, key, request.ProposedLockId, _lockTimeout);
                Failed(i, ex.Message);
                continue;
            }

            switch (read.Status)
            {
                case StoreStatus.Ok:
                    _state[i].LockId = read.Lock.LockId;
                    TookOver |= read.TookOver;
                    Answered(i, read.Item);
                    locked++;
                    lockedWithoutState += _state[i].HasState ? 0 : 1;
                    break;
                case StoreStatus.NotFound:
                    // Not created with the lock (a store that does not): an answer without a lock.
                    Answered(i, null);
                    missing++;
                    break;
                case StoreStatus.Locked or StoreStatus.WaitTimeout or StoreStatus.QueueFull:
                    RefusedBy = replica;
                    await ReleaseAsync(key).ConfigureAwait(false);
                    return read.Status;
                default:
                    // A full store cannot create the item to lock: like a failed replica, the others decide.
                    Failed(i, $"answered {read.Status}");
                    break;
            }
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
    /// (and the next ones when some fail or answer without the state), and writes the highest version back to
    /// those found behind, so no later majority read can return an older state. False when too few answered.
    /// </summary>
    public async ValueTask<bool> ReadAsync(SessionKey key, INodeHealthView health, CancellationToken cancellationToken)
    {
        var answered = 0;
        var withoutState = 0;
        for (var i = 0; i < _replicas.Length; i++)
        {
            if (_state[i].Adopted)
            {
                answered++;
                withoutState += _state[i].HasState ? 0 : 1;
            }
        }

        var next = 0;
        var pending = new List<(int Index, Task<SessionReadResult> Read)>(Majority);
        while (answered < Majority || (withoutState > 0 && answered - withoutState < Majority))
        {
            // Ask as many more healthy replicas as answers are still wanted, all at once.
            var wanted = Math.Max(Majority - answered, Majority - (answered - withoutState));
            for (; next < _replicas.Length && pending.Count < wanted; next++)
            {
                if (!_state[next].Adopted && health.IsHealthy(_replicas[next].Id))
                {
                    pending.Add((next, _replicas[next].Store.GetAsync(key, cancellationToken).AsTask()));
                }
            }

            if (pending.Count == 0)
            {
                break;
            }

            // Every read is awaited before a cancellation is let through, so none fails unobserved.
            await Task.WhenAll(pending.Select(p => (Task)p.Read)).ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default).ConfigureAwait(false);
            foreach (var (index, read) in pending)
            {
                if (read.IsCompletedSuccessfully)
                {
                    var answer = read.Result;
                    Answered(index, answer.Status == StoreStatus.Ok ? answer.Item : null);
                    answered++;
                    withoutState += _state[index].HasState ? 0 : 1;
                }
                else
                {
                    Failed(index, read.Exception?.GetBaseException().Message ?? "cancelled");
                }
            }

            pending.Clear();
            cancellationToken.ThrowIfCancellationRequested();

            // Answers without the state only call for more while replicas are left to ask.
            if (answered >= Majority && next >= _replicas.Length)
            {
                break;
            }
        }

        if (answered < Majority)
        {
            return false;
        }

        await WriteBackAsync(key).ConfigureAwait(false);
        return true;
    }

    /// <summary>
    /// Writes <paramref name="data"/> with a version above every version this request read and not below
    /// <paramref name="versionFloor"/> (the clock's milliseconds when the lock was taken, so a writer that took
    /// over an expired lock outranks the late writes of the holder it replaced): with the lock to the replicas this
    /// request locked (which releases them, or with <paramref name="keepLocks"/> keeps and renews them: a lease), as a
    /// plain versioned write to the other healthy ones.
    /// <see cref="StoreStatus.Ok"/> once a majority applied it; <see cref="StoreStatus.LockMismatch"/> when a
    /// replica this request locked showed a newer writer took over; a store's refusal (size, capacity) when it
    /// kept the write from a majority; <c>null</c> when too few replicas answered (not saved: the replicas that
    /// did apply it keep an unacknowledged version).
    /// </summary>
    public async ValueTask<StoreStatus?> WriteAsync(SessionKey key, ReadOnlyMemory<byte> data, TimeSpan timeout, long versionFloor, INodeHealthView health, bool keepLocks = false)
    {
        var version = Math.Max(LatestVersion + 1, versionFloor);
        var writes = new List<(int Index, long LockId, Task<SessionWriteResult> Write)>(_replicas.Length);
        for (var i = 0; i < _replicas.Length; i++)
        {
            var lockId = _state[i].LockId;
            if (!_state[i].Shared && (lockId != 0 || (_state[i].Outcome != Outcome.Failed && health.IsHealthy(_replicas[i].Id))))
            {
                var write = new SessionWrite(data, timeout, lockId != 0 ? lockId : null, Version: version, KeepLock: keepLocks && lockId != 0);
                writes.Add((i, lockId, _replicas[i].Store.SetAsync(key, write, CancellationToken.None).AsTask()));
            }
        }

        // A replica the set in force shares (this is a replaced map's set) already holds the copy written forward,
        // under a higher version than anything of this set: it counts as holding this set's newest write.
        var applied = _state.Count(replica => replica.Shared);
        var superseded = false;
        StoreStatus? refused = null;
        foreach (var (index, lockId, write) in writes)
        {
            try
            {
                var answer = await write.ConfigureAwait(false);
                switch (answer.Status)
                {
                    case StoreStatus.Ok:
                        // Set-and-release gave the lock back; a lease's write kept it.
                        _state[index].LockId = keepLocks ? lockId : 0;
                        applied++;
                        break;
                    case StoreStatus.LockMismatch when lockId != 0:
                        // A newer writer took this request's lock over: the lock is no longer ours.
                        _state[index].LockId = 0;
                        superseded = true;
                        RefusedBy ??= _replicas[index];
                        break;
                    case StoreStatus.VersionConflict when lockId != 0:
                        // A newer version under this request's own lock: written by a writer that took over meanwhile.
                        superseded = true;
                        RefusedBy ??= _replicas[index];
                        break;
                    case StoreStatus.VersionConflict or StoreStatus.LockMismatch or StoreStatus.Locked:
                        // A replica this request did not lock is ahead or busy: it does not count, and decides nothing.
                        break;
                    default:
                        refused ??= answer.Status;
                        RefusedBy ??= _replicas[index];
                        break;
                }
            }
#pragma warning disable CA1031 // A failing replica does not apply the write; the majority decides.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                Failed(index, ex.Message);
            }
        }

        if (applied >= Majority)
        {
            Latest = new SessionItem(data, version, timeout, IsUninitialized: false);
            return StoreStatus.Ok;
        }

        return superseded ? StoreStatus.LockMismatch : refused;
    }

    /// <summary>
    /// Lets a lease's next write try the replicas an earlier request of the lease found failing, when health says
    /// they are back: the set outlives one request.
    /// </summary>
    public void ForgetFailures()
    {
        for (var i = 0; i < _state.Length; i++)
        {
            if (_state[i].Outcome == Outcome.Failed)
            {
                _state[i].Outcome = Outcome.NotAsked;
            }
        }

        RefusedBy = null;
        TookOver = false;
        Repaired = 0;
    }

    /// <summary>Gives back every lock this request holds; a replica that fails is watched until its lock can be released or has expired.</summary>
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
#pragma warning disable CA1031 // The replica is failing (its store recorded it); the releaser gives the lock back once it answers.
            catch (Exception)
#pragma warning restore CA1031
            {
                _orphanedLocks.Watch(_replicas[i], key, lockId, _lockTimeout);
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
        if (Latest is not { } latest || !IsVote(latest))
        {
            // Nothing, or only an empty item a lock created: there is no state to carry.
            return;
        }

        List<(int Index, Task<SessionWriteResult> Write)>? writes = null;
        for (var i = 0; i < _replicas.Length; i++)
        {
            if (!_state[i].Shared && _state[i].Outcome == Outcome.Answered && _state[i].Version < latest.Version)
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
                    _state[index].HasState = true;
                    Repaired++;
                }
            }
#pragma warning disable CA1031 // A replica that fails the write-back stays behind; the next majority read outvotes it.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                Failed(index, ex.Message);
            }
        }
    }

    private void Share(ReplicaQuorum current)
    {
        for (var i = 0; i < _replicas.Length; i++)
        {
            for (var j = 0; j < current._replicas.Length; j++)
            {
                if (!string.Equals(_replicas[i].Id, current._replicas[j].Id, StringComparison.Ordinal))
                {
                    continue;
                }

                _state[i].Shared = true;
                if (current._state[j].Outcome == Outcome.Answered)
                {
                    _state[i].Adopted = true;
                    _state[i].AdoptedLock = current._state[j].LockId != 0;
                    _state[i].Outcome = Outcome.Answered;
                    _state[i].Version = current._state[j].Version;
                    _state[i].HasState = current._state[j].HasState;
                }
            }
        }
    }

    private void Answered(int index, SessionItem? item)
    {
        _state[index].Outcome = Outcome.Answered;
        _state[index].Version = item?.Version ?? 0;
        _state[index].HasState = item is not null && IsVote(item);
        if (item is not null && IsNewer(item, Latest))
        {
            Latest = item;
        }
    }

    /// <summary>The replica failed or refused: it does not count; a lock this request held there is watched until it can be given back.</summary>
    private void Failed(int index, string error)
    {
        _state[index].Outcome = Outcome.Failed;
        var lockId = _state[index].LockId;
        if (lockId != 0)
        {
            _state[index].LockId = 0;
            _orphanedLocks.Watch(_replicas[index], _key, lockId, _lockTimeout);
        }

        LastFailedNode = _replicas[index].Id;
        LastError = error;
    }

    // An answer carries the session when it holds state or a writer's version (an abandon's empty state).
    private static bool IsVote(SessionItem item) => !item.Data.IsEmpty || item.Version >= FirstWriterVersion;

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

        // The answer carried the session (see IsVote).
        public bool HasState;

        // Also a replica of the set in force: never written or released through this set.
        public bool Shared;

        // Read (and, AdoptedLock, locked) by the set in force for this request.
        public bool Adopted;
        public bool AdoptedLock;
    }
}
