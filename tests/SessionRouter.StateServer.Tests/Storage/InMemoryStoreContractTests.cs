using SessionRouter.Core.Storage;
using SessionRouter.StateServer.Storage;
using SessionRouter.Testing.StoreContract;

namespace SessionRouter.StateServer.Tests.Storage;

/// <summary>The contract suite against the engine's store, called in process.</summary>
public sealed class InMemoryStoreContractTests : SessionStoreContractTests, IDisposable
{
    private readonly InMemorySessionStore _store;

    public InMemoryStoreContractTests()
    {
        _store = new InMemorySessionStore(new InMemorySessionStoreOptions { MaxWaitersPerSession = WaiterLimit });
    }

    protected override ISessionStore Store => _store;

    protected override int WaitingCallers(SessionKey key) => _store.WaitingCallers(key);

    public void Dispose() => _store.Dispose();
}
