using SessionRouter.Core.Storage;
using SessionRouter.StateServer.Hosting;
using SessionRouter.Testing.StoreContract;

namespace SessionRouter.StateServer.Client.Tests;

/// <summary>One real engine node on free loopback ports, shared by a test class (keys are unique per test).</summary>
public sealed class EngineNodeFixture : IAsyncLifetime
{
    public StateServerRunner Node { get; private set; } = null!;

    public async Task InitializeAsync() =>
        Node = await StateServerRunner.StartAsync(new StateServerOptions { Port = 0, Http2Port = 0, MaxWaitersPerSession = 4 });

    public async Task DisposeAsync() => await Node.DisposeAsync();
}

/// <summary>The contract suite through one <see cref="StateServerClient"/> built from the given options.</summary>
public abstract class ClientContractTests : SessionStoreContractTests, IDisposable
{
    private readonly StateServerClient _client;
    private readonly EngineNodeFixture _fixture;

    protected ClientContractTests(EngineNodeFixture fixture, StateServerClientOptions options)
    {
        _fixture = fixture;
        options.AttemptTimeout = TimeSpan.FromSeconds(10);
        _client = new StateServerClient(options);
    }

    protected override ISessionStore Store => _client;

    /// <summary>Callers parked in the engine behind the client: a request is parked once the engine queued it.</summary>
    protected override int WaitingCallers(SessionKey key) => _fixture.Node.Store.WaitingCallers(key);

    public void Dispose()
    {
        _client.Dispose();
        GC.SuppressFinalize(this);
    }
}

/// <summary>The contract suite through the client over HTTP/2 cleartext (the gateway's path, default options).</summary>
public sealed class ClientOverHttp2ContractTests(EngineNodeFixture fixture)
    : ClientContractTests(fixture, new StateServerClientOptions { NodeId = "h2", BaseAddress = fixture.Node.BaseAddress }), IClassFixture<EngineNodeFixture>;

/// <summary>The contract suite with every operation sent through the batch extension (POST /batch), even alone.</summary>
public sealed class ClientBatchContractTests(EngineNodeFixture fixture)
    : ClientContractTests(fixture, new StateServerClientOptions { NodeId = "batch", BaseAddress = fixture.Node.BaseAddress, BatchEveryOperation = true }), IClassFixture<EngineNodeFixture>;

/// <summary>The contract suite with batching off: every operation is a request of its own.</summary>
public sealed class ClientUnbatchedContractTests(EngineNodeFixture fixture)
    : ClientContractTests(fixture, new StateServerClientOptions { NodeId = "unbatched", BaseAddress = fixture.Node.BaseAddress, EnableBatching = false }), IClassFixture<EngineNodeFixture>;

/// <summary>The contract suite through the client over HTTP/1.1 on the MS-ASP port.</summary>
public sealed class ClientOverHttp1ContractTests(EngineNodeFixture fixture)
    : ClientContractTests(fixture, new StateServerClientOptions { NodeId = "h1", BaseAddress = fixture.Node.ClassicAddress, UseHttp2 = false }), IClassFixture<EngineNodeFixture>;
