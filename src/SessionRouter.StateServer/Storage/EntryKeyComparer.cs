namespace SessionRouter.StateServer.Storage;

/// <summary>A lookup key that needs no allocation: the application's number and the session id's UTF-8 bytes.</summary>
internal readonly ref struct EntryProbe
{
    public EntryProbe(int applicationId, ReadOnlySpan<byte> key)
    {
        ApplicationId = applicationId;
        Key = key;
    }

    public int ApplicationId { get; }

    public ReadOnlySpan<byte> Key { get; }
}

/// <summary>Compares entries by application and key bytes, and lets a shard's set be searched with an <see cref="EntryProbe"/>.</summary>
internal sealed class EntryKeyComparer : IEqualityComparer<SessionEntry>, IAlternateEqualityComparer<EntryProbe, SessionEntry>
{
    public static EntryKeyComparer Instance { get; } = new();

    public static int Hash(int applicationId, ReadOnlySpan<byte> key)
    {
        var hash = default(HashCode);
        hash.Add(applicationId);
        hash.AddBytes(key);
        return hash.ToHashCode();
    }

    public bool Equals(SessionEntry? x, SessionEntry? y)
    {
        if (ReferenceEquals(x, y))
        {
            return true;
        }

        return x is not null && y is not null && x.ApplicationId == y.ApplicationId && x.Key.SequenceEqual(y.Key);
    }

    public int GetHashCode(SessionEntry obj) => Hash(obj.ApplicationId, obj.Key);

    public bool Equals(EntryProbe alternate, SessionEntry other) =>
        alternate.ApplicationId == other.ApplicationId && alternate.Key.SequenceEqual(other.Key);

    public int GetHashCode(EntryProbe alternate) => Hash(alternate.ApplicationId, alternate.Key);

    public SessionEntry Create(EntryProbe alternate) =>
        throw new NotSupportedException("Entries are added as objects, never created from a probe.");
}
