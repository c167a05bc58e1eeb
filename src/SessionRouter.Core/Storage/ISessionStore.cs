namespace SessionRouter.Core.Storage;

/// <summary>
/// The session store contract: the operations of the classic session-state provider, asynchronous and
/// versioned. Implemented by the built-in engine (in process and through its protocol client) and by
/// Redis. Every implementation passes the same contract test suite.
/// </summary>
/// <remarks>
/// Semantic outcomes are <see cref="StoreStatus"/> values. A node that cannot be reached or does not
/// answer in time throws <see cref="SessionStoreUnavailableException"/>; nothing else is thrown for
/// store-side conditions. Every successful read or write slides the item's expiry.
/// </remarks>
public interface ISessionStore
{
    /// <summary>Reads an item without locking it and without waiting for a lock holder.</summary>
    ValueTask<SessionReadResult> GetAsync(SessionKey key, CancellationToken cancellationToken = default);

    /// <summary>Reads an item and takes its exclusive lock (get-exclusive).</summary>
    ValueTask<SessionReadResult> GetExclusiveAsync(SessionKey key, LockRequest request, CancellationToken cancellationToken = default);

    /// <summary>Writes an item; with a lock id, only as the lock holder, and releases the lock (set-and-release).</summary>
    ValueTask<SessionWriteResult> SetAsync(SessionKey key, SessionWrite write, CancellationToken cancellationToken = default);

    /// <summary>Releases the lock without writing; refused with <see cref="StoreStatus.LockMismatch"/> for another holder's lock id.</summary>
    ValueTask<SessionWriteResult> ReleaseAsync(SessionKey key, long lockId, CancellationToken cancellationToken = default);

    /// <summary>Removes an item; with a lock id, only as the lock holder. Without one, refused while locked.</summary>
    ValueTask<SessionWriteResult> RemoveAsync(SessionKey key, long? lockId, CancellationToken cancellationToken = default);

    /// <summary>Slides an item's expiry without reading or writing it.</summary>
    ValueTask<SessionWriteResult> TouchAsync(SessionKey key, CancellationToken cancellationToken = default);

    /// <summary>Creates an empty, uninitialized item; never overwrites an existing one (<see cref="StoreStatus.AlreadyExists"/>).</summary>
    ValueTask<SessionWriteResult> CreateUninitializedAsync(SessionKey key, TimeSpan timeout, CancellationToken cancellationToken = default);
}
