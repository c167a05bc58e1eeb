using System.Buffers.Binary;
using System.Diagnostics.Metrics;
using System.Text;
using SessionRouter.Core.Storage;
using SessionRouter.Testing.Network;

namespace SessionRouter.StateServer.Client.Tests;

/// <summary>The client's batching against a real engine: concurrency, lock waits, failures.</summary>
public sealed class ClientBatchingTests : IClassFixture<EngineNodeFixture>
{
    private static readonly TimeSpan ItemTimeout = TimeSpan.FromMinutes(20);
    private readonly EngineNodeFixture _fixture;

    public ClientBatchingTests(EngineNodeFixture fixture) => _fixture = fixture;

    /// <summary>One request in flight and many callers: nearly everything travels in batches, and no increment is lost.</summary>
    [Fact]
    public async Task ManyCallersOnOwnSessions_ThroughOneSlot_TravelInBatches_AndLoseNoUpdate()
    {
        using var client = NewClient(maxInFlight: 1);
        const int callers = 48;
        const int increments = 15;
        var keys = Enumerable.Range(0, callers).Select(_ => NewKey()).ToArray();

        await Task.WhenAll(keys.Select(key => Task.Run(async () =>
        {
            for (var i = 0; i < increments; i++)
            {
                await IncrementAsync(client, key);
            }
        })));

        foreach (var key in keys)
        {
            Assert.Equal(increments, await ReadCounterAsync(client, key));
        }

        var (batches, batched, _) = client.BatchCounts;
        Assert.True(batches > 0, "no batch was sent");
        Assert.True(batched > batches, $"{batched} operations in {batches} batches: no batch carried more than one");
    }

    /// <summary>All callers on one session: exclusive reads that find it locked are re-sent with a lock wait and handed the lock in turn.</summary>
    [Fact]
    public async Task ManyCallersOnOneSession_WaitForTheLockOutsideTheBatches_AndLoseNoUpdate()
    {
        using var client = NewClient(maxInFlight: 2);
        var key = NewKey();
        const int callers = 5; // the holder and the fixture node's MaxWaitersPerSession (4) waiters
        const int increments = 20;

        await Task.WhenAll(Enumerable.Range(0, callers).Select(_ => Task.Run(async () =>
        {
            for (var i = 0; i < increments; i++)
            {
                await IncrementAsync(client, key);
            }
        })));

        Assert.Equal(callers * increments, await ReadCounterAsync(client, key));
    }

    [Fact]
    public async Task ABatchedExclusiveRead_OfALockedItem_WaitsForTheRelease_AndGetsTheHoldersWrite()
    {
        using var client = NewClient(maxInFlight: 1, everyOperation: true);
        var key = NewKey();
        var held = await client.GetExclusiveAsync(key, new LockRequest(TimeSpan.Zero, CreateIfMissing: true, ItemTimeout: ItemTimeout));
        Assert.Equal(StoreStatus.Ok, held.Status);

        var waiter = client.GetExclusiveAsync(key, new LockRequest(TimeSpan.FromSeconds(20))).AsTask();
        await Task.Delay(100);
        Assert.False(waiter.IsCompleted);
        var write = await client.SetAsync(key, new SessionWrite(new byte[] { 42 }, ItemTimeout, held.Lock.LockId));
        Assert.Equal(StoreStatus.Ok, write.Status);

        var granted = await waiter;
        Assert.Equal(StoreStatus.Ok, granted.Status);
        Assert.Equal(new byte[] { 42 }, granted.Item!.Data.ToArray());
        Assert.NotEqual(held.Lock.LockId, granted.Lock.LockId);
    }

    [Fact]
    public async Task ABatchedExclusiveRead_WithoutAWait_OfALockedItem_AnswersLocked()
    {
        using var client = NewClient(maxInFlight: 1, everyOperation: true);
        var key = NewKey();
        var held = await client.GetExclusiveAsync(key, new LockRequest(TimeSpan.Zero, CreateIfMissing: true, ItemTimeout: ItemTimeout));

        var second = await client.GetExclusiveAsync(key, LockRequest.NoWait);

        Assert.Equal(StoreStatus.Locked, second.Status);
        Assert.Equal(held.Lock.LockId, second.Lock.LockId);
    }

    /// <summary>The client's counters say how many requests went alone and as batches, and what the batches carried.</summary>
    [Fact]
    public async Task TheClientsCounters_MatchWhatItSent()
    {
        var nodeId = "metrics-" + Guid.NewGuid().ToString("N");
        long batches = 0, singles = 0, batched = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "SessionRouter.StateServer.Client")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            var tagList = tags.ToArray();
            if (!tagList.Any(t => t.Key == "node" && (string?)t.Value == nodeId))
            {
                return;
            }

            if (instrument.Name == "sessionrouter.stateserver.client.batched_operations")
            {
                Interlocked.Add(ref batched, value);
            }
            else if (tagList.Any(t => t.Key == "kind" && (string?)t.Value == "batch"))
            {
                Interlocked.Add(ref batches, value);
            }
            else
            {
                Interlocked.Add(ref singles, value);
            }
        });
        listener.Start();
        using var client = new StateServerClient(new StateServerClientOptions { NodeId = nodeId, BaseAddress = _fixture.Node.BaseAddress, MaxRequestsInFlight = 1 }, meterFactory: null);

        await Task.WhenAll(Enumerable.Range(0, 40).Select(_ => Task.Run(async () => await client.TouchAsync(NewKey()))));

        var counts = client.BatchCounts;
        Assert.Equal(counts.Batches, Interlocked.Read(ref batches));
        Assert.Equal(counts.BatchedOperations, Interlocked.Read(ref batched));
        Assert.Equal(counts.Direct, Interlocked.Read(ref singles));
        Assert.Equal(40, counts.BatchedOperations + counts.Direct);
    }

    [Fact]
    public async Task AnUnreachableNode_FailsEveryOperationOfABatch_AsUnavailable_NamingTheNode()
    {
        using var refusing = LoopbackPorts.ReserveRefusing();
        using var client = new StateServerClient(new StateServerClientOptions
        {
            NodeId = "gone",
            BaseAddress = refusing.Address,
            AttemptTimeout = TimeSpan.FromSeconds(5),
            BatchEveryOperation = true,
        });

        var calls = Enumerable.Range(0, 6).Select(_ => client.GetAsync(NewKey()).AsTask()).ToArray();

        foreach (var call in calls)
        {
            var error = await Assert.ThrowsAsync<SessionStoreUnavailableException>(() => call);
            Assert.Equal("gone", error.NodeId);
        }
    }

    [Fact]
    public async Task AKeyTheProtocolCannotCarry_IsAnArgumentError_BeforeAnythingIsSent()
    {
        using var client = NewClient(maxInFlight: 1, everyOperation: true);

        await Assert.ThrowsAsync<ArgumentException>(async () => await client.GetAsync(new SessionKey("app", "a/b")));
        await Assert.ThrowsAnyAsync<ArgumentException>(async () => await client.GetAsync(new SessionKey("app", "")));
        Assert.Equal(0, client.BatchCounts.Batches);
    }

    [Fact]
    public async Task AnOperationAfterDispose_FailsAsDisposed()
    {
        var client = NewClient(maxInFlight: 1, everyOperation: true);
        client.Dispose();

        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await client.GetAsync(NewKey()));
    }

    /// <summary>
    /// Writer-assigned versions in batches on both ports (the contract suite batches over HTTP/2 only): the
    /// version travels in its record, the answers carry the versions the contract gives, and the argument
    /// check refuses a write with an expected version too before anything is queued.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task VersionedWrites_InBatches_CarryTheirVersions(bool http2)
    {
        using var client = NewClient(maxInFlight: 1, everyOperation: true, http2);
        var key = NewKey();

        var created = await client.SetAsync(key, new SessionWrite(new byte[] { 1 }, ItemTimeout, Version: 500));
        var held = await client.GetExclusiveAsync(key, LockRequest.NoWait);
        var repair = await client.SetAsync(key, new SessionWrite(new byte[] { 2 }, ItemTimeout, Version: 501));
        var older = await client.SetAsync(key, new SessionWrite(new byte[] { 3 }, ItemTimeout, held.Lock.LockId, Version: 499));
        var equal = await client.SetAsync(key, new SessionWrite(new byte[] { 4 }, ItemTimeout, held.Lock.LockId, Version: 501));
        var read = await client.GetAsync(key);

        Assert.Equal((StoreStatus.Ok, 500L), (created.Status, created.Version));
        Assert.Equal((StoreStatus.Ok, 501L), (repair.Status, repair.Version));
        Assert.Equal((StoreStatus.VersionConflict, 501L), (older.Status, older.Version));
        Assert.Equal((StoreStatus.Ok, 501L), (equal.Status, equal.Version));
        Assert.Equal(new byte[] { 2 }, read.Item!.Data.ToArray());
        Assert.False(read.Lock.IsHeld);
        await Assert.ThrowsAsync<ArgumentException>(async () => await client.SetAsync(key, new SessionWrite(new byte[] { 5 }, ItemTimeout, ExpectedVersion: 501, Version: 502)));
        var (batches, _, direct) = client.BatchCounts;
        Assert.True(batches >= 6, $"{batches} batches");
        Assert.Equal(0, direct);
    }

    /// <summary>
    /// Writes that keep their lock in batches on both ports: flag 32 travels in the record, the holder's lock stays
    /// through each of them and goes with the first set without it.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task KeepLockWrites_InBatches_KeepTheLock_UntilAWriteWithoutIt(bool http2)
    {
        using var client = NewClient(maxInFlight: 1, everyOperation: true, http2);
        var key = NewKey();
        await client.SetAsync(key, new SessionWrite(new byte[] { 1 }, ItemTimeout));
        var held = await client.GetExclusiveAsync(key, LockRequest.NoWait);

        var kept = await client.SetAsync(key, new SessionWrite(new byte[] { 2 }, ItemTimeout, held.Lock.LockId, KeepLock: true));
        var other = await client.GetExclusiveAsync(key, LockRequest.NoWait);
        var keptVersioned = await client.SetAsync(key, new SessionWrite(new byte[] { 3 }, ItemTimeout, held.Lock.LockId, Version: 900, KeepLock: true));
        var stillHeld = await client.GetExclusiveAsync(key, LockRequest.NoWait);
        var final = await client.SetAsync(key, new SessionWrite(new byte[] { 4 }, ItemTimeout, held.Lock.LockId));
        var read = await client.GetAsync(key);

        Assert.Equal(StoreStatus.Ok, kept.Status);
        Assert.Equal((StoreStatus.Locked, held.Lock.LockId), (other.Status, other.Lock.LockId));
        Assert.Equal((StoreStatus.Ok, 900L), (keptVersioned.Status, keptVersioned.Version));
        Assert.Equal((StoreStatus.Locked, held.Lock.LockId), (stillHeld.Status, stillHeld.Lock.LockId));
        Assert.Equal((StoreStatus.Ok, 901L), (final.Status, final.Version));
        Assert.Equal(new byte[] { 4 }, read.Item!.Data.ToArray());
        Assert.False(read.Lock.IsHeld);
        Assert.Equal(0, client.BatchCounts.Direct);
    }

    /// <summary>
    /// KeepLock without a lock id is refused by the argument check, batched or not, before any request: against a
    /// port nobody listens on, the caller sees the ArgumentException, never an unreachable node.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task KeepLockWithoutALockId_IsAnArgumentError_BeforeAnythingIsSent(bool batching)
    {
        using var refusing = LoopbackPorts.ReserveRefusing();
        using var client = new StateServerClient(new StateServerClientOptions
        {
            NodeId = "nobody",
            BaseAddress = refusing.Address,
            AttemptTimeout = TimeSpan.FromSeconds(5),
            EnableBatching = batching,
            BatchEveryOperation = batching,
        });

        await Assert.ThrowsAsync<ArgumentException>(async () => await client.SetAsync(NewKey(), new SessionWrite(new byte[] { 1 }, ItemTimeout, KeepLock: true)));
        await Assert.ThrowsAsync<ArgumentException>(async () => await client.SetAsync(NewKey(), new SessionWrite(new byte[] { 1 }, ItemTimeout, Version: 3, KeepLock: true)));
        Assert.Equal((0L, 0L), (client.BatchCounts.Batches, client.BatchCounts.Direct));
    }

    private StateServerClient NewClient(int maxInFlight, bool everyOperation = false, bool http2 = true) => new(new StateServerClientOptions
    {
        NodeId = "batching",
        BaseAddress = http2 ? _fixture.Node.BaseAddress : _fixture.Node.ClassicAddress,
        UseHttp2 = http2,
        AttemptTimeout = TimeSpan.FromSeconds(20),
        MaxRequestsInFlight = maxInFlight,
        BatchEveryOperation = everyOperation,
    });

    private static SessionKey NewKey() => new("batching", Guid.NewGuid().ToString("N"));

    /// <summary>
    /// One locked increment. The item carries its own session id after the counter, so an answer handed to
    /// the wrong caller of a batch would be caught here, not only in the final counts.
    /// </summary>
    private static async Task IncrementAsync(StateServerClient client, SessionKey key)
    {
        var read = await client.GetExclusiveAsync(key, new LockRequest(TimeSpan.FromSeconds(30), CreateIfMissing: true, ItemTimeout: ItemTimeout));
        Assert.Equal(StoreStatus.Ok, read.Status);
        var data = read.Item!.Data;
        var value = 0;
        if (data.Length > 0)
        {
            Assert.Equal(key.SessionId, Encoding.UTF8.GetString(data.Span[4..]));
            value = BinaryPrimitives.ReadInt32LittleEndian(data.Span);
        }

        var next = new byte[4 + Encoding.UTF8.GetByteCount(key.SessionId)];
        BinaryPrimitives.WriteInt32LittleEndian(next, value + 1);
        Encoding.UTF8.GetBytes(key.SessionId, next.AsSpan(4));
        var write = await client.SetAsync(key, new SessionWrite(next, ItemTimeout, read.Lock.LockId));
        Assert.Equal(StoreStatus.Ok, write.Status);
    }

    private static async Task<int> ReadCounterAsync(StateServerClient client, SessionKey key)
    {
        var read = await client.GetAsync(key);
        Assert.Equal(StoreStatus.Ok, read.Status);
        Assert.Equal(key.SessionId, Encoding.UTF8.GetString(read.Item!.Data.Span[4..]));
        return BinaryPrimitives.ReadInt32LittleEndian(read.Item.Data.Span);
    }
}
