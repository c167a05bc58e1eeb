using System.Threading.Channels;
using SessionRouter.Core.Storage;
using Xunit;

namespace SessionRouter.Testing.StoreContract;

/// <summary>
/// The contention contract (<see cref="ILockContentionSource"/>), written once for every store: a caller that
/// starts waiting for a held lock is announced with the holder's lock id to every watcher. Each store derives
/// a class that supplies <see cref="Store"/> (where the locks are taken) and <see cref="Source"/> (what is
/// watched: the same store, or a client of it).
/// </summary>
/// <remarks>
/// A watch is in place only some time after it starts (a request or a subscription travels first), and
/// nothing in the contract says when. So every test first provokes contention on probe keys until each of
/// its watchers has seen one (<see cref="EstablishAsync"/>). Announcements are waited for up to
/// <see cref="Bound"/>, only so a broken store fails instead of hanging; nothing asserts how long anything
/// took. Absence is checked by order: what a watcher saw before a later announcement it waited for.
/// Keys are unique per test, and every watcher skips other tests' keys, so stores may be shared.
/// </remarks>
public abstract class LockContentionContractTests
{
    /// <summary>The store whose locks the tests take.</summary>
    protected abstract ISessionStore Store { get; }

    /// <summary>What the tests watch.</summary>
    protected abstract ILockContentionSource Source { get; }

    /// <summary>Generous: only here so a store that never announces fails instead of hanging.</summary>
    protected static TimeSpan Bound { get; } = TimeSpan.FromSeconds(30);

    protected static TimeSpan LongWait { get; } = TimeSpan.FromSeconds(60);

    protected static LockRequest NoWait { get; } = new(TimeSpan.Zero, TimeSpan.FromMinutes(2));

    protected static LockRequest Waiting { get; } = new(LongWait, TimeSpan.FromMinutes(2));

    protected static SessionKey NewKey(string purpose = "contention") => new(purpose, Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task AWaiter_IsAnnouncedWithTheHolderLockId_AndGetsTheLockWhenTheHolderReleases()
    {
        await using var watch = ContentionWatch.Start(Source);
        await EstablishAsync(watch);
        var key = NewKey();
        var holder = await LockAsync(key);

        var waiter = Store.GetExclusiveAsync(key, Waiting).AsTask();
        var announced = await watch.NextForAsync(key);

        Assert.Equal(new LockContention(key, holder.LockId), announced);
        Assert.False(waiter.IsCompleted);
        Assert.Equal(StoreStatus.Ok, (await Store.ReleaseAsync(key, holder.LockId)).Status);
        var granted = await waiter.WaitAsync(Bound);
        Assert.Equal(StoreStatus.Ok, granted.Status);
        Assert.NotEqual(holder.LockId, granted.Lock.LockId);
        Assert.Equal(StoreStatus.Ok, (await Store.ReleaseAsync(key, granted.Lock.LockId)).Status);
    }

    [Fact]
    public async Task AnUncontendedLock_AndANoWaitExclusiveReadAnsweredLocked_AreNotAnnounced()
    {
        await using var watch = ContentionWatch.Start(Source);
        await EstablishAsync(watch);
        var quiet = NewKey();
        var held = await LockAsync(quiet);
        var refused = await Store.GetExclusiveAsync(quiet, NoWait);
        Assert.Equal(StoreStatus.Locked, refused.Status);
        Assert.Equal(StoreStatus.Ok, (await Store.ReleaseAsync(quiet, held.LockId)).Status);

        // A caller that may wait but finds the lock free does not wait either.
        var free = await Store.GetExclusiveAsync(quiet, Waiting);
        Assert.Equal(StoreStatus.Ok, free.Status);
        Assert.Equal(StoreStatus.Ok, (await Store.ReleaseAsync(quiet, free.Lock.LockId)).Status);

        // Then real contention on another key: everything announced before it must not name the quiet key.
        var contended = NewKey();
        await ContendAsync(contended, [watch]);

        Assert.DoesNotContain(watch.Seen, c => c.Key == quiet);
    }

    [Fact]
    public async Task EveryWaiter_IsAnnounced_WithTheCurrentHolderLockId()
    {
        await using var watch = ContentionWatch.Start(Source);
        await EstablishAsync(watch);
        var key = NewKey();
        var holder = await LockAsync(key);

        var first = Store.GetExclusiveAsync(key, Waiting).AsTask();
        Assert.Equal(holder.LockId, (await watch.NextForAsync(key)).HolderLockId);
        var second = Store.GetExclusiveAsync(key, Waiting).AsTask();
        Assert.Equal(holder.LockId, (await watch.NextForAsync(key)).HolderLockId);

        // Both are served, one after the other.
        Assert.Equal(StoreStatus.Ok, (await Store.ReleaseAsync(key, holder.LockId)).Status);
        var next = await Task.WhenAny(first, second).WaitAsync(Bound);
        var granted = await next;
        Assert.Equal(StoreStatus.Ok, granted.Status);
        Assert.Equal(StoreStatus.Ok, (await Store.ReleaseAsync(key, granted.Lock.LockId)).Status);
        var last = await (next == first ? second : first).WaitAsync(Bound);
        Assert.Equal(StoreStatus.Ok, last.Status);
        Assert.Equal(StoreStatus.Ok, (await Store.ReleaseAsync(key, last.Lock.LockId)).Status);
    }

    [Fact]
    public async Task TwoWatchers_BothSeeTheAnnouncement()
    {
        await using var one = ContentionWatch.Start(Source);
        await using var two = ContentionWatch.Start(Source);
        await EstablishAsync(one, two);
        var key = NewKey();

        var holderLockId = await ContendAsync(key, [one, two]);

        Assert.Equal(new LockContention(key, holderLockId), one.Seen.Last(c => c.Key == key));
        Assert.Equal(new LockContention(key, holderLockId), two.Seen.Last(c => c.Key == key));
    }

    [Fact]
    public async Task ACancelledWatcher_EndsItsEnumerationCleanly_AndTheOthersGoOn()
    {
        var stays = ContentionWatch.Start(Source);
        await using (stays)
        {
            var leaves = ContentionWatch.Start(Source);
            await EstablishAsync(stays, leaves);

            await leaves.StopAsync();

            Assert.Null(leaves.Error);
            Assert.True(leaves.Ended);
            await ContendAsync(NewKey(), [stays]);
        }

        Assert.Null(stays.Error);
    }

    [Fact]
    public async Task AWatcherCancelledBeforeItIsEstablished_EndsCleanly()
    {
        var watch = ContentionWatch.Start(Source);
        await watch.StopAsync();

        Assert.Null(watch.Error);
        Assert.True(watch.Ended);
    }

    /// <summary>Provokes contention on probe keys until every one of <paramref name="watches"/> has seen one.</summary>
    protected async Task EstablishAsync(params ContentionWatch[] watches)
    {
        using var bound = new CancellationTokenSource(Bound);
        var pending = new List<ContentionWatch>(watches);
        while (pending.Count > 0)
        {
            bound.Token.ThrowIfCancellationRequested();
            var probe = NewKey("probe");
            var holder = await LockAsync(probe);
            var waiter = Store.GetExclusiveAsync(probe, Waiting).AsTask();
            foreach (var watch in pending.ToArray())
            {
                if (await watch.SawWithinAsync(probe, TimeSpan.FromMilliseconds(250)))
                {
                    pending.Remove(watch);
                }
            }

            await Store.ReleaseAsync(probe, holder.LockId);
            var granted = await waiter.WaitAsync(Bound);
            await Store.ReleaseAsync(probe, granted.Lock.LockId);
            foreach (var watch in watches)
            {
                watch.ThrowIfFailed();
            }
        }
    }

    /// <summary>One waiter behind one holder on <paramref name="key"/>, seen by every watch; then both released. Returns the holder's lock id.</summary>
    protected async Task<long> ContendAsync(SessionKey key, ContentionWatch[] watches)
    {
        var holder = await LockAsync(key);
        var waiter = Store.GetExclusiveAsync(key, Waiting).AsTask();
        foreach (var watch in watches)
        {
            Assert.Equal(holder.LockId, (await watch.NextForAsync(key)).HolderLockId);
        }

        Assert.Equal(StoreStatus.Ok, (await Store.ReleaseAsync(key, holder.LockId)).Status);
        var granted = await waiter.WaitAsync(Bound);
        Assert.Equal(StoreStatus.Ok, granted.Status);
        Assert.Equal(StoreStatus.Ok, (await Store.ReleaseAsync(key, granted.Lock.LockId)).Status);
        return holder.LockId;
    }

    protected async Task<SessionLock> LockAsync(SessionKey key)
    {
        var read = await Store.GetExclusiveAsync(key, new LockRequest(TimeSpan.Zero, TimeSpan.FromMinutes(2), CreateIfMissing: true, TimeSpan.FromMinutes(5)));
        Assert.Equal(StoreStatus.Ok, read.Status);
        return read.Lock;
    }
}

/// <summary>
/// A running watch: its enumeration pumped into a queue the test reads, everything read kept in
/// <see cref="Seen"/>, and how it ended (cleanly, or with <see cref="Error"/>).
/// </summary>
public sealed class ContentionWatch : IAsyncDisposable
{
    private readonly Channel<LockContention> _queue = Channel.CreateUnbounded<LockContention>();
    private readonly CancellationTokenSource _stop = new();
    private readonly List<LockContention> _seen = [];
    private readonly Task _pump;

    private ContentionWatch(ILockContentionSource source)
    {
        _pump = PumpAsync(source);
    }

    /// <summary>Everything the test has read so far, in order.</summary>
    public IReadOnlyList<LockContention> Seen => _seen;

    /// <summary>What ended the enumeration, if it did not end cleanly.</summary>
    public Exception? Error { get; private set; }

    /// <summary>True once the enumeration has ended.</summary>
    public bool Ended => _pump.IsCompleted;

    public static ContentionWatch Start(ILockContentionSource source) => new(source);

    /// <summary>Reads until an announcement for <paramref name="key"/> arrives (up to the contract's bound) and returns it.</summary>
    public async Task<LockContention> NextForAsync(SessionKey key)
    {
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            LockContention contention;
            try
            {
                contention = await _queue.Reader.ReadAsync(bound.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"No announcement for {key} arrived; the watch {(Error is null ? "is still open" : "failed: " + Error.Message)}.");
            }
            catch (ChannelClosedException)
            {
                throw new InvalidOperationException($"The watch ended before an announcement for {key} arrived.", Error);
            }

            _seen.Add(contention);
            if (contention.Key == key)
            {
                return contention;
            }
        }
    }

    /// <summary>Whether an announcement for <paramref name="key"/> arrives within <paramref name="wait"/> (establishing a watch only).</summary>
    public async Task<bool> SawWithinAsync(SessionKey key, TimeSpan wait)
    {
        using var within = new CancellationTokenSource(wait);
        try
        {
            while (true)
            {
                var contention = await _queue.Reader.ReadAsync(within.Token);
                _seen.Add(contention);
                if (contention.Key == key)
                {
                    return true;
                }
            }
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        catch (ChannelClosedException)
        {
            ThrowIfFailed();
            throw new InvalidOperationException("The watch ended while it was being established.");
        }
    }

    public void ThrowIfFailed()
    {
        if (Error is not null)
        {
            throw new InvalidOperationException("The watch failed: " + Error.Message, Error);
        }
    }

    /// <summary>Cancels the watch and waits (bounded) for its enumeration to end.</summary>
    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await _pump.WaitAsync(TimeSpan.FromSeconds(30));
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _stop.Dispose();
    }

    private async Task PumpAsync(ILockContentionSource source)
    {
        await Task.Yield();
        try
        {
            await foreach (var contention in source.WatchContentionAsync(_stop.Token))
            {
                _queue.Writer.TryWrite(contention);
            }
        }
        catch (Exception error)
        {
            Error = error;
        }
        finally
        {
            _queue.Writer.TryComplete();
        }
    }
}
