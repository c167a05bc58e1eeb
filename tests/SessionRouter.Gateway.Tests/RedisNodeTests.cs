using System.Net;
using System.Text.Json.Nodes;
using SessionRouter.Gateway.Tests.Infrastructure;
using SessionRouter.Testing.Redis;
using Xunit;

namespace SessionRouter.Gateway.Tests;

/// <summary>The gateway over real redis-server nodes, with its DataProtection key ring in Redis.</summary>
public sealed class RedisNodeTests : IAsyncLifetime
{
    private readonly List<RedisServerProcess> _redis = [];
    private GatewayFarm _farm = null!;

    public async Task InitializeAsync()
    {
        _redis.Add(await RedisServerProcess.StartAsync());
        _redis.Add(await RedisServerProcess.StartAsync());
        _farm = await GatewayFarm.StartAsync(new FarmOptions
        {
            Sites = 2,
            RealNodes = true,
            ProbeTimeout = "00:00:03",
            FailuresToDown = 3,
            Edit = config =>
            {
                var section = config["SessionRouter"]!;
                section["Nodes"] = new JsonArray(
                    new JsonObject { ["Id"] = "redis-a", ["Engine"] = "Redis", ["ConnectionString"] = _redis[0].ConnectionString },
                    new JsonObject { ["Id"] = "redis-b", ["Engine"] = "Redis", ["ConnectionString"] = _redis[1].ConnectionString });
                section["DataProtection"] = new JsonObject { ["RedisConnectionString"] = _redis[0].ConnectionString };
            },
        });
    }

    public async Task DisposeAsync()
    {
        await _farm.DisposeAsync();
        foreach (var redis in _redis)
        {
            await redis.DisposeAsync();
        }
    }

    [Fact]
    public async Task ConcurrentIncrements_OverRedisNodes_LoseNoUpdate_AndASecondGatewayReadsTheCookie()
    {
        var jar = new CookieContainer();
        using var client = _farm.NewClient(cookies: jar);
        Assert.Equal(1, (await SiteReply.ReadAsync(await client.GetAsync("/cart/inc"))).Count);

        var replies = await Task.WhenAll(Enumerable.Range(0, 30).Select(async _ => await SiteReply.ReadAsync(await client.GetAsync("/cart/inc"))));
        Assert.All(replies, r => Assert.Equal(200, r.Status));
        Assert.Equal(Enumerable.Range(2, 30), replies.Select(r => r.Count).Order());

        // The second gateway has no key file of its own: it can only read the cookie through the Redis key ring.
        var second = await _farm.StartAnotherGatewayAsync(new FarmOptions { RealNodes = true });
        jar.SetCookies(second, ".SessionRouter=" + jar.GetCookies(_farm.Address)[".SessionRouter"]!.Value);
        using var other = _farm.NewClient(second, jar);
        Assert.Equal(32, (await SiteReply.ReadAsync(await other.GetAsync("/cart/inc"))).Count);
        Assert.False(Directory.Exists(Path.Combine(_farm.Directory, "keys")));
    }
}
