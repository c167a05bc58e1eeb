using SessionRouter.Core.Storage;
using SessionRouter.Redis.Tests.Fixtures;
using SessionRouter.Testing.StoreContract;
using Xunit;

namespace SessionRouter.Redis.Tests.Contract;

/// <summary>The whole store contract suite against one standalone redis-server.</summary>
[Collection(StandaloneRedisCollection.Name)]
public sealed class StandaloneRedisContractTests(StandaloneRedisFixture fixture) : SessionStoreContractTests
{
    protected override ISessionStore Store => fixture.Store;

    protected override int WaitingCallers(SessionKey key) => fixture.Store.WaitingCallers(key);
}

/// <summary>The whole store contract suite against a 3-master Redis Cluster.</summary>
[Collection(RedisClusterCollection.Name)]
public sealed class RedisClusterContractTests(RedisClusterFixture fixture) : SessionStoreContractTests
{
    protected override ISessionStore Store => fixture.Store;

    protected override int WaitingCallers(SessionKey key) => fixture.Store.WaitingCallers(key);
}
