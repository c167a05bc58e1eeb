using System.Threading.Channels;
using SessionRouter.Core.Storage;

namespace SessionRouter.StateServer.Storage;

/// <summary>
/// The store's contention announcements fanned out to whoever watches: one bounded channel per watcher,
/// dropping its oldest announcement when the watcher falls behind, so a slow or stuck watcher never holds up
/// the lock path or the other watchers. With nobody watching an announcement costs one read of an empty
/// array and allocates nothing.
/// </summary>
internal sealed class ContentionFeed
{
    /// <summary>Announcements one watcher may have unread before the oldest are dropped.</summary>
    public const int Capacity = 1024;

    private static readonly BoundedChannelOptions WatcherOptions = new(Capacity)
    {
        FullMode = BoundedChannelFullMode.DropOldest,
        SingleReader = true,
        SingleWriter = false,
        AllowSynchronousContinuations = false,
    };

    private readonly Lock _gate = new();

    // Copied on every subscribe and unsubscribe (rare), read without a lock on every announcement.
    private Channel<LockContention>[] _watchers = [];
    private bool _completed;

    /// <summary>True while at least one watcher listens: the store skips building an announcement otherwise.</summary>
    public bool HasWatchers => Volatile.Read(ref _watchers).Length > 0;

    /// <summary>Hands <paramref name="contention"/> to every watcher; never blocks (a full watcher drops its oldest).</summary>
    public void Announce(LockContention contention)
    {
        foreach (var watcher in Volatile.Read(ref _watchers))
        {
            watcher.Writer.TryWrite(contention);
        }
    }

    /// <summary>A new watcher, seeing every announcement from now on until it is disposed (or the feed completes).</summary>
    public ContentionSubscription Subscribe()
    {
        var channel = Channel.CreateBounded<LockContention>(WatcherOptions);
        lock (_gate)
        {
            if (_completed)
            {
                channel.Writer.TryComplete();
            }
            else
            {
                _watchers = [.. _watchers, channel];
            }
        }

        return new ContentionSubscription(this, channel);
    }

    /// <summary>The store is going away: every watcher's reader ends once it has read what is queued.</summary>
    public void Complete()
    {
        Channel<LockContention>[] watchers;
        lock (_gate)
        {
            _completed = true;
            watchers = _watchers;
            _watchers = [];
        }

        foreach (var watcher in watchers)
        {
            watcher.Writer.TryComplete();
        }
    }

    internal void Unsubscribe(Channel<LockContention> channel)
    {
        lock (_gate)
        {
            var index = Array.IndexOf(_watchers, channel);
            if (index >= 0)
            {
                _watchers = [.. _watchers.AsSpan(0, index), .. _watchers.AsSpan(index + 1)];
            }
        }

        channel.Writer.TryComplete();
    }
}

/// <summary>One watcher of a <see cref="ContentionFeed"/>: read <see cref="Reader"/>, dispose to stop watching.</summary>
internal sealed class ContentionSubscription(ContentionFeed feed, Channel<LockContention> channel) : IDisposable
{
    public ChannelReader<LockContention> Reader => channel.Reader;

    public void Dispose() => feed.Unsubscribe(channel);
}
