using System.Net;
using System.Text.Json.Nodes;
using SessionRouter.Gateway.Tests.Infrastructure;
using SessionRouter.StateServer.Hosting;
using SessionRouter.Testing.Redis;
using Xunit;

namespace SessionRouter.Gateway.Tests;

/// <summary>
/// Leases over real nodes: the revocation travels through the engine's contention stream (HTTP/2) or a Redis
/// node's contention channel. The lease outlasts the lock wait, so a request on the other gateway is served only
/// when the node's announcement made the holder give the session up.
/// </summary>
public sealed class LeaseNodeTests
{
    private const string LeaseTime = "00:00:40";
    private const string LockWait = "00:00:05";

    [Fact]
    public async Task OverBuiltInEngines_ClientsAlternatingBetweenGateways_AreServedEveryTime()
    {
        var engines = new List<StateServerRunner>();
        try
        {
            for (var i = 0; i < 2; i++)
            {
                engines.Add(await StateServerRunner.StartAsync(new StateServerOptions { Port = 0, Http2Port = 0 }));
            }

            var options = Options(config => config["SessionRouter"]!["ReplicationFactor"] = 2);
            options.NodeAddresses = engines.Select(e => e.BaseAddress.ToString()).ToList();
            await AlternateAsync(options);
        }
        finally
        {
            foreach (var engine in engines)
            {
                await engine.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task OverARedisNode_ClientsAlternatingBetweenGateways_AreServedEveryTime()
    {
        await using var redis = await RedisServerProcess.StartAsync();
        await AlternateAsync(Options(config => config["SessionRouter"]!["Nodes"] = new JsonArray(
            new JsonObject { ["Id"] = "redis-a", ["Engine"] = "Redis", ["ConnectionString"] = redis.ConnectionString })));
    }

    private static async Task AlternateAsync(FarmOptions options)
    {
        await using var farm = await GatewayFarm.StartAsync(options);
        var second = await farm.StartAnotherGatewayAsync(options);
        var cookies = new CookieContainer();
        using var first = farm.NewClient(cookies: cookies);
        using var other = farm.NewClient(second, cookies);

        for (var count = 1; count <= 3; count++)
        {
            Assert.Equal(count, (await SiteReply.ReadAsync(await first.GetAsync("/cart/inc"))).Count);
        }

        for (var count = 4; count <= 10; count++)
        {
            var reply = await SiteReply.ReadAsync(await (count % 2 == 0 ? other : first).GetAsync("/cart/inc"));
            Assert.Equal(200, reply.Status);
            Assert.Equal(count, reply.Count);
        }
    }

    private static FarmOptions Options(Action<JsonObject> edit) => new()
    {
        Sites = 1,
        RealNodes = true,
        LockWaitTimeout = LockWait,
        ProbeTimeout = "00:00:03",
        FailuresToDown = 3,
        Edit = config =>
        {
            edit(config);

            // No backoff after a revocation: every switch of gateway revokes the other one's lease.
            config["SessionRouter"]!["Leases"] = new JsonObject { ["Enabled"] = true, ["Time"] = LeaseTime, ["ContentionBackoff"] = "00:00:00" };
        },
    };
}
