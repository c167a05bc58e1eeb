using SessionRouter.Core.Storage;
using StackExchange.Redis;

namespace SessionRouter.Redis.Scripts;

/// <summary>
/// A script's reply: <c>{status, now, header-or-item, tookOver, uninitializedReported, item}</c>. The
/// last element, when present, is the stored item whose state the reply carries (get-exclusive sends
/// the new header and the item as it was, so that the state is copied once).
/// </summary>
internal readonly record struct ScriptReply(StoreStatus Status, long NowMs, byte[]? Blob, bool TookOver, bool UninitializedReported, byte[]? Item = null)
{
    public static ScriptReply CapacityExceeded { get; } = new(StoreStatus.CapacityExceeded, 0, null, false, false);

    /// <summary>The header of the blob, when the reply carries one.</summary>
    public ItemHeader? Header => Blob is { Length: >= ItemHeader.Length } blob ? ItemHeader.Parse(blob) : null;

    public static ScriptReply Parse(RedisResult result)
    {
        if (result.Length < 3)
        {
            throw new InvalidDataException($"Unexpected reply from a session script: {result}.");
        }

        var status = (StoreStatus)(int)result[0];
        var now = (long)result[1];
        var blob = (byte[]?)result[2];
        var tookOver = result.Length > 3 && (long)result[3] != 0;
        var reported = result.Length > 4 && (long)result[4] != 0;
        var item = result.Length > 5 ? (byte[]?)result[5] : null;
        return new ScriptReply(status, now, blob, tookOver, reported, item);
    }

    /// <summary>The item (header plus state), sharing the reply's buffer.</summary>
    public SessionItem ToItem()
    {
        var header = ItemHeader.Parse(Blob);
        var stored = Item ?? Blob!;
        return new SessionItem(
            stored.AsMemory(ItemHeader.Length),
            header.Version,
            TimeSpan.FromMilliseconds(header.ItemTimeoutMs),
            UninitializedReported);
    }
}
