using System.Net;
using SampleFarm.Hosting;
using SampleFarm.Logging;
using SessionRouter.Samples.Tests.Infrastructure;
using Xunit;
using static SessionRouter.Samples.Tests.Infrastructure.CartPageText;

namespace SessionRouter.Samples.Tests;

/// <summary>The farm's options: only some parts, and Redis instead of the built-in engine.</summary>
public sealed class FarmVariantsTests
{
    [Fact]
    public async Task Only_NodesAndSites_StartsNoGateway()
    {
        await using var farm = await Farm.StartAsync(new FarmOptions { UseFreePorts = true, Parts = FarmParts.Nodes | FarmParts.Sites, Log = FarmLog.Null });

        Assert.Null(farm.GatewayAddress);
        Assert.Equal(3, farm.Nodes.Count);
        Assert.Equal(3, farm.Sites.Count);
        using var site = new HttpClient { BaseAddress = farm.Sites[1].Address };
        Assert.StartsWith("ok site-2", await site.GetStringAsync("/health"));
    }

    [Fact]
    public async Task Redis_StartsLocalRedisServers_AndTheCartLivesThere()
    {
        await using var farm = await Farm.StartAsync(new FarmOptions { UseFreePorts = true, UseRedis = true, Log = FarmLog.Null });

        Assert.EndsWith(Path.Combine("config", "redis.json"), Farm.ResolveConfigPath(new FarmOptions { UseRedis = true }));
        Assert.All(farm.Nodes, node => Assert.Equal("Redis", node.Engine));
        using var browser = new HttpClient(new SocketsHttpHandler { CookieContainer = new CookieContainer() }) { BaseAddress = farm.GatewayAddress };
        (await browser.PostAsync("/cart/add", new FormUrlEncodedContent([new("sku", "kettle"), new("quantity", "2")]))).Dispose();
        var page = await browser.GetStringAsync("/");
        Assert.Equal("2", Field(page, "cart-count"));
        Assert.StartsWith("redis-", Field(page, "state-node"));
    }

    [Fact]
    public async Task MissingConfiguration_FailsWithTheFileName()
    {
        var error = await Assert.ThrowsAsync<FileNotFoundException>(() => Farm.StartAsync(new FarmOptions { ConfigPath = "/nonexistent/yarp.json", Log = FarmLog.Null }));
        Assert.Contains("/nonexistent/yarp.json", error.Message);
    }
}
