using SessionRouter.Core.Storage;
using SessionRouter.Gateway.Nodes;
using SessionRouter.Gateway.Replication;

namespace SessionRouter.Gateway.Leases;

/// <summary>
/// A session this gateway keeps between requests: the session's lock, held on its node (or on a majority of its
/// replica set) under the lease's lock id, and the state last loaded or saved under it. Read-write requests of the
/// session on this gateway take <see cref="Gate"/> in turn (an in-process lock in place of the store's); read-only
/// requests read <see cref="TryRead"/> without waiting.
/// </summary>
/// <remarks>
/// The fields below the gate are written only by whoever holds <see cref="Gate"/>. A lease is trusted until a
/// little before its lock could be taken over (<see cref="ValidUntil"/>, counted from when the request that took or
/// renewed the lock sent it, so always before the node's own count ends), and never after it was revoked.
/// </remarks>
internal sealed class SessionLease(SessionKey key)
{
    private LeasedState? _state;
    private int _revoked;

    public SessionKey Key { get; } = key;

    /// <summary>The in-process lock of the session's read-write requests on this gateway.</summary>
    public SemaphoreSlim Gate { get; } = new(1, 1);

    /// <summary>Taken out of the table: a request that waited for the gate starts over with a new lease.</summary>
    public bool Removed { get; set; }

    /// <summary>
    /// The lease's lock id: proposed by the request that takes the lock, so a node's announcement of a waiter can
    /// name it before that request has its answer.
    /// </summary>
    public long LockId { get; set; }

    /// <summary>The configuration revision the lock was taken under; the node indexes and replica set belong to it.</summary>
    public long Revision { get; set; }

    /// <summary>With one replica: the node holding the lock (index into the revision's nodes) and that node.</summary>
    public int Node { get; set; } = -1;

    public StateNodeHandle? NodeHandle { get; set; }

    /// <summary>With several replicas: the set holding the locks (a majority of it), with the last version written.</summary>
    public ReplicaQuorum? Quorum { get; set; }

    /// <summary>When the request that took or last renewed the lock sent it (Unix ms): the floor of the next version.</summary>
    public long RenewedAtMilliseconds { get; set; }

    /// <summary>How long a lock of the lease's revision lasts at most: how long a lock its release missed is watched for.</summary>
    public TimeSpan LockTimeout { get; set; }

    /// <summary>The bytes the table counts for this lease.</summary>
    public long Bytes { get; set; }

    /// <summary>The lease's place in the table's least-recently-used order.</summary>
    public LinkedListNode<SessionLease>? Recency { get; set; }

    /// <summary>The store's locks are held for this lease.</summary>
    public bool Held => _state is not null;

    /// <summary>A node announced a waiter for this lease's lock: it is given up once no request uses it.</summary>
    public bool Revoked => Volatile.Read(ref _revoked) != 0;

    /// <summary>Names the lock the next lock-taking read proposes; a revocation of the lease's earlier lock no longer counts.</summary>
    public void StartLock(long lockId)
    {
        LockId = lockId;
        Volatile.Write(ref _revoked, 0);
    }

    /// <summary>Marks the lease revoked; true the first time.</summary>
    public bool Revoke() => Interlocked.Exchange(ref _revoked, 1) == 0;

    /// <summary>Until when (time provider ticks) the lease may serve from memory; 0 when it holds nothing.</summary>
    public long ValidUntil => Volatile.Read(ref _state)?.ValidUntil ?? 0;

    /// <summary>The state to serve without a store call, when the lease holds one for this revision and is still valid.</summary>
    public bool TryRead(long revision, long nowTicks, out ReadOnlyMemory<byte> state)
    {
        var held = Volatile.Read(ref _state);
        if (held is not null && held.Revision == revision && nowTicks < held.ValidUntil && !Revoked)
        {
            state = held.Data;
            return true;
        }

        state = default;
        return false;
    }

    /// <summary>Holds <paramref name="data"/> under the lease until <paramref name="validUntil"/>; under the gate.</summary>
    public void Hold(ReadOnlyMemory<byte> data, long validUntil) => Volatile.Write(ref _state, new LeasedState(data, validUntil, Revision));

    /// <summary>Forgets the state and the locks (they were released or lost); under the gate.</summary>
    public void Clear()
    {
        Volatile.Write(ref _state, null);
        Quorum = null;
        NodeHandle = null;
        Node = -1;
    }

    // One immutable value, swapped whole: a read-only request sees a state and its validity together.
    private sealed record LeasedState(ReadOnlyMemory<byte> Data, long ValidUntil, long Revision);
}
