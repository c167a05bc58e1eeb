using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Configuration;
using SessionRouter.Gateway.Hosting;
using SessionRouter.Gateway.Tests.Infrastructure;
using Xunit;

namespace SessionRouter.Gateway.Tests;

/// <summary>Start-up validation, the admin endpoints and gateways sharing a key ring.</summary>
public sealed class AdminAndStartupTests
{
    [Fact]
    public async Task AdminStatus_ReportsRevisionNodesHealthAndShares()
    {
        await using var farm = await GatewayFarm.StartAsync(new FarmOptions { Sites = 1 });
        using var admin = new HttpClient { BaseAddress = farm.Address };

        using var status = JsonDocument.Parse(await admin.GetStringAsync("/_sessionrouter/status"));

        var root = status.RootElement;
        Assert.Equal(1, root.GetProperty("revision").GetInt64());
        var nodes = root.GetProperty("nodes").EnumerateArray().ToList();
        Assert.Equal(["node-a", "node-b", "node-c"], nodes.Select(n => n.GetProperty("id").GetString()));
        Assert.All(nodes, n => Assert.True(n.GetProperty("healthy").GetBoolean()));
        Assert.InRange(nodes.Sum(n => n.GetProperty("keySpaceShare").GetDouble()), 0.999, 1.001);
        Assert.All(nodes, n => Assert.InRange(n.GetProperty("keySpaceShare").GetDouble(), 0.30, 0.37));
    }

    [Fact]
    public async Task AdminStatus_SaysWhenEachNodeWasLastProbed()
    {
        await using var farm = await GatewayFarm.StartAsync(new FarmOptions { Sites = 1 });
        using var admin = new HttpClient { BaseAddress = farm.Address };

        // Null until the node's first probe finished (callers wait on it to know the first round is done), then a time.
        List<JsonElement> nodes = [];
        for (var attempt = 0; attempt < 400; attempt++)
        {
            using var status = JsonDocument.Parse(await admin.GetStringAsync("/_sessionrouter/status"));
            nodes = status.RootElement.GetProperty("nodes").EnumerateArray().Select(n => n.Clone()).ToList();
            if (nodes.All(n => n.GetProperty("lastProbe").ValueKind != JsonValueKind.Null))
            {
                break;
            }

            await Task.Delay(25);
        }

        Assert.Equal(3, nodes.Count);
        Assert.All(nodes, n => Assert.True(n.GetProperty("lastProbe").TryGetDateTimeOffset(out _), n.ToString()));
        Assert.All(nodes, n => Assert.True(n.GetProperty("healthy").GetBoolean(), n.ToString()));
    }

    [Fact]
    public async Task AdminWhere_ListsEveryNodeOnce_AndRejectsMalformedIds()
    {
        await using var farm = await GatewayFarm.StartAsync(new FarmOptions { Sites = 1 });
        using var client = farm.NewClient();
        var reply = await SiteReply.ReadAsync(await client.GetAsync("/cart/inc"));

        var list = await FailureTests.Where(farm, reply.Id);
        Assert.Equal(3, list.Distinct().Count());
        var holders = new List<string>();
        foreach (var store in farm.InMemoryNodes!.Stores.Values)
        {
            if ((await store.Inner.GetAsync(new("GatewayTests", reply.Id))).Status == Core.Storage.StoreStatus.Ok)
            {
                holders.Add(store.NodeId);
            }
        }

        Assert.Equal([list[0]], holders);

        using var admin = new HttpClient { BaseAddress = farm.Address };
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.GetAsync("/_sessionrouter/where/short")).StatusCode);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, (await admin.PostAsync("/_sessionrouter/status", null)).StatusCode);
    }

    [Fact]
    public async Task TwoGatewayInstances_SharingTheKeyRing_ServeTheSameSession()
    {
        await using var farm = await GatewayFarm.StartAsync(new FarmOptions { Sites = 2 });
        var second = await farm.StartAnotherGatewayAsync(new FarmOptions());
        var jar = new CookieContainer();
        using var one = farm.NewClient(cookies: jar);
        using var two = farm.NewClient(second, jar);

        Assert.Equal(1, (await SiteReply.ReadAsync(await one.GetAsync("/cart/inc"))).Count);
        jar.SetCookies(second, ".SessionRouter=" + jar.GetCookies(farm.Address)[".SessionRouter"]!.Value);
        Assert.Equal(2, (await SiteReply.ReadAsync(await two.GetAsync("/cart/inc"))).Count);
        Assert.Equal(3, (await SiteReply.ReadAsync(await one.GetAsync("/cart/inc"))).Count);
        Assert.Equal(4, (await SiteReply.ReadAsync(await two.GetAsync("/cart/inc"))).Count);
        Assert.Single(Directory.GetFiles(Path.Combine(farm.Directory, "keys"), "key-*.xml"));
    }

    [Theory]
    [InlineData("SignatureKey", null, "SessionRouter:SignatureKey")]
    [InlineData("LockTimeout", "00:00:00", "SessionRouter:LockTimeout")]
    [InlineData("MaxStateBytes", "many", "SessionRouter:MaxStateBytes")]
    [InlineData("LockTiemout", "00:00:01", "LockTiemout")]
    public async Task InvalidFile_StopsStartUp_NamingTheField(string field, string? value, string named)
    {
        var directory = Directory.CreateTempSubdirectory("sr-gw-bad-");
        try
        {
            var config = ValidConfig();
            config["SessionRouter"]![field] = value;
            var path = Path.Combine(directory.FullName, "yarp.json");
            await File.WriteAllTextAsync(path, config.ToJsonString());

            var error = Assert.Throws<GatewayConfigurationException>(() => GatewayApp.Build(new GatewayAppOptions { ConfigPath = path, Urls = "http://127.0.0.1:0" }));

            Assert.Contains(named, error.Message, StringComparison.Ordinal);
            Assert.Contains(path, error.Message, StringComparison.Ordinal);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task InvalidSessionMetadata_OnARoute_StopsStartUp_NamingTheRoute()
    {
        var directory = Directory.CreateTempSubdirectory("sr-gw-bad-");
        try
        {
            var config = ValidConfig();
            config["ReverseProxy"]!["Routes"]!["all"]!["Metadata"] = new JsonObject { ["Session"] = "Sometimes" };
            var path = Path.Combine(directory.FullName, "yarp.json");
            await File.WriteAllTextAsync(path, config.ToJsonString());

            var error = Assert.Throws<GatewayConfigurationException>(() => GatewayApp.Build(new GatewayAppOptions { ConfigPath = path, Urls = "http://127.0.0.1:0" }));

            Assert.Contains("ReverseProxy:Routes:all:Metadata:Session", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public void MissingFile_StopsStartUp_NamingThePath()
    {
        var error = Assert.Throws<GatewayConfigurationException>(() => GatewayApp.Build(["--config", "/nonexistent/yarp.json"]));
        Assert.Contains("/nonexistent/yarp.json", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("yarp.json")]
    [InlineData("config/basic.json")]
    [InlineData("config/remote-nodes.json")]
    public void RepositoryConfigurations_AreValid(string file)
    {
        var path = Path.Combine(Path.GetDirectoryName(GatewayApp.ResolveConfigPath(null))!, file);
        var configuration = new Microsoft.Extensions.Configuration.ConfigurationBuilder().AddJsonFile(path).Build();
        Configuration.SessionRouterConfigReader.Read(configuration, path, out var errors);
        Assert.Empty(errors);
    }

    private static JsonObject ValidConfig() => new()
    {
        ["ReverseProxy"] = new JsonObject
        {
            ["Routes"] = new JsonObject { ["all"] = new JsonObject { ["ClusterId"] = "c", ["Match"] = new JsonObject { ["Path"] = "{**catchall}" } } },
            ["Clusters"] = new JsonObject { ["c"] = new JsonObject { ["Destinations"] = new JsonObject { ["d"] = new JsonObject { ["Address"] = "http://127.0.0.1:9" } } } },
        },
        ["SessionRouter"] = new JsonObject
        {
            ["SignatureKey"] = Convert.ToBase64String(new byte[32]),
            ["Nodes"] = new JsonArray { new JsonObject { ["Id"] = "n1", ["Address"] = "http://127.0.0.1:1" } },
        },
    };
}
