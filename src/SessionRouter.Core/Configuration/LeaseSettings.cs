namespace SessionRouter.Core.Configuration;

/// <summary>
/// Section <c>SessionRouter:Leases</c>: a gateway that serves a session's read-write request keeps the session's
/// lock afterwards as a lease, with the state in its memory, so the session's next requests on that gateway skip
/// the load (read-write) or every store call (read-only). docs/design.md describes the protocol.
/// </summary>
public sealed class LeaseSettings
{
    /// <summary>Keep sessions under a lease. Off: every request loads from its nodes, and locks last one request.</summary>
    public bool Enabled { get; set; }

    /// <summary>
    /// How long a lease lasts after its last renewal (each save renews it). While leases are on, a lock older than
    /// this may be taken over: it bounds how long the sessions of a gateway that died stay locked, and it is also
    /// how long one request may run before a waiting request of its session may take its lock over. Not longer
    /// than <c>LockTimeout</c>.
    /// </summary>
    public TimeSpan Time { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The memory the leased sessions' states may take, in bytes; past it the least recently used leases are given
    /// up. Each lease is counted with its state and a fixed overhead.
    /// </summary>
    public long MaxBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>
    /// How long a session whose lease a request on another gateway revoked is not leased again by this one: clients
    /// that switch gateway would otherwise pay a revocation on every request. Zero leases such sessions again at once.
    /// </summary>
    public TimeSpan ContentionBackoff { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The age past which a lock may be taken over: the lease time while leases are on, the lock timeout otherwise.</summary>
    public TimeSpan LockTakeoverAge(TimeSpan lockTimeout) => Enabled && Time < lockTimeout ? Time : lockTimeout;
}
