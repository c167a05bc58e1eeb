namespace SessionRouter.Core.Storage;

/// <summary>
/// A write of a session item.
/// </summary>
/// <param name="Data">The new state blob.</param>
/// <param name="Timeout">The item's sliding expiry from now on.</param>
/// <param name="LockId">
/// The caller's lock: the write is applied only while that lock is the item's current lock, and it
/// releases the lock (set-and-release). <c>null</c> writes without a lock (an insert of a new item, or
/// an overwrite of an unlocked one) and is refused with <see cref="StoreStatus.Locked"/> while another
/// caller holds the lock.
/// </param>
/// <param name="ExpectedVersion">
/// When set, the write is applied only if the item's current version equals it
/// (<see cref="StoreStatus.VersionConflict"/> otherwise). 0 means "only if no item exists"
/// (<see cref="StoreStatus.AlreadyExists"/> otherwise).
/// </param>
public readonly record struct SessionWrite(
    ReadOnlyMemory<byte> Data,
    TimeSpan Timeout,
    long? LockId = null,
    long? ExpectedVersion = null);
