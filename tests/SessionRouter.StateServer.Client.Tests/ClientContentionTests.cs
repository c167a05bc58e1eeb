using SessionRouter.Core.Storage;
using SessionRouter.StateServer.Hosting;
using SessionRouter.Testing.StoreContract;

namespace SessionRouter.StateServer.Client.Tests;

/// <summary>The contention contract through one <see cref="StateServerClient"/> (locks taken and watched through it) against a real engine.</summary>
public abstract class ClientContentionTests : LockContentionContractTests, IDisposable
{
    private readonly StateServerClient _client;

    protected ClientContentionTests(StateServerClientOptions options)
    {
        // Short on purpose: a watch lives far longer than an attempt, and must not be cut by its timeout.
        options.AttemptTimeout = TimeSpan.FromSeconds(5);
        _client = new StateServerClient(options);
    }

    protected StateServerClient Client => _client;

    protected override ISessionStore Store => _client;

    protected override ILockContentionSource Source => _client;

    /// <summary>The attempt timeout bounds store calls, never the watch: it still delivers after several of them.</summary>
    [Fact]
    public async Task AWatch_OutlivesTheAttemptTimeout()
    {
        await using var watch = ContentionWatch.Start(Source);
        await EstablishAsync(watch);

        await Task.Delay(TimeSpan.FromSeconds(6));
        await ContendAsync(NewKey(), [watch]);

        Assert.Null(watch.Error);
    }

    public void Dispose()
    {
        _client.Dispose();
        GC.SuppressFinalize(this);
    }
}

/// <summary>Over HTTP/2 cleartext (the gateway's path).</summary>
public sealed class ClientOverHttp2ContentionTests(EngineNodeFixture fixture)
    : ClientContentionTests(new StateServerClientOptions { NodeId = "h2", BaseAddress = fixture.Node.BaseAddress }), IClassFixture<EngineNodeFixture>;

/// <summary>Over HTTP/1.1 on the MS-ASP port (a chunked response).</summary>
public sealed class ClientOverHttp1ContentionTests(EngineNodeFixture fixture)
    : ClientContentionTests(new StateServerClientOptions { NodeId = "h1", BaseAddress = fixture.Node.ClassicAddress, UseHttp2 = false }), IClassFixture<EngineNodeFixture>;

/// <summary>The watch's failures: each one a <see cref="SessionStoreUnavailableException"/> naming the node.</summary>
public sealed class ClientContentionFailureTests
{
    private const string AccessKey = "client-contention-access-key";

    [Theory]
    [InlineData(null)]
    [InlineData("not-the-key")]
    public async Task AMissingOrWrongAccessKey_FailsTheWatch_NamingTheNode(string? key)
    {
        await using var node = await StateServerRunner.StartAsync(new StateServerOptions { Port = 0, Http2Port = 0, AccessKey = AccessKey });
        using var client = new StateServerClient(new StateServerClientOptions { NodeId = "keyed", BaseAddress = node.BaseAddress, AccessKey = key });

        var error = await Assert.ThrowsAsync<SessionStoreUnavailableException>(() => DrainAsync(client));

        Assert.Equal("keyed", error.NodeId);
        Assert.Contains("401", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheRightAccessKey_OpensTheWatch()
    {
        await using var node = await StateServerRunner.StartAsync(new StateServerOptions { Port = 0, Http2Port = 0, AccessKey = AccessKey });
        using var client = new StateServerClient(new StateServerClientOptions { NodeId = "keyed", BaseAddress = node.BaseAddress, AccessKey = AccessKey });
        await using var watch = ContentionWatch.Start(client);

        var holderLockId = await SeenAsync(node, watch);

        Assert.Equal(holderLockId, watch.Seen[^1].HolderLockId);
    }

    [Fact]
    public async Task ANodeThatStops_EndsTheWatch_AsUnavailable()
    {
        var node = await StateServerRunner.StartAsync(new StateServerOptions { Port = 0, Http2Port = 0 });
        using var client = new StateServerClient(new StateServerClientOptions { NodeId = "stopping", BaseAddress = node.BaseAddress });
        await using var watch = ContentionWatch.Start(client);
        await SeenAsync(node, watch);

        await node.ShutdownAsync();

        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!watch.Ended)
        {
            await Task.Delay(20, bound.Token);
        }

        var error = Assert.IsType<SessionStoreUnavailableException>(watch.Error);
        Assert.Equal("stopping", error.NodeId);
    }

    [Fact]
    public async Task ANodeThatCannotBeReached_FailsTheWatch_NamingTheNode()
    {
        using var client = new StateServerClient(new StateServerClientOptions { NodeId = "gone", BaseAddress = new Uri($"http://127.0.0.1:{Testing.Network.LoopbackPorts.GetFree()}/") });

        var error = await Assert.ThrowsAsync<SessionStoreUnavailableException>(() => DrainAsync(client));

        Assert.Equal("gone", error.NodeId);
    }

    /// <summary>Waiters queued one after the other (each leaves again) until the watch sees one; returns the holder's lock id.</summary>
    private static async Task<long> SeenAsync(StateServerRunner node, ContentionWatch watch)
    {
        var key = new SessionKey("app", Guid.NewGuid().ToString("N"));
        var holder = await node.Store.GetExclusiveAsync(key, new LockRequest(TimeSpan.Zero, CreateIfMissing: true));
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            bound.Token.ThrowIfCancellationRequested();
            using var leave = new CancellationTokenSource();
            var waiter = node.Store.GetExclusiveAsync(key, new LockRequest(TimeSpan.FromMinutes(1)), leave.Token).AsTask();
            var seen = await watch.SawWithinAsync(key, TimeSpan.FromMilliseconds(250));
            await leave.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiter);
            if (seen)
            {
                return holder.Lock.LockId;
            }
        }
    }

    private static async Task DrainAsync(ILockContentionSource source)
    {
        await foreach (var _ in source.WatchContentionAsync(CancellationToken.None))
        {
        }
    }
}
