using System.Collections.Concurrent;
using System.Text;
using SessionRouter.Core.Storage;
using Xunit;

namespace SessionRouter.Testing.StoreContract;

/// <summary>
/// The store contract (docs/design.md, Contracts), written once. Each store derives a class that supplies
/// <see cref="Store"/> (the built-in engine in process and over its protocol client, Redis standalone,
/// Redis Cluster) and inherits every test. Keys are unique per test, so stores may be shared by a fixture.
/// </summary>
/// <remarks>
/// Only what <see cref="ISessionStore"/> promises is tested here. Lock and wait timeouts are passed in
/// each <see cref="LockRequest"/> and kept short; tests wait with real short sleeps where a caller must
/// be parked first, and never assert how long anything took.
/// The store under test must be configured with a per-session waiter limit of <see cref="WaiterLimit"/>.
/// </remarks>
public abstract class SessionStoreContractTests
{
    /// <summary>The store under test.</summary>
    protected abstract ISessionStore Store { get; }

    /// <summary>The per-session waiter limit the store under test is configured with.</summary>
    protected virtual int WaiterLimit => 4;

    protected static TimeSpan ItemTimeout { get; } = TimeSpan.FromMinutes(5);

    /// <summary>Long enough that a test never reaches it unless it means to.</summary>
    protected static TimeSpan LongWait { get; } = TimeSpan.FromSeconds(20);

    /// <summary>
    /// How long a test lets something happen that must not (a parked caller must stay parked): a negative check
    /// only, never a wait for a caller to arrive (<see cref="WaitUntilWaitingAsync"/> does that).
    /// </summary>
    protected static TimeSpan SettleDelay { get; } = TimeSpan.FromMilliseconds(150);

    /// <summary>How many callers the store under test has parked now, waiting for the lock of <paramref name="key"/>.</summary>
    protected abstract int WaitingCallers(SessionKey key);

    /// <summary>
    /// Waits until the store has parked <paramref name="count"/> callers for the lock of <paramref name="key"/>.
    /// A started caller's request can take any time to reach the store on a busy machine (thread pool, network,
    /// a Redis round trip before it queues): a fixed sleep would let the next step overtake it.
    /// </summary>
    protected async Task WaitUntilWaitingAsync(SessionKey key, int count)
    {
        using var bound = new CancellationTokenSource(LongWait);
        while (WaitingCallers(key) < count)
        {
            try
            {
                await Task.Delay(10, bound.Token);
            }
            catch (OperationCanceledException) when (bound.IsCancellationRequested)
            {
                throw new TimeoutException($"{WaitingCallers(key)} callers parked for the lock after {LongWait.TotalSeconds} s, expected {count}");
            }
        }
    }

    protected static SessionKey NewKey() => new("contract", Guid.NewGuid().ToString("N"));

    protected static ReadOnlyMemory<byte> Blob(string text) => Encoding.UTF8.GetBytes(text);

    protected static string Text(SessionItem? item) => Encoding.UTF8.GetString(item!.Data.Span);

    protected static LockRequest Wait(TimeSpan wait, TimeSpan? lockTimeout = null) => new(wait, lockTimeout ?? TimeSpan.FromMinutes(2));

    protected static LockRequest NoWait { get; } = new(TimeSpan.Zero, TimeSpan.FromMinutes(2));

    private async Task<long> SeedAsync(SessionKey key, string text)
    {
        var write = await Store.SetAsync(key, new SessionWrite(Blob(text), ItemTimeout));
        Assert.Equal(StoreStatus.Ok, write.Status);
        return write.Version;
    }

    private async Task<SessionLock> LockAsync(SessionKey key, LockRequest? request = null)
    {
        var read = await Store.GetExclusiveAsync(key, request ?? NoWait);
        Assert.Equal(StoreStatus.Ok, read.Status);
        Assert.True(read.Lock.IsHeld);
        return read.Lock;
    }

    // ---- plain reads and writes ----

    [Fact]
    public async Task Get_OfUnknownSession_IsNotFound()
    {
        var result = await Store.GetAsync(NewKey());

        Assert.Equal(StoreStatus.NotFound, result.Status);
        Assert.Null(result.Item);
    }

    [Fact]
    public async Task Set_ThenGet_ReturnsDataAndAPositiveVersion()
    {
        var key = NewKey();

        var write = await Store.SetAsync(key, new SessionWrite(Blob("hello"), ItemTimeout));
        var read = await Store.GetAsync(key);

        Assert.Equal(StoreStatus.Ok, write.Status);
        Assert.True(write.Version > 0);
        Assert.Equal(StoreStatus.Ok, read.Status);
        Assert.Equal("hello", Text(read.Item));
        Assert.Equal(write.Version, read.Item!.Version);
        Assert.False(read.Lock.IsHeld);
    }

    [Fact]
    public async Task Set_EveryWrite_RaisesTheVersion()
    {
        var key = NewKey();

        var first = await SeedAsync(key, "1");
        var second = await SeedAsync(key, "2");
        var third = await SeedAsync(key, "3");

        Assert.True(second > first);
        Assert.True(third > second);
        Assert.Equal("3", Text((await Store.GetAsync(key)).Item));
    }

    [Fact]
    public async Task Set_OfEmptyData_IsStoredAndReadBackEmpty()
    {
        var key = NewKey();

        await SeedAsync(key, string.Empty);
        var read = await Store.GetAsync(key);

        Assert.Equal(StoreStatus.Ok, read.Status);
        Assert.Equal(0, read.Item!.Data.Length);
    }

    [Fact]
    public async Task Set_OfBinaryData_RoundTripsEveryByte()
    {
        var key = NewKey();
        var data = Enumerable.Range(0, 4096).Select(i => (byte)(i * 31)).ToArray();

        await Store.SetAsync(key, new SessionWrite(data, ItemTimeout));
        var read = await Store.GetAsync(key);

        Assert.Equal(data, read.Item!.Data.ToArray());
    }

    [Fact]
    public async Task Applications_WithTheSameSessionId_DoNotSeeEachOther()
    {
        var id = Guid.NewGuid().ToString("N");
        var first = new SessionKey("contract-a", id);
        var second = new SessionKey("contract-b", id);

        await SeedAsync(first, "a");

        Assert.Equal(StoreStatus.NotFound, (await Store.GetAsync(second)).Status);
        await SeedAsync(second, "b");
        Assert.Equal("a", Text((await Store.GetAsync(first)).Item));
        Assert.Equal("b", Text((await Store.GetAsync(second)).Item));
    }

    // ---- conditional writes ----

    [Fact]
    public async Task ConditionalSet_WithTheCurrentVersion_IsApplied()
    {
        var key = NewKey();
        var version = await SeedAsync(key, "old");

        var write = await Store.SetAsync(key, new SessionWrite(Blob("new"), ItemTimeout, ExpectedVersion: version));

        Assert.Equal(StoreStatus.Ok, write.Status);
        Assert.True(write.Version > version);
        Assert.Equal("new", Text((await Store.GetAsync(key)).Item));
    }

    [Fact]
    public async Task ConditionalSet_WithAStaleVersion_IsRefusedAndChangesNothing()
    {
        var key = NewKey();
        var stale = await SeedAsync(key, "first");
        var current = await SeedAsync(key, "second");

        var write = await Store.SetAsync(key, new SessionWrite(Blob("lost"), ItemTimeout, ExpectedVersion: stale));
        var read = await Store.GetAsync(key);

        Assert.Equal(StoreStatus.VersionConflict, write.Status);
        Assert.Equal("second", Text(read.Item));
        Assert.Equal(current, read.Item!.Version);
    }

    [Fact]
    public async Task ConditionalSet_WithVersionZero_CreatesOnlyWhenMissing()
    {
        var key = NewKey();

        var create = await Store.SetAsync(key, new SessionWrite(Blob("first"), ItemTimeout, ExpectedVersion: 0));
        var again = await Store.SetAsync(key, new SessionWrite(Blob("second"), ItemTimeout, ExpectedVersion: 0));

        Assert.Equal(StoreStatus.Ok, create.Status);
        Assert.Equal(StoreStatus.AlreadyExists, again.Status);
        Assert.Equal("first", Text((await Store.GetAsync(key)).Item));
    }

    [Fact]
    public async Task ConditionalSet_UnderTheLock_WithAStaleVersion_IsRefused()
    {
        var key = NewKey();
        var stale = await SeedAsync(key, "first");
        await SeedAsync(key, "second");
        var held = await LockAsync(key);

        var write = await Store.SetAsync(key, new SessionWrite(Blob("lost"), ItemTimeout, held.LockId, ExpectedVersion: stale));

        Assert.Equal(StoreStatus.VersionConflict, write.Status);
        Assert.Equal("second", Text((await Store.GetAsync(key)).Item));
    }

    // ---- writer-assigned versions (SessionWrite.Version) ----

    [Fact]
    public async Task VersionedSet_NewerThanTheItem_IsAppliedWithExactlyThatVersion()
    {
        var key = NewKey();
        var current = await SeedAsync(key, "old");

        var write = await Store.SetAsync(key, new SessionWrite(Blob("new"), ItemTimeout, Version: current + 10));
        var read = await Store.GetAsync(key);

        Assert.Equal(StoreStatus.Ok, write.Status);
        Assert.Equal(current + 10, write.Version);
        Assert.Equal("new", Text(read.Item));
        Assert.Equal(current + 10, read.Item!.Version);
    }

    [Fact]
    public async Task VersionedSet_EqualToTheItem_IsOk_AndLeavesTheData()
    {
        var key = NewKey();
        var current = await SeedAsync(key, "seed");
        await Store.SetAsync(key, new SessionWrite(Blob("first"), ItemTimeout, Version: current + 5));

        var again = await Store.SetAsync(key, new SessionWrite(Blob("second"), ItemTimeout, Version: current + 5));
        var read = await Store.GetAsync(key);

        Assert.Equal(StoreStatus.Ok, again.Status);
        Assert.Equal(current + 5, again.Version);
        Assert.Equal("first", Text(read.Item));
        Assert.Equal(current + 5, read.Item!.Version);
    }

    [Fact]
    public async Task VersionedSet_LowerThanTheItem_IsAConflict_NamingTheCurrentVersion()
    {
        var key = NewKey();
        await Store.SetAsync(key, new SessionWrite(Blob("newer"), ItemTimeout, Version: 100));

        var late = await Store.SetAsync(key, new SessionWrite(Blob("older"), ItemTimeout, Version: 50));
        var read = await Store.GetAsync(key);

        Assert.Equal(StoreStatus.VersionConflict, late.Status);
        Assert.Equal(100, late.Version);
        Assert.Equal("newer", Text(read.Item));
        Assert.Equal(100, read.Item!.Version);
    }

    [Fact]
    public async Task VersionedSet_OfAMissingItem_CreatesItWithThatVersion()
    {
        var key = NewKey();

        var write = await Store.SetAsync(key, new SessionWrite(Blob("created"), ItemTimeout, Version: 7));
        var read = await Store.GetAsync(key);

        Assert.Equal(StoreStatus.Ok, write.Status);
        Assert.Equal(7, write.Version);
        Assert.Equal("created", Text(read.Item));
        Assert.Equal(7, read.Item!.Version);
        Assert.False(read.Item.IsUninitialized);
    }

    [Fact]
    public async Task VersionedSet_PastWhatADoubleHolds_KeepsEveryVersionExactly()
    {
        var key = NewKey();
        const long PastDoubles = (1L << 53) + 1;

        var first = await Store.SetAsync(key, new SessionWrite(Blob("a"), ItemTimeout, Version: PastDoubles));
        var oneBelow = await Store.SetAsync(key, new SessionWrite(Blob("b"), ItemTimeout, Version: PastDoubles - 1));
        var highest = await Store.SetAsync(key, new SessionWrite(Blob("c"), ItemTimeout, Version: long.MaxValue - 1));
        var next = await Store.SetAsync(key, new SessionWrite(Blob("d"), ItemTimeout));

        Assert.Equal(PastDoubles, first.Version);
        Assert.Equal(StoreStatus.VersionConflict, oneBelow.Status);
        Assert.Equal(PastDoubles, oneBelow.Version);
        Assert.Equal(long.MaxValue - 1, highest.Version);
        Assert.Equal(long.MaxValue, next.Version);
        Assert.Equal(long.MaxValue, (await Store.GetAsync(key)).Item!.Version);
    }

    [Fact]
    public async Task VersionedSet_WithAnotherHoldersLockId_IsStillRefusedAsMismatch()
    {
        var key = NewKey();
        var current = await SeedAsync(key, "state");
        var held = await LockAsync(key);

        var write = await Store.SetAsync(key, new SessionWrite(Blob("intruder"), ItemTimeout, held.LockId + 1000, Version: current + 1));
        var unlocked = await Store.SetAsync(NewKey(), new SessionWrite(Blob("no item"), ItemTimeout, held.LockId, Version: 1));
        var read = await Store.GetAsync(key);

        Assert.Equal(StoreStatus.LockMismatch, write.Status);
        Assert.Equal(held.LockId, write.Lock.LockId);
        Assert.Equal(StoreStatus.LockMismatch, unlocked.Status);
        Assert.Equal("state", Text(read.Item));
        Assert.Equal(current, read.Item!.Version);
        Assert.Equal(held.LockId, read.Lock.LockId);
    }

    [Fact]
    public async Task VersionedSet_WithTheLock_ReleasesIt_WhenNewer_AndWhenEqual()
    {
        var key = NewKey();
        var current = await SeedAsync(key, "state");
        var first = await LockAsync(key);

        var newer = await Store.SetAsync(key, new SessionWrite(Blob("newer"), ItemTimeout, first.LockId, Version: current + 3));
        var second = await LockAsync(key);
        var equal = await Store.SetAsync(key, new SessionWrite(Blob("ignored"), ItemTimeout, second.LockId, Version: current + 3));
        var third = await Store.GetExclusiveAsync(key, NoWait);

        Assert.Equal(StoreStatus.Ok, newer.Status);
        Assert.Equal(current + 3, newer.Version);
        Assert.Equal(StoreStatus.Ok, equal.Status);
        Assert.Equal(current + 3, equal.Version);
        Assert.Equal(StoreStatus.Ok, third.Status);
        Assert.Equal("newer", Text(third.Item));
        Assert.Equal(current + 3, third.Item!.Version);
        Assert.NotEqual(second.LockId, third.Lock.LockId);
    }

    [Fact]
    public async Task VersionedSet_WithTheLock_RefusedAsOlder_KeepsTheLockForItsHolder()
    {
        var key = NewKey();
        await Store.SetAsync(key, new SessionWrite(Blob("newer"), ItemTimeout, Version: 20));
        var held = await LockAsync(key);

        var late = await Store.SetAsync(key, new SessionWrite(Blob("older"), ItemTimeout, held.LockId, Version: 10));
        var other = await Store.GetExclusiveAsync(key, NoWait);
        var release = await Store.ReleaseAsync(key, held.LockId);

        Assert.Equal(StoreStatus.VersionConflict, late.Status);
        Assert.Equal(20, late.Version);
        Assert.Equal(StoreStatus.Locked, other.Status);
        Assert.Equal(held.LockId, other.Lock.LockId);
        Assert.Equal(StoreStatus.Ok, release.Status);
        Assert.Equal("newer", Text((await Store.GetAsync(key)).Item));
    }

    [Fact]
    public async Task VersionedSet_WithoutALock_RepairsALockedItem_AndTheHolderStillSaves()
    {
        var key = NewKey();
        var current = await SeedAsync(key, "stale");
        var held = await LockAsync(key);

        var repair = await Store.SetAsync(key, new SessionWrite(Blob("repaired"), ItemTimeout, Version: current + 10));
        var read = await Store.GetAsync(key);
        var other = await Store.GetExclusiveAsync(key, NoWait);
        var save = await Store.SetAsync(key, new SessionWrite(Blob("saved"), ItemTimeout, held.LockId));

        Assert.Equal(StoreStatus.Ok, repair.Status);
        Assert.Equal(current + 10, repair.Version);
        Assert.Equal("repaired", Text(read.Item));
        Assert.Equal(current + 10, read.Item!.Version);
        Assert.Equal(held.LockId, read.Lock.LockId);
        Assert.Equal(StoreStatus.Locked, other.Status);
        Assert.Equal(held.LockId, other.Lock.LockId);
        Assert.Equal(StoreStatus.Ok, save.Status);
        Assert.Equal(current + 11, save.Version);
        Assert.Equal(StoreStatus.Ok, (await Store.GetExclusiveAsync(key, NoWait)).Status);
    }

    [Fact]
    public async Task VersionedSet_WithoutALock_RepairsALockedItem_AndTheHolderStillReleases()
    {
        var key = NewKey();
        var current = await SeedAsync(key, "stale");
        var held = await LockAsync(key);

        var repair = await Store.SetAsync(key, new SessionWrite(Blob("repaired"), ItemTimeout, Version: current + 1));
        var equal = await Store.SetAsync(key, new SessionWrite(Blob("repaired twice"), ItemTimeout, Version: current + 1));
        var older = await Store.SetAsync(key, new SessionWrite(Blob("older"), ItemTimeout, Version: current));
        var release = await Store.ReleaseAsync(key, held.LockId);
        var next = await Store.GetExclusiveAsync(key, NoWait);

        Assert.Equal(StoreStatus.Ok, repair.Status);
        Assert.Equal(StoreStatus.Ok, equal.Status);
        Assert.Equal(StoreStatus.VersionConflict, older.Status);
        Assert.Equal(current + 1, older.Version);
        Assert.Equal(StoreStatus.Ok, release.Status);
        Assert.Equal(StoreStatus.Ok, next.Status);
        Assert.Equal("repaired", Text(next.Item));
        Assert.Equal(current + 1, next.Item!.Version);
    }

    [Fact]
    public async Task VersionedSet_OverwritesAnUninitializedItem_WhichStopsBeingUninitialized()
    {
        var key = NewKey();
        var create = await Store.CreateUninitializedAsync(key, ItemTimeout);

        var write = await Store.SetAsync(key, new SessionWrite(Blob("filled"), ItemTimeout, Version: create.Version + 5));
        var read = await Store.GetAsync(key);

        Assert.Equal(StoreStatus.Ok, write.Status);
        Assert.Equal(create.Version + 5, read.Item!.Version);
        Assert.Equal("filled", Text(read.Item));
        Assert.False(read.Item.IsUninitialized);
    }

    [Fact]
    public async Task VersionedSet_OverwritesAnItemACreatingReadLocked_AndTheCreatorStillReleases()
    {
        var key = NewKey();
        var creator = await Store.GetExclusiveAsync(key, new LockRequest(TimeSpan.Zero, TimeSpan.FromMinutes(2), CreateIfMissing: true, ItemTimeout));
        Assert.True(creator.Item!.IsUninitialized);

        var repair = await Store.SetAsync(key, new SessionWrite(Blob("repaired"), ItemTimeout, Version: creator.Item.Version + 5));
        var release = await Store.ReleaseAsync(key, creator.Lock.LockId);
        var read = await Store.GetAsync(key);

        Assert.Equal(StoreStatus.Ok, repair.Status);
        Assert.Equal(StoreStatus.Ok, release.Status);
        Assert.Equal("repaired", Text(read.Item));
        Assert.Equal(creator.Item.Version + 5, read.Item!.Version);
        Assert.False(read.Item.IsUninitialized);
    }

    [Fact]
    public async Task StoreAssignedWrites_AfterAWriterAssignedVersion_RiseFromIt()
    {
        var key = NewKey();
        await SeedAsync(key, "first");
        await Store.SetAsync(key, new SessionWrite(Blob("replicated"), ItemTimeout, Version: 1000));

        var plain = await Store.SetAsync(key, new SessionWrite(Blob("plain"), ItemTimeout));
        var held = await LockAsync(key);
        var locked = await Store.SetAsync(key, new SessionWrite(Blob("locked"), ItemTimeout, held.LockId));
        var conditional = await Store.SetAsync(key, new SessionWrite(Blob("conditional"), ItemTimeout, ExpectedVersion: locked.Version));

        Assert.Equal(1001, plain.Version);
        Assert.Equal(1002, locked.Version);
        Assert.Equal(StoreStatus.Ok, conditional.Status);
        Assert.Equal(1003, conditional.Version);
    }

    [Fact]
    public async Task Waiter_IsHandedTheLock_WhenTheHoldersVersionedWriteReleasesIt()
    {
        var key = NewKey();
        var current = await SeedAsync(key, "v1");
        var held = await LockAsync(key);

        var waiting = Store.GetExclusiveAsync(key, Wait(LongWait)).AsTask();
        await WaitUntilWaitingAsync(key, 1);
        Assert.False(waiting.IsCompleted);
        var write = await Store.SetAsync(key, new SessionWrite(Blob("v2"), ItemTimeout, held.LockId, Version: current + 2));
        var woken = await waiting.WaitAsync(LongWait);

        Assert.Equal(StoreStatus.Ok, write.Status);
        Assert.Equal(StoreStatus.Ok, woken.Status);
        Assert.Equal("v2", Text(woken.Item));
        Assert.Equal(current + 2, woken.Item!.Version);
        Assert.NotEqual(held.LockId, woken.Lock.LockId);
    }

    [Fact]
    public async Task VersionedSet_WithAnExpectedVersionToo_OrNotPositive_IsAnArgumentError_AndChangesNothing()
    {
        var key = NewKey();
        var current = await SeedAsync(key, "kept");

        await Assert.ThrowsAsync<ArgumentException>(async () => await Store.SetAsync(key, new SessionWrite(Blob("both"), ItemTimeout, ExpectedVersion: current, Version: current + 1)));
        await Assert.ThrowsAsync<ArgumentException>(async () => await Store.SetAsync(key, new SessionWrite(Blob("both"), ItemTimeout, ExpectedVersion: 0, Version: current + 1)));
        await Assert.ThrowsAsync<ArgumentException>(async () => await Store.SetAsync(key, new SessionWrite(Blob("zero"), ItemTimeout, Version: 0)));
        await Assert.ThrowsAsync<ArgumentException>(async () => await Store.SetAsync(key, new SessionWrite(Blob("negative"), ItemTimeout, Version: -1)));
        var read = await Store.GetAsync(key);

        Assert.Equal("kept", Text(read.Item));
        Assert.Equal(current, read.Item!.Version);
    }

    // ---- writes that keep their lock (a gateway's lease) ----

    /// <summary>Lock timeout of the takeover attempts below; the lease tests sleep past it on purpose.</summary>
    private static TimeSpan LeaseLockTimeout { get; } = TimeSpan.FromMilliseconds(500);

    private static TimeSpan PastLeaseLockTimeout { get; } = TimeSpan.FromMilliseconds(700);

    [Fact]
    public async Task KeepLockSet_IsApplied_AndTheHolderKeepsTheLock()
    {
        var key = NewKey();
        var current = await SeedAsync(key, "v1");
        var held = await LockAsync(key);

        var kept = await Store.SetAsync(key, new SessionWrite(Blob("v2"), ItemTimeout, held.LockId, KeepLock: true));
        var other = await Store.GetExclusiveAsync(key, NoWait);
        var read = await Store.GetAsync(key);
        var again = await Store.SetAsync(key, new SessionWrite(Blob("v3"), ItemTimeout, held.LockId, KeepLock: true));
        var stillHeld = await Store.GetExclusiveAsync(key, NoWait);
        var final = await Store.SetAsync(key, new SessionWrite(Blob("v4"), ItemTimeout, held.LockId));
        var next = await Store.GetExclusiveAsync(key, NoWait);

        Assert.Equal(StoreStatus.Ok, kept.Status);
        Assert.True(kept.Version > current);
        Assert.Equal(StoreStatus.Locked, other.Status);
        Assert.Equal(held.LockId, other.Lock.LockId);
        Assert.Equal("v2", Text(read.Item));
        Assert.Equal(kept.Version, read.Item!.Version);
        Assert.Equal(held.LockId, read.Lock.LockId);
        Assert.Equal(StoreStatus.Ok, again.Status);
        Assert.True(again.Version > kept.Version);
        Assert.Equal(StoreStatus.Locked, stillHeld.Status);
        Assert.Equal(held.LockId, stillHeld.Lock.LockId);
        Assert.Equal(StoreStatus.Ok, final.Status);
        Assert.Equal(StoreStatus.Ok, next.Status);
        Assert.Equal("v4", Text(next.Item));
        Assert.NotEqual(held.LockId, next.Lock.LockId);
    }

    [Fact]
    public async Task KeepLockSet_RestartsTheLocksAge_SoTheTakeoverCountsFromTheWrite()
    {
        var key = NewKey();
        await SeedAsync(key, "v1");
        var held = await LockAsync(key);
        await Task.Delay(PastLeaseLockTimeout);

        var renewed = await Store.SetAsync(key, new SessionWrite(Blob("v2"), ItemTimeout, held.LockId, KeepLock: true));
        var attempt = await Store.GetExclusiveAsync(key, new LockRequest(TimeSpan.Zero, LeaseLockTimeout));

        Assert.Equal(StoreStatus.Ok, renewed.Status);
        Assert.Equal(StoreStatus.Locked, attempt.Status);
        Assert.False(attempt.TookOver);
        Assert.Equal(held.LockId, attempt.Lock.LockId);

        // Not renewed again, the lease lapses like any lock.
        await Task.Delay(PastLeaseLockTimeout);
        var takeover = await Store.GetExclusiveAsync(key, new LockRequest(TimeSpan.Zero, LeaseLockTimeout));
        var late = await Store.SetAsync(key, new SessionWrite(Blob("late"), ItemTimeout, held.LockId, KeepLock: true));

        Assert.Equal(StoreStatus.Ok, takeover.Status);
        Assert.True(takeover.TookOver);
        Assert.Equal("v2", Text(takeover.Item));
        Assert.NotEqual(held.LockId, takeover.Lock.LockId);
        Assert.Equal(StoreStatus.LockMismatch, late.Status);
        Assert.Equal(takeover.Lock.LockId, late.Lock.LockId);
    }

    [Fact]
    public async Task KeepLockVersionedSet_NewerAndEqual_KeepTheLock()
    {
        var key = NewKey();
        var current = await SeedAsync(key, "state");
        var held = await LockAsync(key);

        var newer = await Store.SetAsync(key, new SessionWrite(Blob("newer"), ItemTimeout, held.LockId, Version: current + 3, KeepLock: true));
        var afterNewer = await Store.GetExclusiveAsync(key, NoWait);
        var equal = await Store.SetAsync(key, new SessionWrite(Blob("ignored"), ItemTimeout, held.LockId, Version: current + 3, KeepLock: true));
        var afterEqual = await Store.GetExclusiveAsync(key, NoWait);
        var release = await Store.ReleaseAsync(key, held.LockId);
        var read = await Store.GetAsync(key);

        Assert.Equal(StoreStatus.Ok, newer.Status);
        Assert.Equal(current + 3, newer.Version);
        Assert.Equal(StoreStatus.Locked, afterNewer.Status);
        Assert.Equal(held.LockId, afterNewer.Lock.LockId);
        Assert.Equal(StoreStatus.Ok, equal.Status);
        Assert.Equal(current + 3, equal.Version);
        Assert.Equal(StoreStatus.Locked, afterEqual.Status);
        Assert.Equal(held.LockId, afterEqual.Lock.LockId);
        Assert.Equal(StoreStatus.Ok, release.Status);
        Assert.Equal("newer", Text(read.Item));
        Assert.Equal(current + 3, read.Item!.Version);
        Assert.False(read.Lock.IsHeld);
    }

    [Fact]
    public async Task KeepLockVersionedSet_EqualToTheItem_RestartsTheLocksAge()
    {
        var key = NewKey();
        var current = await SeedAsync(key, "state");
        var held = await LockAsync(key);
        await Task.Delay(PastLeaseLockTimeout);

        var equal = await Store.SetAsync(key, new SessionWrite(Blob("ignored"), ItemTimeout, held.LockId, Version: current, KeepLock: true));
        var attempt = await Store.GetExclusiveAsync(key, new LockRequest(TimeSpan.Zero, LeaseLockTimeout));

        Assert.Equal(StoreStatus.Ok, equal.Status);
        Assert.Equal(current, equal.Version);
        Assert.Equal(StoreStatus.Locked, attempt.Status);
        Assert.False(attempt.TookOver);
        Assert.Equal(held.LockId, attempt.Lock.LockId);
        Assert.Equal("state", Text((await Store.GetAsync(key)).Item));
    }

    [Fact]
    public async Task KeepLockSet_Refused_LeavesTheLockAsARefusedWriteDoes()
    {
        var key = NewKey();
        await Store.SetAsync(key, new SessionWrite(Blob("newer"), ItemTimeout, Version: 20));
        var held = await LockAsync(key);

        var older = await Store.SetAsync(key, new SessionWrite(Blob("older"), ItemTimeout, held.LockId, Version: 10, KeepLock: true));
        var intruder = await Store.SetAsync(key, new SessionWrite(Blob("intruder"), ItemTimeout, held.LockId + 1000, KeepLock: true));
        var missing = await Store.SetAsync(NewKey(), new SessionWrite(Blob("no item"), ItemTimeout, held.LockId, KeepLock: true));
        var other = await Store.GetExclusiveAsync(key, NoWait);
        var release = await Store.ReleaseAsync(key, held.LockId);
        var read = await Store.GetAsync(key);

        Assert.Equal(StoreStatus.VersionConflict, older.Status);
        Assert.Equal(20, older.Version);
        Assert.Equal(StoreStatus.LockMismatch, intruder.Status);
        Assert.Equal(held.LockId, intruder.Lock.LockId);
        Assert.Equal(StoreStatus.LockMismatch, missing.Status);
        Assert.Equal(StoreStatus.Locked, other.Status);
        Assert.Equal(held.LockId, other.Lock.LockId);
        Assert.Equal(StoreStatus.Ok, release.Status);
        Assert.Equal("newer", Text(read.Item));
        Assert.Equal(20, read.Item!.Version);
        Assert.False(read.Lock.IsHeld);
    }

    [Fact]
    public async Task KeepLockSet_Refused_DoesNotRestartTheLocksAge()
    {
        var key = NewKey();
        await Store.SetAsync(key, new SessionWrite(Blob("newer"), ItemTimeout, Version: 20));
        var held = await LockAsync(key);
        await Task.Delay(PastLeaseLockTimeout);

        var older = await Store.SetAsync(key, new SessionWrite(Blob("older"), ItemTimeout, held.LockId, Version: 10, KeepLock: true));
        var intruder = await Store.SetAsync(key, new SessionWrite(Blob("intruder"), ItemTimeout, held.LockId + 1000, KeepLock: true));
        var takeover = await Store.GetExclusiveAsync(key, new LockRequest(TimeSpan.Zero, LeaseLockTimeout));

        Assert.Equal(StoreStatus.VersionConflict, older.Status);
        Assert.Equal(StoreStatus.LockMismatch, intruder.Status);
        Assert.Equal(StoreStatus.Ok, takeover.Status);
        Assert.True(takeover.TookOver);
        Assert.Equal("newer", Text(takeover.Item));
        Assert.NotEqual(held.LockId, takeover.Lock.LockId);
    }

    [Fact]
    public async Task Waiter_StaysQueuedWhileTheHolderKeepsTheLock_AndIsHandedItByTheFinalWrite()
    {
        var key = NewKey();
        await SeedAsync(key, "v1");
        var held = await LockAsync(key);

        var waiting = Store.GetExclusiveAsync(key, Wait(LongWait)).AsTask();
        await WaitUntilWaitingAsync(key, 1);
        Assert.False(waiting.IsCompleted);
        var kept = await Store.SetAsync(key, new SessionWrite(Blob("v2"), ItemTimeout, held.LockId, KeepLock: true));
        await Task.Delay(SettleDelay);
        Assert.False(waiting.IsCompleted);
        var final = await Store.SetAsync(key, new SessionWrite(Blob("v3"), ItemTimeout, held.LockId));
        var woken = await waiting.WaitAsync(LongWait);

        Assert.Equal(StoreStatus.Ok, kept.Status);
        Assert.Equal(StoreStatus.Ok, final.Status);
        Assert.Equal(StoreStatus.Ok, woken.Status);
        Assert.Equal("v3", Text(woken.Item));
        Assert.Equal(final.Version, woken.Item!.Version);
        Assert.True(woken.Lock.IsHeld);
        Assert.NotEqual(held.LockId, woken.Lock.LockId);
    }

    [Fact]
    public async Task KeepLockSet_WithoutALockId_IsAnArgumentError_AndChangesNothing()
    {
        var key = NewKey();
        var current = await SeedAsync(key, "kept");
        var missing = NewKey();

        await Assert.ThrowsAsync<ArgumentException>(async () => await Store.SetAsync(key, new SessionWrite(Blob("no lock"), ItemTimeout, KeepLock: true)));
        await Assert.ThrowsAsync<ArgumentException>(async () => await Store.SetAsync(key, new SessionWrite(Blob("no lock"), ItemTimeout, Version: current + 1, KeepLock: true)));
        await Assert.ThrowsAsync<ArgumentException>(async () => await Store.SetAsync(missing, new SessionWrite(Blob("no lock"), ItemTimeout, KeepLock: true)));
        var read = await Store.GetAsync(key);

        Assert.Equal("kept", Text(read.Item));
        Assert.Equal(current, read.Item!.Version);
        Assert.False(read.Lock.IsHeld);
        Assert.Equal(StoreStatus.NotFound, (await Store.GetAsync(missing)).Status);
    }

    // ---- locks ----

    [Fact]
    public async Task GetExclusive_OfUnknownSession_IsNotFound()
    {
        var result = await Store.GetExclusiveAsync(NewKey(), NoWait);

        Assert.Equal(StoreStatus.NotFound, result.Status);
        Assert.False(result.Lock.IsHeld);
    }

    [Fact]
    public async Task GetExclusive_ReturnsTheDataTheVersionAndANewLock()
    {
        var key = NewKey();
        var version = await SeedAsync(key, "state");

        var read = await Store.GetExclusiveAsync(key, NoWait);

        Assert.Equal(StoreStatus.Ok, read.Status);
        Assert.Equal("state", Text(read.Item));
        Assert.Equal(version, read.Item!.Version);
        Assert.True(read.Lock.IsHeld);
        Assert.NotEqual(0, read.Lock.LockId);
        Assert.False(read.TookOver);
    }

    [Fact]
    public async Task GetExclusive_WhileLocked_AnswersLockedWithTheHoldersLock()
    {
        var key = NewKey();
        await SeedAsync(key, "state");
        var held = await LockAsync(key);

        var second = await Store.GetExclusiveAsync(key, NoWait);

        Assert.Equal(StoreStatus.Locked, second.Status);
        Assert.Equal(held.LockId, second.Lock.LockId);
        Assert.True(second.Lock.Age >= TimeSpan.Zero);
    }

    [Fact]
    public async Task Get_WhileLocked_ReturnsTheCommittedDataAndTheHoldersLockWithoutWaiting()
    {
        var key = NewKey();
        var version = await SeedAsync(key, "committed");
        var held = await LockAsync(key);

        var read = await Store.GetAsync(key);

        Assert.Equal(StoreStatus.Ok, read.Status);
        Assert.Equal("committed", Text(read.Item));
        Assert.Equal(version, read.Item!.Version);
        Assert.Equal(held.LockId, read.Lock.LockId);
    }

    [Fact]
    public async Task LockIds_AreNeverZeroAndRiseFromOneLockToTheNext()
    {
        var key = NewKey();
        await SeedAsync(key, "state");
        var previous = 0L;

        for (var i = 0; i < 5; i++)
        {
            var held = await LockAsync(key);
            Assert.True(held.LockId > previous, $"lock id {held.LockId} did not rise above {previous}");
            Assert.Equal(StoreStatus.Ok, (await Store.ReleaseAsync(key, held.LockId)).Status);
            previous = held.LockId;
        }
    }

    [Fact]
    public async Task Release_WithAnotherHoldersLockId_IsRefusedAndTheLockStays()
    {
        var key = NewKey();
        await SeedAsync(key, "state");
        var held = await LockAsync(key);

        var release = await Store.ReleaseAsync(key, held.LockId + 1000);
        var stillLocked = await Store.GetExclusiveAsync(key, NoWait);

        Assert.Equal(StoreStatus.LockMismatch, release.Status);
        Assert.Equal(StoreStatus.Locked, stillLocked.Status);
        Assert.Equal(held.LockId, stillLocked.Lock.LockId);
    }

    [Fact]
    public async Task Release_ByTheHolder_LetsTheNextCallerLock()
    {
        var key = NewKey();
        await SeedAsync(key, "state");
        var held = await LockAsync(key);

        var release = await Store.ReleaseAsync(key, held.LockId);
        var next = await Store.GetExclusiveAsync(key, NoWait);

        Assert.Equal(StoreStatus.Ok, release.Status);
        Assert.Equal(StoreStatus.Ok, next.Status);
        Assert.NotEqual(held.LockId, next.Lock.LockId);
    }

    [Fact]
    public async Task ProposedLockId_IsTheLocksId_SoACallerThatLostTheReplyCanStillRelease()
    {
        var key = NewKey();
        await SeedAsync(key, "state");
        var proposed = Random.Shared.NextInt64(1, long.MaxValue);

        var granted = await Store.GetExclusiveAsync(key, NoWait with { ProposedLockId = proposed });
        Assert.Equal(StoreStatus.Ok, granted.Status);
        Assert.Equal(proposed, granted.Lock.LockId);

        // The reply never reached the caller: it releases with the id it proposed.
        Assert.Equal(StoreStatus.Ok, (await Store.ReleaseAsync(key, proposed)).Status);
        Assert.Equal(StoreStatus.Ok, (await Store.GetExclusiveAsync(key, NoWait)).Status);
    }

    [Fact]
    public async Task ProposedLockId_OfACreatingRead_AndOfAWaiter_IsTheirLocksId()
    {
        var key = NewKey();
        var first = Random.Shared.NextInt64(1, long.MaxValue);
        var second = Random.Shared.NextInt64(1, long.MaxValue);

        var created = await Store.GetExclusiveAsync(key, new LockRequest(TimeSpan.Zero, CreateIfMissing: true, ItemTimeout: ItemTimeout, ProposedLockId: first));
        Assert.Equal(StoreStatus.Ok, created.Status);
        Assert.Equal(first, created.Lock.LockId);

        var waiting = Store.GetExclusiveAsync(key, Wait(LongWait) with { ProposedLockId = second }).AsTask();
        await WaitUntilWaitingAsync(key, 1);
        Assert.Equal(StoreStatus.Ok, (await Store.ReleaseAsync(key, first)).Status);
        var woken = await waiting.WaitAsync(LongWait);

        Assert.Equal(StoreStatus.Ok, woken.Status);
        Assert.Equal(second, woken.Lock.LockId);
        Assert.Equal(StoreStatus.Ok, (await Store.ReleaseAsync(key, second)).Status);
    }

    [Fact]
    public async Task Release_Twice_IsRefusedTheSecondTime()
    {
        var key = NewKey();
        await SeedAsync(key, "state");
        var held = await LockAsync(key);

        Assert.Equal(StoreStatus.Ok, (await Store.ReleaseAsync(key, held.LockId)).Status);
        Assert.Equal(StoreStatus.LockMismatch, (await Store.ReleaseAsync(key, held.LockId)).Status);
    }

    [Fact]
    public async Task SetWithTheLock_WritesAndReleases()
    {
        var key = NewKey();
        var before = await SeedAsync(key, "before");
        var held = await LockAsync(key);

        var write = await Store.SetAsync(key, new SessionWrite(Blob("after"), ItemTimeout, held.LockId));
        var next = await Store.GetExclusiveAsync(key, NoWait);

        Assert.Equal(StoreStatus.Ok, write.Status);
        Assert.True(write.Version > before);
        Assert.Equal(StoreStatus.Ok, next.Status);
        Assert.Equal("after", Text(next.Item));
        Assert.Equal(write.Version, next.Item!.Version);
    }

    [Fact]
    public async Task SetWithTheLock_AfterTheLockWasReleased_IsRefused()
    {
        var key = NewKey();
        await SeedAsync(key, "state");
        var held = await LockAsync(key);
        await Store.ReleaseAsync(key, held.LockId);

        var late = await Store.SetAsync(key, new SessionWrite(Blob("late"), ItemTimeout, held.LockId));

        Assert.Equal(StoreStatus.LockMismatch, late.Status);
        Assert.Equal("state", Text((await Store.GetAsync(key)).Item));
    }

    [Fact]
    public async Task SetWithoutALock_WhileLocked_IsRefusedAsLocked()
    {
        var key = NewKey();
        await SeedAsync(key, "state");
        var held = await LockAsync(key);

        var write = await Store.SetAsync(key, new SessionWrite(Blob("intruder"), ItemTimeout));

        Assert.Equal(StoreStatus.Locked, write.Status);
        Assert.Equal(held.LockId, write.Lock.LockId);
        Assert.Equal("state", Text((await Store.GetAsync(key)).Item));
    }

    [Fact]
    public async Task SetWithAnotherLockId_WhileLocked_IsRefusedAsMismatch()
    {
        var key = NewKey();
        await SeedAsync(key, "state");
        var held = await LockAsync(key);

        var write = await Store.SetAsync(key, new SessionWrite(Blob("intruder"), ItemTimeout, held.LockId + 1000));

        Assert.Equal(StoreStatus.LockMismatch, write.Status);
        Assert.Equal("state", Text((await Store.GetAsync(key)).Item));
    }

    [Fact]
    public async Task StaleLock_IsTakenOver_AndTheOldHoldersLateWritesAreRefused()
    {
        var key = NewKey();
        await SeedAsync(key, "state");
        var old = await LockAsync(key);
        await Task.Delay(TimeSpan.FromMilliseconds(400));

        var takeover = await Store.GetExclusiveAsync(key, new LockRequest(TimeSpan.Zero, TimeSpan.FromMilliseconds(100)));
        var lateWrite = await Store.SetAsync(key, new SessionWrite(Blob("late"), ItemTimeout, old.LockId));
        var lateRelease = await Store.ReleaseAsync(key, old.LockId);
        var lateRemove = await Store.RemoveAsync(key, old.LockId);

        Assert.Equal(StoreStatus.Ok, takeover.Status);
        Assert.True(takeover.TookOver);
        Assert.NotEqual(old.LockId, takeover.Lock.LockId);
        Assert.Equal(StoreStatus.LockMismatch, lateWrite.Status);
        Assert.Equal(StoreStatus.LockMismatch, lateRelease.Status);
        Assert.Equal(StoreStatus.LockMismatch, lateRemove.Status);
        Assert.Equal("state", Text((await Store.GetAsync(key)).Item));

        var newWrite = await Store.SetAsync(key, new SessionWrite(Blob("new"), ItemTimeout, takeover.Lock.LockId));
        Assert.Equal(StoreStatus.Ok, newWrite.Status);
        Assert.Equal("new", Text((await Store.GetAsync(key)).Item));
    }

    [Fact]
    public async Task YoungLock_IsNotTakenOver()
    {
        var key = NewKey();
        await SeedAsync(key, "state");
        var held = await LockAsync(key);

        var attempt = await Store.GetExclusiveAsync(key, new LockRequest(TimeSpan.Zero, TimeSpan.FromMinutes(10)));

        Assert.Equal(StoreStatus.Locked, attempt.Status);
        Assert.False(attempt.TookOver);
        Assert.Equal(held.LockId, attempt.Lock.LockId);
    }

    // ---- waiting for a lock ----

    [Fact]
    public async Task Waiter_IsHandedTheLockWhenTheHolderWrites_AndSeesTheNewData()
    {
        var key = NewKey();
        await SeedAsync(key, "v1");
        var held = await LockAsync(key);

        var waiting = Store.GetExclusiveAsync(key, Wait(LongWait)).AsTask();
        await WaitUntilWaitingAsync(key, 1);
        Assert.False(waiting.IsCompleted);
        var write = await Store.SetAsync(key, new SessionWrite(Blob("v2"), ItemTimeout, held.LockId));
        var woken = await waiting.WaitAsync(LongWait);

        Assert.Equal(StoreStatus.Ok, woken.Status);
        Assert.Equal("v2", Text(woken.Item));
        Assert.Equal(write.Version, woken.Item!.Version);
        Assert.True(woken.Lock.IsHeld);
        Assert.NotEqual(held.LockId, woken.Lock.LockId);
    }

    [Fact]
    public async Task Waiter_IsHandedTheLockWhenTheHolderReleases()
    {
        var key = NewKey();
        await SeedAsync(key, "state");
        var held = await LockAsync(key);

        var waiting = Store.GetExclusiveAsync(key, Wait(LongWait)).AsTask();
        await WaitUntilWaitingAsync(key, 1);
        await Store.ReleaseAsync(key, held.LockId);
        var woken = await waiting.WaitAsync(LongWait);

        Assert.Equal(StoreStatus.Ok, woken.Status);
        Assert.Equal("state", Text(woken.Item));
        Assert.Equal(StoreStatus.Locked, (await Store.GetExclusiveAsync(key, NoWait)).Status);
    }

    [Fact]
    public async Task Waiters_AreWokenInArrivalOrder()
    {
        var key = NewKey();
        await SeedAsync(key, string.Empty);
        var held = await LockAsync(key);
        const int waiterCount = 3;
        var waiters = new List<Task>();

        for (var i = 0; i < waiterCount; i++)
        {
            var name = i.ToString(System.Globalization.CultureInfo.InvariantCulture);
            waiters.Add(Task.Run(async () =>
            {
                var read = await Store.GetExclusiveAsync(key, Wait(LongWait));
                Assert.Equal(StoreStatus.Ok, read.Status);
                var order = Text(read.Item) + name;
                var write = await Store.SetAsync(key, new SessionWrite(Blob(order), ItemTimeout, read.Lock.LockId));
                Assert.Equal(StoreStatus.Ok, write.Status);
            }));
            await WaitUntilWaitingAsync(key, i + 1);
        }

        await Store.ReleaseAsync(key, held.LockId);
        await Task.WhenAll(waiters).WaitAsync(LongWait);

        Assert.Equal("012", Text((await Store.GetAsync(key)).Item));
    }

    [Fact]
    public async Task Waiter_GivesUpAtItsWaitTimeout_WithTheHoldersLock()
    {
        var key = NewKey();
        await SeedAsync(key, "state");
        var held = await LockAsync(key);

        var result = await Store.GetExclusiveAsync(key, Wait(TimeSpan.FromMilliseconds(200)));

        Assert.Equal(StoreStatus.WaitTimeout, result.Status);
        Assert.Equal(held.LockId, result.Lock.LockId);
        Assert.Null(result.Item);
    }

    [Fact]
    public async Task Waiter_TakesOverAStaleLockWhileWaiting()
    {
        var key = NewKey();
        await SeedAsync(key, "state");
        var old = await LockAsync(key);

        var result = await Store.GetExclusiveAsync(key, Wait(LongWait, TimeSpan.FromMilliseconds(300)));
        var late = await Store.SetAsync(key, new SessionWrite(Blob("late"), ItemTimeout, old.LockId));

        Assert.Equal(StoreStatus.Ok, result.Status);
        Assert.True(result.TookOver);
        Assert.NotEqual(old.LockId, result.Lock.LockId);
        Assert.Equal(StoreStatus.LockMismatch, late.Status);
    }

    [Fact]
    public async Task Waiters_BeyondTheQueueLimit_AreRefusedAtOnce()
    {
        var key = NewKey();
        await SeedAsync(key, "state");
        var held = await LockAsync(key);
        var parked = new List<Task<SessionReadResult>>();

        for (var i = 0; i < WaiterLimit; i++)
        {
            parked.Add(Store.GetExclusiveAsync(key, Wait(LongWait)).AsTask());
        }

        await WaitUntilWaitingAsync(key, WaiterLimit);
        var refused = await Store.GetExclusiveAsync(key, Wait(LongWait));

        Assert.Equal(StoreStatus.QueueFull, refused.Status);
        Assert.Equal(held.LockId, refused.Lock.LockId);

        // Let every parked caller through in turn so that nothing is left waiting.
        var next = held.LockId;
        for (var i = 0; i < WaiterLimit; i++)
        {
            Assert.Equal(StoreStatus.Ok, (await Store.ReleaseAsync(key, next)).Status);
            var woken = await Task.WhenAny(parked).WaitAsync(LongWait);
            parked.Remove(woken);
            var read = await woken;
            Assert.Equal(StoreStatus.Ok, read.Status);
            next = read.Lock.LockId;
        }

        Assert.Equal(StoreStatus.Ok, (await Store.ReleaseAsync(key, next)).Status);
    }

    // ---- remove and touch ----

    [Fact]
    public async Task Remove_WithoutALock_DeletesTheItem()
    {
        var key = NewKey();
        await SeedAsync(key, "state");

        var remove = await Store.RemoveAsync(key, null);

        Assert.Equal(StoreStatus.Ok, remove.Status);
        Assert.Equal(StoreStatus.NotFound, (await Store.GetAsync(key)).Status);
    }

    [Fact]
    public async Task Remove_OfUnknownSession_IsNotFound()
    {
        Assert.Equal(StoreStatus.NotFound, (await Store.RemoveAsync(NewKey(), null)).Status);
    }

    [Fact]
    public async Task Remove_WhileLocked_NeedsTheHoldersLockId()
    {
        var key = NewKey();
        await SeedAsync(key, "state");
        var held = await LockAsync(key);

        var withoutLock = await Store.RemoveAsync(key, null);
        var withOtherLock = await Store.RemoveAsync(key, held.LockId + 1000);
        Assert.Equal(StoreStatus.Ok, (await Store.GetAsync(key)).Status);
        var withLock = await Store.RemoveAsync(key, held.LockId);

        Assert.Equal(StoreStatus.Locked, withoutLock.Status);
        Assert.Equal(StoreStatus.LockMismatch, withOtherLock.Status);
        Assert.Equal(StoreStatus.Ok, withLock.Status);
        Assert.Equal(StoreStatus.NotFound, (await Store.GetAsync(key)).Status);
    }

    [Fact]
    public async Task Touch_OfAnItem_SucceedsAndChangesNothing()
    {
        var key = NewKey();
        var version = await SeedAsync(key, "state");

        var touch = await Store.TouchAsync(key);
        var read = await Store.GetAsync(key);

        Assert.Equal(StoreStatus.Ok, touch.Status);
        Assert.Equal("state", Text(read.Item));
        Assert.Equal(version, read.Item!.Version);
    }

    [Fact]
    public async Task Touch_OfUnknownSession_IsNotFound()
    {
        Assert.Equal(StoreStatus.NotFound, (await Store.TouchAsync(NewKey())).Status);
    }

    // ---- create-uninitialized ----

    [Fact]
    public async Task CreateUninitialized_MakesAnEmptyItem_ReportedUninitializedExactlyOnce()
    {
        var key = NewKey();

        var create = await Store.CreateUninitializedAsync(key, ItemTimeout);
        var first = await Store.GetAsync(key);
        var second = await Store.GetAsync(key);

        Assert.Equal(StoreStatus.Ok, create.Status);
        Assert.True(create.Version > 0);
        Assert.Equal(StoreStatus.Ok, first.Status);
        Assert.True(first.Item!.IsUninitialized);
        Assert.Equal(0, first.Item.Data.Length);
        Assert.Equal(StoreStatus.Ok, second.Status);
        Assert.False(second.Item!.IsUninitialized);
    }

    [Fact]
    public async Task CreateUninitialized_ReportsTheFlagToAnExclusiveReadOnce()
    {
        var key = NewKey();
        await Store.CreateUninitializedAsync(key, ItemTimeout);

        var first = await Store.GetExclusiveAsync(key, NoWait);
        await Store.ReleaseAsync(key, first.Lock.LockId);
        var second = await Store.GetExclusiveAsync(key, NoWait);

        Assert.True(first.Item!.IsUninitialized);
        Assert.False(second.Item!.IsUninitialized);
    }

    [Fact]
    public async Task CreateUninitialized_NeverOverwrites()
    {
        var key = NewKey();
        await SeedAsync(key, "real");

        var create = await Store.CreateUninitializedAsync(key, ItemTimeout);
        var read = await Store.GetAsync(key);

        Assert.Equal(StoreStatus.AlreadyExists, create.Status);
        Assert.Equal("real", Text(read.Item));
        Assert.False(read.Item!.IsUninitialized);
    }

    [Fact]
    public async Task CreateUninitialized_Twice_IsAlreadyExistsTheSecondTime()
    {
        var key = NewKey();

        var first = await Store.CreateUninitializedAsync(key, ItemTimeout);
        var second = await Store.CreateUninitializedAsync(key, ItemTimeout);

        Assert.Equal(StoreStatus.Ok, first.Status);
        Assert.Equal(StoreStatus.AlreadyExists, second.Status);
    }

    [Fact]
    public async Task Set_AfterCreateUninitialized_ClearsTheFlagAndRaisesTheVersion()
    {
        var key = NewKey();
        var create = await Store.CreateUninitializedAsync(key, ItemTimeout);

        var write = await Store.SetAsync(key, new SessionWrite(Blob("filled"), ItemTimeout));
        var read = await Store.GetAsync(key);

        Assert.True(write.Version > create.Version);
        Assert.False(read.Item!.IsUninitialized);
        Assert.Equal("filled", Text(read.Item));
    }

    // ---- create-if-missing ----

    [Fact]
    public async Task CreateIfMissing_CreatesAndLocksAnUninitializedItem()
    {
        var key = NewKey();

        var read = await Store.GetExclusiveAsync(key, new LockRequest(TimeSpan.Zero, TimeSpan.FromMinutes(2), CreateIfMissing: true, ItemTimeout));
        var second = await Store.GetExclusiveAsync(key, NoWait);

        Assert.Equal(StoreStatus.Ok, read.Status);
        Assert.True(read.Lock.IsHeld);
        Assert.True(read.Item!.IsUninitialized);
        Assert.Equal(0, read.Item.Data.Length);
        Assert.True(read.Item.Version > 0);
        Assert.Equal(StoreStatus.Locked, second.Status);
        Assert.Equal(read.Lock.LockId, second.Lock.LockId);

        var write = await Store.SetAsync(key, new SessionWrite(Blob("first"), ItemTimeout, read.Lock.LockId));
        Assert.Equal(StoreStatus.Ok, write.Status);
        Assert.Equal("first", Text((await Store.GetAsync(key)).Item));
    }

    [Fact]
    public async Task CreateIfMissing_OfAnExistingItem_LocksItWithoutChangingIt()
    {
        var key = NewKey();
        var version = await SeedAsync(key, "kept");

        var read = await Store.GetExclusiveAsync(key, new LockRequest(TimeSpan.Zero, TimeSpan.FromMinutes(2), CreateIfMissing: true, ItemTimeout));

        Assert.Equal(StoreStatus.Ok, read.Status);
        Assert.Equal("kept", Text(read.Item));
        Assert.Equal(version, read.Item!.Version);
        Assert.False(read.Item.IsUninitialized);
    }

    [Fact]
    public async Task CreateIfMissing_ConcurrentFirstRequests_Serialize()
    {
        var key = NewKey();
        var request = new LockRequest(LongWait, TimeSpan.FromMinutes(2), CreateIfMissing: true, ItemTimeout);

        var callers = Enumerable.Range(0, 3).Select(_ => Task.Run(async () =>
        {
            var read = await Store.GetExclusiveAsync(key, request);
            Assert.Equal(StoreStatus.Ok, read.Status);
            var next = Text(read.Item) + "x";
            Assert.Equal(StoreStatus.Ok, (await Store.SetAsync(key, new SessionWrite(Blob(next), ItemTimeout, read.Lock.LockId))).Status);
            return read.Item!.IsUninitialized;
        })).ToList();
        var flags = await Task.WhenAll(callers).WaitAsync(LongWait);

        Assert.Equal("xxx", Text((await Store.GetAsync(key)).Item));
        Assert.Equal(1, flags.Count(f => f));
    }

    // ---- concurrency ----

    [Fact]
    public async Task ManyCallers_OneSession_LoseNoUpdate()
    {
        var key = NewKey();
        await SeedAsync(key, "0");
        const int callers = 50;
        var refusals = new ConcurrentBag<StoreStatus>();

        var tasks = Enumerable.Range(0, callers).Select(_ => Task.Run(async () =>
        {
            for (var attempt = 0; attempt < 2_000; attempt++)
            {
                var read = await Store.GetExclusiveAsync(key, Wait(LongWait));
                if (read.Status == StoreStatus.QueueFull)
                {
                    await Task.Delay(5);
                    continue;
                }

                Assert.Equal(StoreStatus.Ok, read.Status);
                var counter = int.Parse(Text(read.Item), System.Globalization.CultureInfo.InvariantCulture);
                var write = await Store.SetAsync(key, new SessionWrite(
                    Blob((counter + 1).ToString(System.Globalization.CultureInfo.InvariantCulture)), ItemTimeout, read.Lock.LockId));
                if (write.Status != StoreStatus.Ok)
                {
                    refusals.Add(write.Status);
                }

                return;
            }

            refusals.Add(StoreStatus.QueueFull);
        })).ToList();
        await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Empty(refusals);
        Assert.Equal(callers.ToString(System.Globalization.CultureInfo.InvariantCulture), Text((await Store.GetAsync(key)).Item));
    }
}
