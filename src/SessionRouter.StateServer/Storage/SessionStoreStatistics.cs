namespace SessionRouter.StateServer.Storage;

/// <summary>A snapshot of the in-memory store's counters (the same figures its metrics publish).</summary>
public readonly record struct SessionStoreStatistics(
    long ActiveSessions,
    long BytesHeld,
    long SessionsCreated,
    long SessionsExpired,
    long SessionsAbandoned,
    long LocksWaited,
    long LockTakeovers,
    long RefusedCapacity,
    long RefusedTooLarge,
    long RefusedQueueFull);

/// <summary>Where an in-memory store stands against its memory cap.</summary>
public enum StoreMemoryLevel
{
    /// <summary>Below the warning level, or no cap configured.</summary>
    Normal,

    /// <summary>At or past <c>MemoryWarningFraction</c> of the cap: new sessions are still taken.</summary>
    Warning,

    /// <summary>A new session was refused at the cap; existing sessions are still served and written.</summary>
    Full,
}
