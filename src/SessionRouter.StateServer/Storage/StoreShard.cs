namespace SessionRouter.StateServer.Storage;

/// <summary>
/// A slice of the key space with its own lock, its own set of entries and its own expiry wheel, so that
/// callers touching different sessions rarely contend and expiry never scans items that are not due.
/// </summary>
internal sealed class StoreShard
{
    /// <summary>One-second slots; an item whose expiry is further away than the wheel's span is looked at once per turn.</summary>
    private const int WheelSlots = 1024;
    private const int WheelMask = WheelSlots - 1;

    private readonly SessionEntry?[] _wheel = new SessionEntry?[WheelSlots];

    public StoreShard()
    {
        Entries = new HashSet<SessionEntry>(EntryKeyComparer.Instance);
        Lookup = Entries.GetAlternateLookup<EntryProbe>();
    }

    public Lock Gate { get; } = new();

    public HashSet<SessionEntry> Entries { get; }

    public HashSet<SessionEntry>.AlternateLookup<EntryProbe> Lookup { get; }

    /// <summary>The last store-relative second whose slot was swept.</summary>
    public int LastSweptSecond { get; set; }

    public void Schedule(SessionEntry entry, int expirySecond)
    {
        if (entry.ExpirySecond == expirySecond && (entry.WheelPrevious is not null || ReferenceEquals(_wheel[expirySecond & WheelMask], entry)))
        {
            return;
        }

        Unschedule(entry);
        entry.ExpirySecond = expirySecond;
        ref var head = ref _wheel[expirySecond & WheelMask];
        entry.WheelNext = head;
        if (head is not null)
        {
            head.WheelPrevious = entry;
        }

        head = entry;
    }

    public void Unschedule(SessionEntry entry)
    {
        ref var head = ref _wheel[entry.ExpirySecond & WheelMask];
        if (entry.WheelPrevious is not null)
        {
            entry.WheelPrevious.WheelNext = entry.WheelNext;
        }
        else if (ReferenceEquals(head, entry))
        {
            head = entry.WheelNext;
        }
        else
        {
            return;
        }

        if (entry.WheelNext is not null)
        {
            entry.WheelNext.WheelPrevious = entry.WheelPrevious;
        }

        entry.WheelPrevious = null;
        entry.WheelNext = null;
    }

    /// <summary>
    /// Collects the entries due at or before <paramref name="nowSecond"/> from the slots not swept yet
    /// (each slot at most once per call). The caller decides what to do with each and holds the lock.
    /// </summary>
    public void CollectDue(int nowSecond, List<SessionEntry> due)
    {
        var from = LastSweptSecond + 1;
        if (nowSecond - from >= WheelSlots)
        {
            from = nowSecond - WheelSlots + 1;
        }

        for (var second = from; second <= nowSecond; second++)
        {
            for (var entry = _wheel[second & WheelMask]; entry is not null; entry = entry.WheelNext)
            {
                if (entry.ExpirySecond <= nowSecond)
                {
                    due.Add(entry);
                }
            }
        }

        if (nowSecond > LastSweptSecond)
        {
            LastSweptSecond = nowSecond;
        }
    }
}
