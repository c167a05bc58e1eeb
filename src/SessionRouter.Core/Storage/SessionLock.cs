namespace SessionRouter.Core.Storage;

/// <summary>
/// An exclusive lock on a session item. <see cref="LockId"/> is what the holder presents to write or
/// release; <see cref="Age"/> and <see cref="AcquiredAt"/> are computed on the store's own clock.
/// </summary>
public readonly record struct SessionLock(long LockId, DateTimeOffset AcquiredAt, TimeSpan Age)
{
    /// <summary>True when this value describes a lock (lock id 0 is never issued).</summary>
    public bool IsHeld => LockId != 0;
}
