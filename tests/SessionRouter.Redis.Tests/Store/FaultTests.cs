using System.Text;
using SessionRouter.Core.Storage;
using SessionRouter.Redis.Configuration;
using SessionRouter.Testing.Network;
using SessionRouter.Testing.Redis;
using Xunit;

namespace SessionRouter.Redis.Tests.Store;

/// <summary>Crashes, restarts and a full server, each on a redis-server of its own.</summary>
public sealed class FaultTests
{
    private static readonly TimeSpan ItemTimeout = TimeSpan.FromMinutes(5);

    // A liveness bound, not a speed requirement: a store that hangs fails the test instead of blocking the run.
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(30);

    private static SessionKey NewKey() => new("faults", Guid.NewGuid().ToString("N"));

    private static ReadOnlyMemory<byte> Blob(string text) => Encoding.UTF8.GetBytes(text);

    private static RedisStoreOptions OptionsFor(RedisServerProcess server) => new()
    {
        NodeId = "fault-node",
        ConnectionString = server.ConnectionString,
        OperationTimeout = TimeSpan.FromMilliseconds(500),
        ConnectTimeout = TimeSpan.FromMilliseconds(500),
    };

    [Fact]
    public async Task KilledServer_GivesUnavailableWithTheNodeId_NotAHang()
    {
        await using var server = await RedisServerProcess.StartAsync();
        await using var store = await RedisSessionStore.ConnectAsync(OptionsFor(server));
        var key = NewKey();
        Assert.Equal(StoreStatus.Ok, (await store.SetAsync(key, new SessionWrite(Blob("state"), ItemTimeout))).Status);

        server.Kill();

        var read = await Assert.ThrowsAsync<SessionStoreUnavailableException>(() => store.GetAsync(key).AsTask().WaitAsync(HangGuard));
        var write = await Assert.ThrowsAsync<SessionStoreUnavailableException>(() => store.SetAsync(key, new SessionWrite(Blob("x"), ItemTimeout)).AsTask().WaitAsync(HangGuard));
        var locking = await Assert.ThrowsAsync<SessionStoreUnavailableException>(() => store.GetExclusiveAsync(key, new LockRequest(TimeSpan.FromSeconds(5))).AsTask().WaitAsync(HangGuard));
        var probe = await Assert.ThrowsAsync<SessionStoreUnavailableException>(() => store.ProbeAsync(CancellationToken.None).AsTask().WaitAsync(HangGuard));

        Assert.All(new[] { read, write, locking, probe }, e => Assert.Equal("fault-node", e.NodeId));
    }

    [Fact]
    public async Task FailureMessages_NeverCarryTheSessionId()
    {
        await using var server = await RedisServerProcess.StartAsync();
        await using var store = await RedisSessionStore.ConnectAsync(OptionsFor(server));
        var key = NewKey();
        Assert.Equal(StoreStatus.Ok, (await store.SetAsync(key, new SessionWrite(Blob("state"), ItemTimeout))).Status);

        // A server that stops answering (until it is killed below): the operation times out on a live connection.
        Assert.Equal("OK", await RespProbe.SendAsync(server.Port, TimeSpan.FromSeconds(5), "CLIENT", "PAUSE", "60000", "ALL"));
        var timedOut = await Assert.ThrowsAsync<SessionStoreUnavailableException>(() => store.GetAsync(key).AsTask().WaitAsync(HangGuard));
        server.Kill();
        var down = await Assert.ThrowsAsync<SessionStoreUnavailableException>(() => store.GetAsync(key).AsTask().WaitAsync(HangGuard));

        // Session ids are secrets (docs/security.md): what the gateway logs of a failure must not reveal one.
        foreach (var error in new Exception[] { timedOut, down })
        {
            for (Exception? inner = error; inner is not null; inner = inner.InnerException)
            {
                Assert.DoesNotContain(key.SessionId, inner.Message, StringComparison.Ordinal);
                Assert.DoesNotContain(key.SessionId, inner.ToString(), StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public async Task RestartedServer_IsReachedAgainByReconnection()
    {
        await using var server = await RedisServerProcess.StartAsync();
        await using var store = await RedisSessionStore.ConnectAsync(OptionsFor(server));
        var key = NewKey();
        await store.SetAsync(key, new SessionWrite(Blob("before"), ItemTimeout));

        server.Kill();
        await Assert.ThrowsAsync<SessionStoreUnavailableException>(() => store.GetAsync(key).AsTask().WaitAsync(HangGuard));
        await server.RestartAsync();

        // Bounded retries while the connection is re-established in the background.
        SessionWriteResult? written = null;
        for (var attempt = 0; attempt < 150 && written is null; attempt++)
        {
            try
            {
                written = await store.SetAsync(key, new SessionWrite(Blob("after"), ItemTimeout)).AsTask().WaitAsync(HangGuard);
            }
            catch (SessionStoreUnavailableException)
            {
                await Task.Delay(100);
            }
        }

        Assert.NotNull(written);
        Assert.Equal(StoreStatus.Ok, written.Value.Status);
        var read = await store.GetAsync(key);
        Assert.Equal("after", Encoding.UTF8.GetString(read.Item!.Data.Span));

        // The restarted server has an empty script cache: the lock scripts load again on first use.
        var locked = await store.GetExclusiveAsync(key, LockRequest.NoWait);
        Assert.Equal(StoreStatus.Ok, locked.Status);
        Assert.Equal(StoreStatus.Ok, (await store.ReleaseAsync(key, locked.Lock.LockId)).Status);
        await store.ProbeAsync(CancellationToken.None);
    }

    [Fact]
    public async Task ServerDownAtStart_StillGivesAStore_ThatReportsUnavailable()
    {
        // A port that refuses connections and that no other test's server can take meanwhile (a killed server's
        // port is free for anyone to bind, and would then answer).
        using var down = LoopbackPorts.ReserveRefusing();
        var options = new RedisStoreOptions
        {
            NodeId = "fault-node",
            ConnectionString = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"127.0.0.1:{down.Port}"),
            OperationTimeout = TimeSpan.FromMilliseconds(500),
            ConnectTimeout = TimeSpan.FromMilliseconds(500),
        };

        await using var store = await RedisSessionStore.ConnectAsync(options).WaitAsync(HangGuard);

        Assert.False(store.IsConnected);
        var error = await Assert.ThrowsAsync<SessionStoreUnavailableException>(() => store.GetAsync(NewKey()).AsTask().WaitAsync(HangGuard));
        Assert.Equal("fault-node", error.NodeId);
        await Assert.ThrowsAsync<SessionStoreUnavailableException>(() => store.ProbeAsync(CancellationToken.None).AsTask().WaitAsync(HangGuard));
    }

    [Fact]
    public async Task ServerKilledWhileACallerWaitsForALock_EndsTheWaitWithAnAnswer()
    {
        await using var server = await RedisServerProcess.StartAsync();
        await using var store = await RedisSessionStore.ConnectAsync(OptionsFor(server));
        var key = NewKey();
        await store.SetAsync(key, new SessionWrite(Blob("state"), ItemTimeout));
        var held = await store.GetExclusiveAsync(key, LockRequest.NoWait);
        var waiting = store.GetExclusiveAsync(key, new LockRequest(TimeSpan.FromSeconds(3), TimeSpan.FromMinutes(5))).AsTask();
        for (var i = 0; i < 200 && store.WaitingCallers(key) == 0; i++)
        {
            await Task.Delay(10);
        }

        server.Kill();

        // The waiter ends by its wait timeout or with the node reported unavailable; it never hangs.
        try
        {
            var result = await waiting.WaitAsync(HangGuard);
            Assert.Equal(StoreStatus.WaitTimeout, result.Status);
            Assert.Equal(held.Lock.LockId, result.Lock.LockId);
        }
        catch (SessionStoreUnavailableException e)
        {
            Assert.Equal("fault-node", e.NodeId);
        }
    }

    [Fact]
    public async Task FullServer_RefusesWritesWithCapacityExceeded_AndKeepsWhatItHas()
    {
        await using var server = await RedisServerProcess.StartAsync(["--maxmemory-policy", "noeviction"]);
        await using var store = await RedisSessionStore.ConnectAsync(OptionsFor(server));
        var key = NewKey();
        await store.SetAsync(key, new SessionWrite(Blob("kept"), ItemTimeout));

        Assert.Equal("OK", await RespProbe.SendAsync(server.Port, TimeSpan.FromSeconds(5), "CONFIG", "SET", "maxmemory", "1"));
        var refused = await store.SetAsync(NewKey(), new SessionWrite(Blob("new"), ItemTimeout));
        var created = await store.GetExclusiveAsync(NewKey(), new LockRequest(TimeSpan.Zero, CreateIfMissing: true, ItemTimeout: ItemTimeout));
        Assert.Equal("OK", await RespProbe.SendAsync(server.Port, TimeSpan.FromSeconds(5), "CONFIG", "SET", "maxmemory", "0"));

        Assert.Equal(StoreStatus.CapacityExceeded, refused.Status);
        Assert.Equal(StoreStatus.CapacityExceeded, created.Status);
        Assert.Equal("kept", Encoding.UTF8.GetString((await store.GetAsync(key)).Item!.Data.Span));
    }
}

/// <summary>A cluster master that dies leaves its slots unserved: the probe fails, naming the node.</summary>
public sealed class ClusterFaultTests
{
    [Fact]
    public async Task KilledMaster_WithoutAReplica_FailsTheProbe()
    {
        await using var cluster = await RedisClusterProcess.StartAsync();
        await using var store = await RedisSessionStore.ConnectAsync(new RedisStoreOptions
        {
            NodeId = "cluster-fault",
            ConnectionString = cluster.ConnectionString,
            OperationTimeout = TimeSpan.FromMilliseconds(500),
            ConnectTimeout = TimeSpan.FromMilliseconds(500),
        });
        await store.ProbeAsync(CancellationToken.None);

        cluster.Nodes[1].Kill();

        var error = await Assert.ThrowsAsync<SessionStoreUnavailableException>(() => store.ProbeAsync(CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal("cluster-fault", error.NodeId);
    }
}
