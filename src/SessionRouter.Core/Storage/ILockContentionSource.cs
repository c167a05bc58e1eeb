namespace SessionRouter.Core.Storage;

/// <summary>
/// A caller began to wait for the lock of <paramref name="Key"/>, held under <paramref name="HolderLockId"/>.
/// A gateway that holds that lock as a lease on the session gives it up when told, so the waiter is served.
/// </summary>
public readonly record struct LockContention(SessionKey Key, long HolderLockId);

/// <summary>
/// A node that tells whoever listens when a caller starts waiting for a held lock: the revocation channel of
/// the gateways' leases. Announcements are best effort (a listener that is slow or not connected misses them);
/// a lease that is not given up ends anyway when its lock grows older than the lock timeout.
/// </summary>
public interface ILockContentionSource
{
    /// <summary>
    /// Yields every contention the node sees from the moment the watch is established until
    /// <paramref name="cancellationToken"/> is cancelled; the enumeration then ends without an exception, so
    /// a watcher that stops on purpose is told apart from a watch that broke. Throws <see cref="SessionStoreUnavailableException"/>
    /// when the node cannot be reached or the watch breaks; the caller watches again.
    /// </summary>
    IAsyncEnumerable<LockContention> WatchContentionAsync(CancellationToken cancellationToken);
}
