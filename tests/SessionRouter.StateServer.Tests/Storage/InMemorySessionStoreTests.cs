using System.Diagnostics.Metrics;
using System.Text;
using Microsoft.Extensions.Time.Testing;
using SessionRouter.Core.Storage;
using SessionRouter.StateServer.Storage;

namespace SessionRouter.StateServer.Tests.Storage;

/// <summary>What the engine's store does beyond the contract: expiry on its clock, the memory cap, accounting, counters.</summary>
public sealed class InMemorySessionStoreTests : IDisposable
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly List<InMemorySessionStore> _stores = [];

    private InMemorySessionStore NewStore(InMemorySessionStoreOptions? options = null)
    {
        var store = new InMemorySessionStore(options, _time);
        _stores.Add(store);
        return store;
    }

    private static SessionKey Key(string id) => new("app", id);

    private static SessionWrite Write(string text, TimeSpan timeout, long? lockId = null) => new(Encoding.UTF8.GetBytes(text), timeout, lockId);

    public void Dispose()
    {
        foreach (var store in _stores)
        {
            store.Dispose();
        }
    }

    [Fact]
    public async Task Item_ExpiresAfterItsTimeout_AndIsFreedAndCounted()
    {
        var store = NewStore();
        await store.SetAsync(Key("a"), Write("x", TimeSpan.FromSeconds(60)));

        _time.Advance(TimeSpan.FromSeconds(59));
        Assert.Equal(StoreStatus.Ok, (await store.TouchAsync(Key("a"))).Status);
        _time.Advance(TimeSpan.FromSeconds(62));

        var statistics = store.GetStatistics();
        Assert.Equal(1, statistics.SessionsExpired);
        Assert.Equal(0, statistics.ActiveSessions);
        Assert.Equal(0, statistics.BytesHeld);
        Assert.Equal(StoreStatus.NotFound, (await store.GetAsync(Key("a"))).Status);
    }

    [Fact]
    public async Task Expiry_Slides_OnReadsWritesAndTouches()
    {
        var store = NewStore();
        await store.SetAsync(Key("a"), Write("x", TimeSpan.FromSeconds(60)));

        for (var i = 0; i < 5; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(40));
            Assert.Equal(StoreStatus.Ok, (await store.GetAsync(Key("a"))).Status);
        }

        _time.Advance(TimeSpan.FromSeconds(62));
        Assert.Equal(StoreStatus.NotFound, (await store.GetAsync(Key("a"))).Status);
    }

    [Fact]
    public async Task Expiry_FreesIdleItemsWithoutAnyoneAskingForThem()
    {
        var store = NewStore();
        for (var i = 0; i < 100; i++)
        {
            await store.SetAsync(Key($"s{i}"), Write("x", TimeSpan.FromSeconds(30 + i)));
        }

        _time.Advance(TimeSpan.FromSeconds(80));
        Assert.InRange(store.GetStatistics().ActiveSessions, 48, 52);
        _time.Advance(TimeSpan.FromSeconds(60));

        Assert.Equal(0, store.GetStatistics().ActiveSessions);
        Assert.Equal(100, store.GetStatistics().SessionsExpired);
    }

    [Fact]
    public async Task LongTimeouts_BeyondTheWheelSpan_ExpireAtTheRightTime()
    {
        var store = NewStore();
        await store.SetAsync(Key("long"), Write("x", TimeSpan.FromMinutes(90)));

        _time.Advance(TimeSpan.FromMinutes(89));
        Assert.Equal(1, store.GetStatistics().ActiveSessions);
        _time.Advance(TimeSpan.FromMinutes(2));

        Assert.Equal(0, store.GetStatistics().ActiveSessions);
    }

    [Fact]
    public async Task LockedItem_IsNeverExpired_UntilReleased()
    {
        var store = NewStore();
        await store.SetAsync(Key("a"), Write("x", TimeSpan.FromSeconds(60)));
        var held = await store.GetExclusiveAsync(Key("a"), new LockRequest(TimeSpan.Zero, TimeSpan.FromHours(1)));

        _time.Advance(TimeSpan.FromSeconds(300));
        Assert.Equal(StoreStatus.Ok, (await store.GetAsync(Key("a"))).Status);
        Assert.Equal(StoreStatus.Ok, (await store.ReleaseAsync(Key("a"), held.Lock.LockId)).Status);
        _time.Advance(TimeSpan.FromSeconds(200));

        Assert.Equal(StoreStatus.NotFound, (await store.GetAsync(Key("a"))).Status);
    }

    [Fact]
    public async Task MemoryCap_RefusesNewSessions_KeepsExistingWritable_AndFreesOnRemove()
    {
        var data = new string('d', 1024);
        var footprint = InMemorySessionStore.Footprint(Encoding.UTF8.GetByteCount("s0") + 1024);
        var store = NewStore(new InMemorySessionStoreOptions { MemoryCapBytes = footprint * 3 });

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(StoreStatus.Ok, (await store.SetAsync(Key($"s{i}"), Write(data, TimeSpan.FromMinutes(5)))).Status);
        }

        var refused = await store.SetAsync(Key("s3"), Write(data, TimeSpan.FromMinutes(5)));
        var refusedCreate = await store.CreateUninitializedAsync(Key("s4"), TimeSpan.FromMinutes(5));
        var refusedLock = await store.GetExclusiveAsync(Key("s5"), new LockRequest(TimeSpan.Zero, null, CreateIfMissing: true));
        var update = await store.SetAsync(Key("s0"), Write(data, TimeSpan.FromMinutes(5)));

        Assert.Equal(StoreStatus.CapacityExceeded, refused.Status);
        Assert.Equal(StoreStatus.CapacityExceeded, refusedCreate.Status);
        Assert.Equal(StoreStatus.CapacityExceeded, refusedLock.Status);
        Assert.Equal(StoreStatus.Ok, update.Status);
        Assert.Equal(3, store.GetStatistics().RefusedCapacity);
        Assert.Equal(footprint * 3, store.GetStatistics().BytesHeld);

        await store.RemoveAsync(Key("s1"), null);
        Assert.Equal(StoreStatus.Ok, (await store.SetAsync(Key("s3"), Write(data, TimeSpan.FromMinutes(5)))).Status);
    }

    /// <summary>A writer-assigned version passes the same limits: a new item at the cap, an oversized item anywhere.</summary>
    [Fact]
    public async Task VersionedWrites_MeetTheMemoryCapAndTheSizeLimit_LikeAnyWrite()
    {
        var footprint = InMemorySessionStore.Footprint(Encoding.UTF8.GetByteCount("s0") + 10);
        var store = NewStore(new InMemorySessionStoreOptions { MemoryCapBytes = footprint, MaxItemBytes = 10 });
        var data = Encoding.UTF8.GetBytes(new string('d', 10));
        Assert.Equal(StoreStatus.Ok, (await store.SetAsync(Key("s0"), new SessionWrite(data, TimeSpan.FromMinutes(5), Version: 5))).Status);

        var newSession = await store.SetAsync(Key("s1"), new SessionWrite(data, TimeSpan.FromMinutes(5), Version: 5));
        var tooLarge = await store.SetAsync(Key("s0"), new SessionWrite(new byte[11], TimeSpan.FromMinutes(5), Version: 6));
        var existing = await store.SetAsync(Key("s0"), new SessionWrite(data, TimeSpan.FromMinutes(5), Version: 7));

        Assert.Equal(StoreStatus.CapacityExceeded, newSession.Status);
        Assert.Equal(StoreStatus.TooLarge, tooLarge.Status);
        Assert.Equal(StoreStatus.Ok, existing.Status);
        Assert.Equal(7, (await store.GetAsync(Key("s0"))).Item!.Version);
        Assert.Equal(StoreStatus.NotFound, (await store.GetAsync(Key("s1"))).Status);
    }

    [Fact]
    public async Task BytesHeld_FollowsWritesAndRemoves()
    {
        var store = NewStore();

        await store.SetAsync(Key("abc"), Write(new string('x', 100), TimeSpan.FromMinutes(5)));
        Assert.Equal(InMemorySessionStore.Footprint(103), store.GetStatistics().BytesHeld);
        await store.SetAsync(Key("abc"), Write(new string('x', 1000), TimeSpan.FromMinutes(5)));
        Assert.Equal(InMemorySessionStore.Footprint(1003), store.GetStatistics().BytesHeld);
        await store.RemoveAsync(Key("abc"), null);

        Assert.Equal(0, store.GetStatistics().BytesHeld);
        Assert.Equal(1, store.GetStatistics().SessionsAbandoned);
    }

    [Fact]
    public async Task TooLarge_IsRefusedAndCounted_AndStoresNothing()
    {
        var store = NewStore(new InMemorySessionStoreOptions { MaxItemBytes = 10 });

        var result = await store.SetAsync(Key("a"), Write(new string('x', 11), TimeSpan.FromMinutes(5)));

        Assert.Equal(StoreStatus.TooLarge, result.Status);
        Assert.Equal(1, store.GetStatistics().RefusedTooLarge);
        Assert.Equal(StoreStatus.NotFound, (await store.GetAsync(Key("a"))).Status);
    }

    [Fact]
    public async Task Waiter_TimesOutOnTheStoresClock()
    {
        var store = NewStore();
        await store.SetAsync(Key("a"), Write("x", TimeSpan.FromMinutes(5)));
        var held = await store.GetExclusiveAsync(Key("a"), LockRequest.NoWait);

        var waiting = store.GetExclusiveAsync(Key("a"), new LockRequest(TimeSpan.FromSeconds(10), TimeSpan.FromMinutes(10))).AsTask();
        Assert.False(waiting.IsCompleted);
        _time.Advance(TimeSpan.FromSeconds(11));
        var result = await waiting.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(StoreStatus.WaitTimeout, result.Status);
        Assert.Equal(held.Lock.LockId, result.Lock.LockId);
        Assert.Equal(1, store.GetStatistics().LocksWaited);
    }

    [Fact]
    public async Task Waiter_TakesOverWhenTheHoldersLockGoesStale_AndItIsCounted()
    {
        var store = NewStore();
        await store.SetAsync(Key("a"), Write("x", TimeSpan.FromMinutes(5)));
        var held = await store.GetExclusiveAsync(Key("a"), LockRequest.NoWait);

        var waiting = store.GetExclusiveAsync(Key("a"), new LockRequest(TimeSpan.FromMinutes(5), TimeSpan.FromSeconds(30))).AsTask();
        _time.Advance(TimeSpan.FromSeconds(31));
        var result = await waiting.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(StoreStatus.Ok, result.Status);
        Assert.True(result.TookOver);
        Assert.Equal(1, store.GetStatistics().LockTakeovers);
        Assert.Equal(StoreStatus.LockMismatch, (await store.SetAsync(Key("a"), Write("late", TimeSpan.FromMinutes(5), held.Lock.LockId))).Status);
    }

    [Fact]
    public async Task CancelledWaiter_LeavesTheQueue_AndTheNextWaiterGetsTheLock()
    {
        var store = NewStore();
        await store.SetAsync(Key("a"), Write("x", TimeSpan.FromMinutes(5)));
        var held = await store.GetExclusiveAsync(Key("a"), LockRequest.NoWait);
        using var cancel = new CancellationTokenSource();
        var request = new LockRequest(TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(10));

        var first = store.GetExclusiveAsync(Key("a"), request, cancel.Token).AsTask();
        var second = store.GetExclusiveAsync(Key("a"), request).AsTask();
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first);
        await store.ReleaseAsync(Key("a"), held.Lock.LockId);
        var result = await second.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(StoreStatus.Ok, result.Status);
    }

    [Fact]
    public async Task Remove_WakesWaiters_WhoSeeNotFound()
    {
        var store = NewStore();
        await store.SetAsync(Key("a"), Write("x", TimeSpan.FromMinutes(5)));
        var held = await store.GetExclusiveAsync(Key("a"), LockRequest.NoWait);

        var waiting = store.GetExclusiveAsync(Key("a"), new LockRequest(TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(10))).AsTask();
        await store.RemoveAsync(Key("a"), held.Lock.LockId);
        var result = await waiting.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(StoreStatus.NotFound, result.Status);
    }

    [Fact]
    public async Task Metrics_PublishTheCounters()
    {
        var store = NewStore();
        await store.SetAsync(Key("a"), Write("x", TimeSpan.FromMinutes(5)));
        await store.SetAsync(Key("b"), Write("y", TimeSpan.FromMinutes(5)));
        var seen = new Dictionary<string, long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "SessionRouter.StateServer")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, _, _) =>
        {
            lock (seen)
            {
                seen[instrument.Name] = seen.GetValueOrDefault(instrument.Name) + value;
            }
        });
        listener.Start();

        listener.RecordObservableInstruments();

        Assert.True(seen["sessionrouter.stateserver.sessions.active"] >= 2);
        Assert.True(seen["sessionrouter.stateserver.memory.held"] > 0);
        Assert.Contains("sessionrouter.stateserver.locks.takeovers", seen.Keys);
        Assert.Contains("sessionrouter.stateserver.refusals", seen.Keys);
    }

    [Fact]
    public void InvalidOptions_AreRefused_NamingTheSetting()
    {
        var error = Assert.Throws<ArgumentException>(() => new InMemorySessionStore(new InMemorySessionStoreOptions { MaxWaitersPerSession = -1 }, _time));

        Assert.Contains("MaxWaitersPerSession", error.Message, StringComparison.Ordinal);
    }
}
