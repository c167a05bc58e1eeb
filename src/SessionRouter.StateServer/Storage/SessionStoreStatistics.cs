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
