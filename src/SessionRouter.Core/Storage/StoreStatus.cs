namespace SessionRouter.Core.Storage;

/// <summary>
/// The outcome of a store operation. Transport failures (an unreachable node, a timeout) are not
/// statuses: they throw <see cref="SessionStoreUnavailableException"/>.
/// </summary>
public enum StoreStatus
{
    /// <summary>The operation was applied.</summary>
    Ok = 0,

    /// <summary>No item exists for the key (never created, removed or expired).</summary>
    NotFound,

    /// <summary>Another caller holds the session's exclusive lock; <c>Lock</c> describes it.</summary>
    Locked,

    /// <summary>
    /// The caller's lock id is not the item's current lock: the lock was taken over after the lock
    /// timeout, released, or never held. A write carrying that lock id was refused, not applied.
    /// </summary>
    LockMismatch,

    /// <summary>A conditional write named a version that is not the item's current version.</summary>
    VersionConflict,

    /// <summary>A create-only write (create-uninitialized, or expected version 0) found an existing item.</summary>
    AlreadyExists,

    /// <summary>The item is larger than the store's maximum item size.</summary>
    TooLarge,

    /// <summary>The store's memory cap is reached; new sessions are refused until memory is freed.</summary>
    CapacityExceeded,

    /// <summary>A lock wait ended at its wait timeout without the lock being released.</summary>
    WaitTimeout,

    /// <summary>Too many callers already wait for this session's lock.</summary>
    QueueFull,
}
