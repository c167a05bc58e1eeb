namespace SessionRouter.Core.Storage;

/// <summary>
/// The outcome of a store operation. Transport failures (an unreachable node, a timeout) are not
/// statuses: they throw <see cref="SessionStoreUnavailableException"/>.
/// </summary>
/// <remarks>
/// The values are part of two wire formats: the engine's batch answers carry a status as one byte, and the
/// Redis scripts return it as a number (their text is built from these values). Never renumber a member;
/// add new ones with new values.
/// </remarks>
public enum StoreStatus
{
    /// <summary>The operation was applied.</summary>
    Ok = 0,

    /// <summary>No item exists for the key (never created, removed or expired).</summary>
    NotFound = 1,

    /// <summary>Another caller holds the session's exclusive lock; <c>Lock</c> describes it.</summary>
    Locked = 2,

    /// <summary>
    /// The caller's lock id is not the item's current lock: the lock was taken over after the lock
    /// timeout, released, or never held. A write carrying that lock id was refused, not applied.
    /// </summary>
    LockMismatch = 3,

    /// <summary>A conditional write named a version that is not the item's current version.</summary>
    VersionConflict = 4,

    /// <summary>A create-only write (create-uninitialized, or expected version 0) found an existing item.</summary>
    AlreadyExists = 5,

    /// <summary>The item is larger than the store's maximum item size.</summary>
    TooLarge = 6,

    /// <summary>The store's memory cap is reached; new sessions are refused until memory is freed.</summary>
    CapacityExceeded = 7,

    /// <summary>A lock wait ended at its wait timeout without the lock being released.</summary>
    WaitTimeout = 8,

    /// <summary>Too many callers already wait for this session's lock.</summary>
    QueueFull = 9,
}
