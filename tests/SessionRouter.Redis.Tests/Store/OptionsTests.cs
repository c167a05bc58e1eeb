using SessionRouter.Core.Configuration;
using SessionRouter.Redis.Configuration;
using Xunit;

namespace SessionRouter.Redis.Tests.Store;

public sealed class OptionsTests
{
    [Fact]
    public void FromNode_TakesTheNodeAndTheSectionSettings()
    {
        var router = new SessionRouterOptions { LockTimeout = TimeSpan.FromSeconds(30), MaxStateBytes = 1000, MaxLockWaiters = 7, IdleTimeout = TimeSpan.FromMinutes(9) };
        var node = new StateNodeOptions { Id = "redis-a", Engine = StateNodeEngine.Redis, ConnectionString = "127.0.0.1:6379,password=secret,ssl=true" };

        var options = RedisStoreOptions.FromNode(node, router, nodeIndex: 2);

        Assert.Equal("redis-a", options.NodeId);
        Assert.Equal(node.ConnectionString, options.ConnectionString);
        Assert.Equal(TimeSpan.FromSeconds(30), options.DefaultLockTimeout);
        Assert.Equal(TimeSpan.FromMinutes(9), options.DefaultItemTimeout);
        Assert.Equal(1000, options.MaxItemBytes);
        Assert.Equal(7, options.MaxLockWaiters);
        Assert.Empty(RedisStoreOptionsValidator.Validate(options));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("127.0.0.1:6379,notAnOption=1")]
    [InlineData("password=only")]
    public void InvalidConnectionString_IsNamedByItsSettingPath(string connectionString)
    {
        var options = RedisStoreOptions.FromNode(new StateNodeOptions { Id = "r", Engine = StateNodeEngine.Redis, ConnectionString = connectionString }, new SessionRouterOptions(), nodeIndex: 3);

        var errors = RedisStoreOptionsValidator.Validate(options);

        Assert.Contains(errors, e => e.StartsWith("SessionRouter:Nodes:3:ConnectionString", StringComparison.Ordinal));
    }

    [Fact]
    public void TwoFaultySettings_AreBothNamed()
    {
        var options = RedisStoreOptions.FromNode(new StateNodeOptions { Id = "r", Engine = StateNodeEngine.Redis, ConnectionString = "" }, new SessionRouterOptions(), nodeIndex: 1);
        options.ConnectTimeout = TimeSpan.Zero;

        var errors = RedisStoreOptionsValidator.Validate(options);

        Assert.Equal(2, errors.Count);
        Assert.Contains(errors, e => e.StartsWith("SessionRouter:Nodes:1:ConnectionString ", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("ConnectTimeout ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ConnectAsync_WithInvalidOptions_ThrowsAndNamesEverySetting()
    {
        var options = new RedisStoreOptions { NodeId = "bad", ConnectionString = "", OperationTimeout = TimeSpan.Zero, KeyPrefix = "a{" };

        var error = await Assert.ThrowsAsync<ArgumentException>(() => RedisSessionStore.ConnectAsync(options));

        Assert.Contains("ConnectionString", error.Message);
        Assert.Contains("OperationTimeout", error.Message);
        Assert.Contains("KeyPrefix", error.Message);
    }
}
