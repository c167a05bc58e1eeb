using System.Diagnostics.CodeAnalysis;

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
/// <param name="Version">
/// When set (positive), the writer assigns the item's version, as a replicated write does: the write is applied
/// only if <paramref name="Version"/> is greater than the item's current version (a missing item counts as 0),
/// and the item then has exactly this version. A version equal to the current one is answered
/// <see cref="StoreStatus.Ok"/> and changes nothing but the expiry (the same write arriving twice, or a repair
/// that raced its writer); a lower one is refused with <see cref="StoreStatus.VersionConflict"/>, the current
/// version in the result. With <paramref name="LockId"/> the lock rules apply first; an Ok (newer or equal)
/// releases the lock, a refusal keeps it for the caller to release. Without one the write neither needs nor touches the lock: it
/// is a repair, carrying a version some lock holder already wrote. Never together with
/// <paramref name="ExpectedVersion"/>.
/// </param>
/// <param name="KeepLock">
/// With <paramref name="LockId"/> only: a write that is applied (or answered <see cref="StoreStatus.Ok"/> as an
/// equal version) keeps the lock for its holder instead of releasing it, and the lock's age starts again from
/// now, as if it had just been granted. A gateway's lease on a session is renewed this way by each save; a
/// refusal leaves the lock as any refused write does.
/// </param>
public readonly record struct SessionWrite(
    ReadOnlyMemory<byte> Data,
    TimeSpan Timeout,
    long? LockId = null,
    long? ExpectedVersion = null,
    long? Version = null,
    bool KeepLock = false)
{
    /// <summary>
    /// Throws <see cref="ArgumentException"/> for a write no store accepts: a <see cref="Version"/> that is not
    /// positive, or one together with <see cref="ExpectedVersion"/>; <see cref="KeepLock"/> without a
    /// <see cref="LockId"/>. Every store and the engine's client check before anything is sent or applied; a
    /// plain write costs two tests.
    /// </summary>
    public void ThrowIfInvalid()
    {
        if (Version is { } version && (version <= 0 || ExpectedVersion is not null))
        {
            ThrowInvalid(version);
        }

        if (KeepLock && LockId is null)
        {
            ThrowKeepLockWithoutLock();
        }
    }

    [DoesNotReturn]
    private static void ThrowKeepLockWithoutLock() =>
        throw new ArgumentException("KeepLock keeps the writer's lock: it needs the LockId of that lock.");

    [DoesNotReturn]
    private static void ThrowInvalid(long version) =>
        throw new ArgumentException(version <= 0
            ? $"A writer-assigned Version must be positive; it is {version}."
            : "A write carries a Version (assigned by the writer) or an ExpectedVersion (a conditional write), never both.");
}
