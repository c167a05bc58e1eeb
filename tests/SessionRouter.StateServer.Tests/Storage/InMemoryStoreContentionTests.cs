using SessionRouter.Core.Storage;
using SessionRouter.StateServer.Storage;
using SessionRouter.Testing.StoreContract;

namespace SessionRouter.StateServer.Tests.Storage;

/// <summary>The contention contract against the engine's store, called and watched in process.</summary>
public sealed class InMemoryStoreContentionTests : LockContentionContractTests, IDisposable
{
    private readonly InMemorySessionStore _store = new(new InMemorySessionStoreOptions { MaxWaitersPerSession = 4 });

    protected override ISessionStore Store => _store;

    protected override ILockContentionSource Source => _store;

    /// <summary>In process a watch is in place as soon as its first read starts: no probes needed to see the very next waiter.</summary>
    [Fact]
    public async Task AWatch_SeesTheWaiterQueuedRightAfterItsFirstRead()
    {
        var key = NewKey();
        var holder = await LockAsync(key);
        await using var enumerator = _store.WatchContentionAsync(CancellationToken.None).GetAsyncAsyncEnumeratorStarted(out var next);

        var waiter = _store.GetExclusiveAsync(key, Waiting).AsTask();

        Assert.True(await next.WaitAsync(Bound));
        Assert.Equal(new LockContention(key, holder.LockId), enumerator.Current);
        await _store.ReleaseAsync(key, holder.LockId);
        var granted = await waiter.WaitAsync(Bound);
        await _store.ReleaseAsync(key, granted.Lock.LockId);
    }

    /// <summary>A watcher that never reads holds at most its capacity (the oldest are dropped) and never holds up the lock path.</summary>
    [Fact]
    public async Task AWatcherThatFallsBehind_KeepsOnlyTheNewest_AndNeverHoldsUpTheLockPath()
    {
        using var subscription = _store.WatchContention();
        var key = NewKey();
        var holder = await LockAsync(key);

        // More waiters than a watcher holds announcements: each leaves (cancelled) and makes room for the next.
        for (var i = 0; i < ContentionFeed.Capacity + 10; i++)
        {
            using var leave = new CancellationTokenSource();
            var waiter = _store.GetExclusiveAsync(key, Waiting, leave.Token).AsTask();
            await leave.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiter);
        }

        Assert.Equal(ContentionFeed.Capacity, subscription.Reader.Count);
        var last = _store.GetExclusiveAsync(key, Waiting).AsTask();
        Assert.Equal(ContentionFeed.Capacity, subscription.Reader.Count);

        await _store.ReleaseAsync(key, holder.LockId);
        var granted = await last.WaitAsync(Bound);
        Assert.Equal(StoreStatus.Ok, granted.Status);
        await _store.ReleaseAsync(key, granted.Lock.LockId);
        Assert.True(subscription.Reader.TryRead(out var oldest));
        Assert.Equal(new LockContention(key, holder.LockId), oldest);
    }

    [Fact]
    public async Task DisposingTheStore_EndsEveryWatchCleanly()
    {
        var store = new InMemorySessionStore();
        var watch = ContentionWatch.Start(store);

        store.Dispose();

        await WaitUntilAsync(() => watch.Ended);
        Assert.Null(watch.Error);
        await watch.DisposeAsync();
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var bound = new CancellationTokenSource(Bound);
        while (!condition())
        {
            await Task.Delay(10, bound.Token);
        }
    }

    public void Dispose() => _store.Dispose();
}

internal static class AsyncEnumerableStart
{
    /// <summary>The enumerator with its first MoveNextAsync already running (it subscribes on that first call).</summary>
    public static IAsyncEnumerator<T> GetAsyncAsyncEnumeratorStarted<T>(this IAsyncEnumerable<T> source, out Task<bool> first)
    {
        var enumerator = source.GetAsyncEnumerator();
        first = enumerator.MoveNextAsync().AsTask();
        return enumerator;
    }
}
