using Microsoft.Extensions.Configuration;
using SessionRouter.Core.Configuration;
using SessionRouter.Redis.Configuration;
using Xunit;

namespace SessionRouter.Redis.Tests.Store;

/// <summary>The example partition maps in config/ are valid and name Redis nodes only.</summary>
public sealed class ConfigFilesTests
{
    [Theory]
    [InlineData("redis.json", 3)]
    [InlineData("redis-cluster.json", 1)]
    public void ExampleConfig_IsValid_AndEveryNodeIsARedisNode(string file, int nodeCount)
    {
        var path = Path.Combine(RepositoryRoot(), "config", file);
        var configuration = new ConfigurationBuilder().AddJsonFile(path, optional: false).Build();
        var options = configuration.GetSection(SessionRouterOptions.SectionName).Get<SessionRouterOptions>()!;

        Assert.Empty(SessionRouterOptionsValidator.Validate(options));
        Assert.Equal(nodeCount, options.Nodes.Count);
        Assert.True(configuration.GetSection("ReverseProxy:Routes").GetChildren().Any());
        Assert.Equal(3, configuration.GetSection("ReverseProxy:Clusters:sites:Destinations").GetChildren().Count());
        for (var i = 0; i < options.Nodes.Count; i++)
        {
            Assert.Equal(StateNodeEngine.Redis, options.Nodes[i].Engine);
            Assert.Empty(RedisStoreOptionsValidator.Validate(RedisStoreOptions.FromNode(options.Nodes[i], options, i)));
        }
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "SessionRouter.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("SessionRouter.sln not found above " + AppContext.BaseDirectory);
    }
}
