namespace SessionRouter.StateServer.Storage;

/// <summary>
/// Limits and defaults of the in-memory session store, checked by
/// <see cref="InMemorySessionStoreOptionsValidator"/> when the store is created.
/// </summary>
public sealed class InMemorySessionStoreOptions
{
    /// <summary>
    /// The most bytes the store may hold (item data, keys and per-item bookkeeping). Once reached, new
    /// sessions are refused with <c>CapacityExceeded</c>; existing sessions can still be written so that
    /// nothing already stored is lost. 0 means no cap.
    /// </summary>
    public long MemoryCapBytes { get; set; }

    /// <summary>
    /// The share of <see cref="MemoryCapBytes"/> past which the store warns (one log line per crossing) and
    /// reports itself degraded, so an operator adds memory or nodes before new sessions are refused.
    /// Between 0 (exclusive) and 1; unused without a cap.
    /// </summary>
    public double MemoryWarningFraction { get; set; } = 0.8;

    /// <summary>The largest state blob accepted for one session (<c>TooLarge</c> above it).</summary>
    public int MaxItemBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>A lock older than this may be taken over when a request does not name its own lock timeout.</summary>
    public TimeSpan DefaultLockTimeout { get; set; } = TimeSpan.FromSeconds(110);

    /// <summary>The sliding expiry of an item created without one (create-if-missing with no item timeout).</summary>
    public TimeSpan DefaultItemTimeout { get; set; } = TimeSpan.FromMinutes(20);

    /// <summary>How many callers may wait for one session's lock at the same time (<c>QueueFull</c> above it).</summary>
    public int MaxWaitersPerSession { get; set; } = 64;

    /// <summary>The largest item size the store can be configured for (1 GiB).</summary>
    public const int MaxItemBytesLimit = 1 << 30;

    /// <summary>The longest sliding expiry: MS-ASP's 525,600 minutes (one year).</summary>
    public static TimeSpan MaxItemTimeout { get; } = TimeSpan.FromMinutes(525_600);
}
