namespace SessionRouter.StateServer.Storage;

/// <summary>
/// One stored session. The layout is kept small on purpose (one object plus one exact-size array per
/// idle session): the key's UTF-8 bytes and the state blob share <see cref="Buffer"/>, which is never
/// mutated after it is assigned, so readers may hand out slices of it without copying.
/// Every field is guarded by the owning shard's lock.
/// </summary>
internal sealed class SessionEntry
{
    public SessionEntry(int applicationId, byte[] buffer, int keyLength)
    {
        ApplicationId = applicationId;
        Buffer = buffer;
        KeyLength = (ushort)keyLength;
    }

    /// <summary>The key's UTF-8 bytes followed by the state blob.</summary>
    public byte[] Buffer;

    /// <summary>Callers parked for this session's lock, or null when nobody waits.</summary>
    public LockWaiterQueue? Waiters;

    /// <summary>Neighbours in the shard's expiry wheel slot.</summary>
    public SessionEntry? WheelPrevious;
    public SessionEntry? WheelNext;

    public long Version;

    /// <summary>The current lock id; 0 when unlocked.</summary>
    public long LockId;

    /// <summary>When the lock was taken, in UTC ticks.</summary>
    public long LockAcquiredTicks;

    /// <summary>The store-relative second at which the item expires.</summary>
    public int ExpirySecond;

    public int TimeoutSeconds;

    public readonly int ApplicationId;

    public readonly ushort KeyLength;

    /// <summary>Made by create-uninitialized and not yet reported (MS-ASP ActionFlags 1).</summary>
    public bool IsUninitialized;

    public bool IsLocked => LockId != 0;

    public ReadOnlySpan<byte> Key => new(Buffer, 0, KeyLength);

    public int DataLength => Buffer.Length - KeyLength;

    public ReadOnlyMemory<byte> Data => new(Buffer, KeyLength, Buffer.Length - KeyLength);
}
