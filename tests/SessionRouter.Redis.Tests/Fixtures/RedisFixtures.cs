using SessionRouter.Redis.Configuration;
using SessionRouter.Testing.Redis;
using Xunit;

namespace SessionRouter.Redis.Tests.Fixtures;

/// <summary>One redis-server for the whole test run, and a store connected to it.</summary>
public sealed class StandaloneRedisFixture : IAsyncLifetime
{
    public RedisServerProcess Server { get; private set; } = null!;

    public RedisSessionStore Store { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Server = await RedisServerProcess.StartAsync();
        Store = await RedisSessionStore.ConnectAsync(Options.For("standalone", Server.ConnectionString));
    }

    public async Task DisposeAsync()
    {
        if (Store is not null)
        {
            await Store.DisposeAsync();
        }

        if (Server is not null)
        {
            await Server.DisposeAsync();
        }
    }
}

/// <summary>One 3-master Redis Cluster for the whole test run, and a store connected to it.</summary>
public sealed class RedisClusterFixture : IAsyncLifetime
{
    public RedisClusterProcess Cluster { get; private set; } = null!;

    public RedisSessionStore Store { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Cluster = await RedisClusterProcess.StartAsync();
        Store = await RedisSessionStore.ConnectAsync(Options.For("cluster", Cluster.ConnectionString));
    }

    public async Task DisposeAsync()
    {
        if (Store is not null)
        {
            await Store.DisposeAsync();
        }

        if (Cluster is not null)
        {
            await Cluster.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class StandaloneRedisCollection : ICollectionFixture<StandaloneRedisFixture>
{
    public const string Name = "redis-standalone";
}

[CollectionDefinition(Name)]
public sealed class RedisClusterCollection : ICollectionFixture<RedisClusterFixture>
{
    public const string Name = "redis-cluster";
}

internal static class Options
{
    /// <summary>
    /// Options for tests: a node id and connection string, the contract suite's waiter limit (4),
    /// otherwise the defaults.
    /// </summary>
    public static RedisStoreOptions For(string nodeId, string connectionString) => new()
    {
        NodeId = nodeId,
        ConnectionString = connectionString,
        MaxLockWaiters = 4,
    };
}
