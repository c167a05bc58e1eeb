namespace SessionRouter.Core.Storage;

/// <summary>
/// How an exclusive read takes the session's lock.
/// </summary>
/// <param name="WaitTimeout">
/// How long to wait for the current holder to release. <see cref="TimeSpan.Zero"/> answers
/// <see cref="StoreStatus.Locked"/> at once (the classic behaviour). A waiting caller is woken by the
/// store when the lock is released (no polling), in arrival order.
/// </param>
/// <param name="LockTimeout">
/// A lock older than this may be taken over by this caller; the old holder's later writes are then
/// refused with <see cref="StoreStatus.LockMismatch"/>. <c>null</c> uses the store's default.
/// </param>
/// <param name="CreateIfMissing">
/// When the item does not exist, create an empty uninitialized item with <paramref name="ItemTimeout"/>
/// and lock it in the same step, so that concurrent first requests of a session serialize too.
/// </param>
/// <param name="ItemTimeout">The sliding expiry for an item this request creates.</param>
/// <param name="ProposedLockId">
/// When positive, the id the lock gets when this request is granted it (the caller's own random 63-bit
/// number, unique per request). A caller that gave up on the reply (a timeout, a node that hung) still knows
/// the id and can release a lock granted after it left (<see cref="ISessionStore.ReleaseAsync"/>), so no lock
/// is orphaned. 0 lets the store choose.
/// </param>
public readonly record struct LockRequest(
    TimeSpan WaitTimeout,
    TimeSpan? LockTimeout = null,
    bool CreateIfMissing = false,
    TimeSpan ItemTimeout = default,
    long ProposedLockId = 0)
{
    /// <summary>Answer at once when the session is locked; never take over.</summary>
    public static LockRequest NoWait { get; } = new(TimeSpan.Zero);
}
