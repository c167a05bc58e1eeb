using System.Globalization;
using System.Text;
using SessionRouter.Core.Storage;
using SessionRouter.Redis.Tests.Fixtures;
using SessionRouter.Testing.Redis;
using StackExchange.Redis;
using Xunit;

namespace SessionRouter.Redis.Tests.Store;

/// <summary>Redis-specific behaviour on the shared standalone server.</summary>
[Collection(StandaloneRedisCollection.Name)]
public sealed class RedisSpecificTests(StandaloneRedisFixture fixture)
{
    private static readonly TimeSpan ItemTimeout = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan LongWait = TimeSpan.FromSeconds(20);

    private static SessionKey NewKey(string application = "redis-tests") => new(application, Guid.NewGuid().ToString("N"));

    private static ReadOnlyMemory<byte> Blob(string text) => Encoding.UTF8.GetBytes(text);

    private static string Text(SessionItem? item) => Encoding.UTF8.GetString(item!.Data.Span);

    [Fact]
    public async Task Scripts_SurviveScriptFlush_ByLoadingThemAgain()
    {
        var store = fixture.Store;
        var key = NewKey();
        Assert.Equal(StoreStatus.Ok, (await store.SetAsync(key, new SessionWrite(Blob("before"), ItemTimeout))).Status);

        Assert.Equal("OK", await RespProbe.SendAsync(fixture.Server.Port, TimeSpan.FromSeconds(5), "SCRIPT", "FLUSH"));
        var read = await store.GetAsync(key);
        var locked = await store.GetExclusiveAsync(key, LockRequest.NoWait);
        var write = await store.SetAsync(key, new SessionWrite(Blob("after"), ItemTimeout, locked.Lock.LockId));

        Assert.Equal(StoreStatus.Ok, read.Status);
        Assert.Equal("before", Text(read.Item));
        Assert.Equal(StoreStatus.Ok, locked.Status);
        Assert.Equal(StoreStatus.Ok, write.Status);
        Assert.Equal("after", Text((await store.GetAsync(key)).Item));
    }

    [Fact]
    public async Task Session_IsOneKeyWithAHashTag_AndApplicationNamesCannotCollide()
    {
        var store = fixture.Store;
        var id = Guid.NewGuid().ToString("N");
        var colonInApplication = new SessionKey("a:b", "c" + id);
        var colonInSessionId = new SessionKey("a", "b:c" + id);
        var braces = new SessionKey("x{y}", "{z}" + id);

        await store.SetAsync(colonInApplication, new SessionWrite(Blob("first"), ItemTimeout));
        await store.SetAsync(colonInSessionId, new SessionWrite(Blob("second"), ItemTimeout));
        await store.SetAsync(braces, new SessionWrite(Blob("third"), ItemTimeout));

        Assert.Equal("first", Text((await store.GetAsync(colonInApplication)).Item));
        Assert.Equal("second", Text((await store.GetAsync(colonInSessionId)).Item));
        Assert.Equal("third", Text((await store.GetAsync(braces)).Item));

        // The key carries the hash tag {app:id}, escaped, and nothing else of the session exists.
        var expected = "sr:{a%3Ab:c" + id + "}";
        Assert.Equal("1", await RespProbe.SendAsync(fixture.Server.Port, TimeSpan.FromSeconds(5), "EXISTS", expected));
        var ttl = long.Parse(await RespProbe.SendAsync(fixture.Server.Port, TimeSpan.FromSeconds(5), "PTTL", expected) ?? "-3", CultureInfo.InvariantCulture);
        Assert.InRange(ttl, 1, (long)ItemTimeout.TotalMilliseconds);
    }

    /// <summary>A write that keeps its lock leaves a locked item: its key lives for the item timeout plus the lock timeout, as after an exclusive read.</summary>
    [Fact]
    public async Task KeepLockSet_KeepsTheLockedItemsExpiry_ItemTimeoutPlusLockTimeout()
    {
        var store = fixture.Store;
        var key = NewKey();
        var itemTimeout = TimeSpan.FromMinutes(1);
        var lockTimeout = TimeSpan.FromMinutes(2);
        await store.SetAsync(key, new SessionWrite(Blob("v1"), itemTimeout));
        var held = await store.GetExclusiveAsync(key, new LockRequest(TimeSpan.Zero, lockTimeout));

        var kept = await store.SetAsync(key, new SessionWrite(Blob("v2"), itemTimeout, held.Lock.LockId, KeepLock: true));
        var redisKey = "sr:{redis-tests:" + key.SessionId + "}";
        var ttl = long.Parse(await RespProbe.SendAsync(fixture.Server.Port, TimeSpan.FromSeconds(5), "PTTL", redisKey) ?? "-3", CultureInfo.InvariantCulture);
        var read = await store.GetAsync(key);

        Assert.Equal(StoreStatus.Ok, kept.Status);
        Assert.InRange(ttl, (long)itemTimeout.TotalMilliseconds + 1, (long)(itemTimeout + lockTimeout).TotalMilliseconds);
        Assert.Equal("v2", Text(read.Item));
        Assert.Equal(held.Lock.LockId, read.Lock.LockId);
        Assert.Equal(StoreStatus.Ok, (await store.ReleaseAsync(key, held.Lock.LockId)).Status);
    }

    [Fact]
    public async Task SlidingExpiry_IsTheItemTimeout_AndAnExpiredItemIsGone()
    {
        var store = fixture.Store;
        var key = NewKey();

        await store.SetAsync(key, new SessionWrite(Blob("short"), TimeSpan.FromMilliseconds(300)));
        var touched = await store.TouchAsync(key);
        Assert.Equal(StoreStatus.Ok, touched.Status);

        // Bounded wait for the server to expire the key, looking with EXISTS (a read through the store
        // would slide the expiry again). No assertion on how long it took.
        var redisKey = "sr:{redis-tests:" + key.SessionId + "}";
        var gone = false;
        for (var i = 0; i < 100 && !gone; i++)
        {
            await Task.Delay(50);
            gone = await RespProbe.SendAsync(fixture.Server.Port, TimeSpan.FromSeconds(5), "EXISTS", redisKey) == "0";
        }

        Assert.True(gone);
        Assert.Equal(StoreStatus.NotFound, (await store.GetAsync(key)).Status);
    }

    [Fact]
    public async Task Waiter_IsWokenByTheReleaseNotification_OfAnotherStoreInstance()
    {
        // Two gateways: each its own connection. The waiter's lock timeout and wait are long, so only
        // the notification published by the other instance's release can wake it.
        await using var other = await RedisSessionStore.ConnectAsync(Options.For("standalone-2", fixture.Server.ConnectionString));
        var key = NewKey();
        await fixture.Store.SetAsync(key, new SessionWrite(Blob("v1"), ItemTimeout));
        var held = await fixture.Store.GetExclusiveAsync(key, LockRequest.NoWait);
        Assert.Equal(StoreStatus.Ok, held.Status);

        var waiting = other.GetExclusiveAsync(key, new LockRequest(LongWait, TimeSpan.FromMinutes(5))).AsTask();
        for (var i = 0; i < 200 && other.WaitingCallers(key) == 0; i++)
        {
            await Task.Delay(10);
        }

        Assert.Equal(1, other.WaitingCallers(key));
        Assert.False(waiting.IsCompleted);
        var write = await fixture.Store.SetAsync(key, new SessionWrite(Blob("v2"), ItemTimeout, held.Lock.LockId));
        var woken = await waiting.WaitAsync(LongWait);

        Assert.Equal(StoreStatus.Ok, woken.Status);
        Assert.Equal("v2", Text(woken.Item));
        Assert.Equal(write.Version, woken.Item!.Version);
        Assert.Equal(0, other.WaitingCallers(key));
    }

    [Fact]
    public async Task CancelledWaiter_LeavesTheQueue_AndTakesNoLock()
    {
        var store = fixture.Store;
        var key = NewKey();
        await store.SetAsync(key, new SessionWrite(Blob("state"), ItemTimeout));
        var held = await store.GetExclusiveAsync(key, LockRequest.NoWait);
        using var cancellation = new CancellationTokenSource();

        var waiting = store.GetExclusiveAsync(key, new LockRequest(LongWait, TimeSpan.FromMinutes(5)), cancellation.Token).AsTask();
        for (var i = 0; i < 200 && store.WaitingCallers(key) == 0; i++)
        {
            await Task.Delay(10);
        }

        Assert.Equal(1, store.WaitingCallers(key));
        await cancellation.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting.WaitAsync(LongWait));
        Assert.Equal(0, store.WaitingCallers(key));
        var again = await store.GetExclusiveAsync(key, LockRequest.NoWait);
        Assert.Equal(StoreStatus.Locked, again.Status);
        Assert.Equal(held.Lock.LockId, again.Lock.LockId);
        Assert.Equal(StoreStatus.Ok, (await store.ReleaseAsync(key, held.Lock.LockId)).Status);
    }

    [Fact]
    public async Task LockAge_ComesFromTheServerClock()
    {
        var store = fixture.Store;
        var key = NewKey();
        await store.SetAsync(key, new SessionWrite(Blob("state"), ItemTimeout));
        var held = await store.GetExclusiveAsync(key, LockRequest.NoWait);
        var serverTime = await store.Connection.GetServers()[0].TimeAsync();

        var seen = await store.GetAsync(key);

        // The lock's acquisition time is the server's TIME (not this process's clock), to the millisecond.
        Assert.Equal(held.Lock.AcquiredAt, seen.Lock.AcquiredAt);
        Assert.InRange(held.Lock.AcquiredAt.UtcDateTime, serverTime.AddSeconds(-5), serverTime.AddSeconds(5));
        Assert.True(seen.Lock.Age >= TimeSpan.Zero);
    }

    [Fact]
    public async Task TooLargeItem_IsRefusedAndTheStoredItemStays()
    {
        await using var small = await RedisSessionStore.ConnectAsync(new Configuration.RedisStoreOptions
        {
            NodeId = "small",
            ConnectionString = fixture.Server.ConnectionString,
            MaxItemBytes = 16,
        });
        var key = NewKey();
        await small.SetAsync(key, new SessionWrite(Blob("fits"), ItemTimeout));

        var write = await small.SetAsync(key, new SessionWrite(new byte[17], ItemTimeout));

        Assert.Equal(StoreStatus.TooLarge, write.Status);
        Assert.Equal("fits", Text((await small.GetAsync(key)).Item));
    }

    [Fact]
    public async Task Probe_AnswersWhileTheServerRuns()
    {
        await fixture.Store.ProbeAsync(CancellationToken.None);
        Assert.True(fixture.Store.IsConnected);
    }

    [Fact]
    public async Task ServerSideScriptErrors_AreNotSwallowed_ForAForeignValueUnderTheKey()
    {
        // A value that is not a session item (someone else wrote the key) is reported as a failure of the
        // node, not misread as a session.
        var key = NewKey();
        var redisKey = "sr:{redis-tests:" + key.SessionId + "}";
        Assert.Equal("OK", await RespProbe.SendAsync(fixture.Server.Port, TimeSpan.FromSeconds(5), "SET", redisKey, "x"));

        var error = await Assert.ThrowsAsync<SessionStoreUnavailableException>(async () => await fixture.Store.GetAsync(key));

        Assert.Equal("standalone", error.NodeId);
        Assert.IsAssignableFrom<RedisException>(error.InnerException);
    }
}
