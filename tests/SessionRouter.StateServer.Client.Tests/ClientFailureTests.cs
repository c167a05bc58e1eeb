using SessionRouter.Core.Storage;
using SessionRouter.StateServer.Hosting;
using SessionRouter.Testing.Network;

namespace SessionRouter.StateServer.Client.Tests;

/// <summary>How the client reports a node it cannot use.</summary>
public sealed class ClientFailureTests
{
    private static SessionKey NewKey() => new("client", Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task UnreachableNode_ThrowsUnavailableWithTheNodeId()
    {
        using var refusing = LoopbackPorts.ReserveRefusing();
        using var client = new StateServerClient(new StateServerClientOptions { NodeId = "gone", BaseAddress = refusing.Address });

        var error = await Assert.ThrowsAsync<SessionStoreUnavailableException>(async () => await client.GetAsync(NewKey()));
        var probeError = await Assert.ThrowsAsync<SessionStoreUnavailableException>(async () => await client.ProbeAsync(CancellationToken.None));

        Assert.Equal("gone", error.NodeId);
        Assert.Equal("gone", probeError.NodeId);
    }

    [Fact]
    public async Task RepeatedFailures_OpenTheCircuit_AndReportIt()
    {
        var opened = new List<string>();
        using var refusing = LoopbackPorts.ReserveRefusing();
        using var client = new StateServerClient(new StateServerClientOptions
        {
            NodeId = "flaky",
            BaseAddress = refusing.Address,
            CircuitBreakerMinimumThroughput = 2,
            CircuitBreakerFailureRatio = 0.5,
            OnCircuitOpened = (node, _) => { lock (opened) { opened.Add(node); } },
        });

        for (var i = 0; i < 4; i++)
        {
            await Assert.ThrowsAsync<SessionStoreUnavailableException>(async () => await client.SetAsync(NewKey(), new SessionWrite(new byte[] { 1 }, TimeSpan.FromMinutes(1))));
        }

        var broken = await Assert.ThrowsAsync<SessionStoreUnavailableException>(async () => await client.GetAsync(NewKey()));
        Assert.Contains("open circuit", broken.Message, StringComparison.Ordinal);
        Assert.Contains("flaky", opened);
    }

    [Fact]
    public async Task WithoutTheCircuitBreaker_EveryFailureIsStillUnavailable_AndNoCircuitOpens()
    {
        var opened = 0;
        using var refusing = LoopbackPorts.ReserveRefusing();
        using var client = new StateServerClient(new StateServerClientOptions
        {
            NodeId = "plain",
            BaseAddress = refusing.Address,
            EnableCircuitBreaker = false,
            OnCircuitOpened = (_, _) => Interlocked.Increment(ref opened),
        });

        for (var i = 0; i < 6; i++)
        {
            var error = await Assert.ThrowsAsync<SessionStoreUnavailableException>(async () => await client.GetAsync(NewKey()));
            Assert.DoesNotContain("open circuit", error.Message, StringComparison.Ordinal);
        }

        Assert.Equal(0, opened);
    }

    [Fact]
    public async Task StoppedNode_IsUnavailable_AndItsProbeFails()
    {
        var node = await StateServerRunner.StartAsync(new StateServerOptions { Port = 0 });

        // A generous probe timeout: the first probe also opens the connection and warms both sides up, which
        // can take over a second on a busy machine. The stopped node's probe below fails fast (refused).
        using var client = new StateServerClient(new StateServerClientOptions { NodeId = "n1", BaseAddress = node.BaseAddress, ProbeTimeout = TimeSpan.FromSeconds(15) });
        await client.ProbeAsync(CancellationToken.None);
        var key = NewKey();
        Assert.Equal(StoreStatus.Ok, (await client.SetAsync(key, new SessionWrite(new byte[] { 7 }, TimeSpan.FromMinutes(1)))).Status);

        await node.StopAsync();

        await Assert.ThrowsAsync<SessionStoreUnavailableException>(async () => await client.GetAsync(key));
        await Assert.ThrowsAsync<SessionStoreUnavailableException>(async () => await client.ProbeAsync(CancellationToken.None));
    }

    [Fact]
    public async Task LockWaitLongerThanTheAttemptTimeout_IsNotCutShort()
    {
        await using var node = await StateServerRunner.StartAsync(new StateServerOptions { Port = 0 });
        using var client = new StateServerClient(new StateServerClientOptions { NodeId = "n1", BaseAddress = node.BaseAddress, AttemptTimeout = TimeSpan.FromMilliseconds(300) });

        // The holder's calls go through a client of their own: only the waiting call is about the short attempt
        // timeout. A first call on a new connection, or any call on a busy machine, can take longer than 300 ms.
        using var holder = new StateServerClient(new StateServerClientOptions { NodeId = "n1", BaseAddress = node.BaseAddress, AttemptTimeout = TimeSpan.FromSeconds(30) });
        var key = NewKey();
        await holder.SetAsync(key, new SessionWrite(new byte[] { 1 }, TimeSpan.FromMinutes(1)));
        var held = await holder.GetExclusiveAsync(key, LockRequest.NoWait);

        var waiting = client.GetExclusiveAsync(key, new LockRequest(TimeSpan.FromSeconds(10))).AsTask();

        // Parked in the node, then kept waiting well past the attempt timeout before the release wakes it.
        for (var attempt = 0; attempt < 1000 && node.Store.WaitingCallers(key) == 0 && !waiting.IsCompleted; attempt++)
        {
            await Task.Delay(10);
        }

        Assert.False(waiting.IsCompleted, waiting.Exception?.ToString());
        Assert.Equal(1, node.Store.WaitingCallers(key));
        await Task.Delay(800);
        Assert.False(waiting.IsCompleted, waiting.Exception?.ToString());
        await holder.ReleaseAsync(key, held.Lock.LockId);
        var woken = await waiting.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(StoreStatus.Ok, woken.Status);
        Assert.NotEqual(held.Lock.LockId, woken.Lock.LockId);
    }

    [Fact]
    public async Task WrongAccessKey_IsReportedAsUnavailable_RightKeyWorks()
    {
        const string key = "client-tests-access-key-0123456789";
        await using var node = await StateServerRunner.StartAsync(new StateServerOptions { Port = 0, AccessKey = key });
        using var wrong = new StateServerClient(new StateServerClientOptions { NodeId = "n1", BaseAddress = node.BaseAddress, AccessKey = "not-the-right-key-at-all" });
        using var right = new StateServerClient(new StateServerClientOptions { NodeId = "n1", BaseAddress = node.BaseAddress, AccessKey = key });

        var error = await Assert.ThrowsAsync<SessionStoreUnavailableException>(async () => await wrong.GetAsync(NewKey()));
        Assert.Contains("access key", error.Message, StringComparison.Ordinal);
        Assert.Equal(StoreStatus.NotFound, (await right.GetAsync(NewKey())).Status);
        await right.ProbeAsync(CancellationToken.None);
    }

    [Fact]
    public async Task TooLargeAndCapacity_AreStatuses_NotExceptions()
    {
        await using var node = await StateServerRunner.StartAsync(new StateServerOptions { Port = 0, MaxItemBytes = 100, MemoryCapBytes = 600 });
        using var client = new StateServerClient(new StateServerClientOptions { NodeId = "n1", BaseAddress = node.BaseAddress });

        var tooLarge = await client.SetAsync(NewKey(), new SessionWrite(new byte[101], TimeSpan.FromMinutes(1)));
        var results = new List<StoreStatus>();
        for (var i = 0; i < 10; i++)
        {
            results.Add((await client.SetAsync(NewKey(), new SessionWrite(new byte[100], TimeSpan.FromMinutes(1)))).Status);
        }

        Assert.Equal(StoreStatus.TooLarge, tooLarge.Status);
        Assert.Contains(StoreStatus.Ok, results);
        Assert.Equal(StoreStatus.CapacityExceeded, results[^1]);
    }
}
