namespace SessionRouter.Core.Storage;

/// <summary>
/// The result of <see cref="ISessionStore.GetAsync"/> and <see cref="ISessionStore.GetExclusiveAsync"/>.
/// </summary>
/// <param name="Status">
/// <see cref="StoreStatus.Ok"/> with <paramref name="Item"/>; <see cref="StoreStatus.NotFound"/>;
/// for an exclusive read also <see cref="StoreStatus.Locked"/>, <see cref="StoreStatus.WaitTimeout"/>,
/// <see cref="StoreStatus.QueueFull"/> or <see cref="StoreStatus.CapacityExceeded"/>.
/// </param>
/// <param name="Item">The item when the read succeeded.</param>
/// <param name="Lock">
/// After a successful exclusive read: the caller's new lock. After <see cref="StoreStatus.Locked"/>
/// or <see cref="StoreStatus.WaitTimeout"/>: the holder's lock. After a plain read: the current holder's
/// lock, if any (a plain read never waits and never takes a lock).
/// </param>
/// <param name="TookOver">True when the caller's lock replaced a lock older than the lock timeout.</param>
public readonly record struct SessionReadResult(StoreStatus Status, SessionItem? Item, SessionLock Lock, bool TookOver = false)
{
    public static SessionReadResult NotFound { get; } = new(StoreStatus.NotFound, null, default);
}

/// <summary>The result of a write, release, remove, touch or create.</summary>
/// <param name="Status">The outcome.</param>
/// <param name="Version">After a successful write or create: the item's new version.</param>
/// <param name="Lock">After <see cref="StoreStatus.LockMismatch"/> or <see cref="StoreStatus.Locked"/>: the current holder's lock, if any.</param>
public readonly record struct SessionWriteResult(StoreStatus Status, long Version = 0, SessionLock Lock = default)
{
    public bool Succeeded => Status == StoreStatus.Ok;
}
