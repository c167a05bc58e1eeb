using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using SessionRouter.Gateway.Tests.Infrastructure;
using Xunit;

namespace SessionRouter.Gateway.Tests;

/// <summary>Edits of yarp.json while the gateway runs.</summary>
public sealed class ReloadTests : IAsyncLifetime
{
    private GatewayFarm _farm = null!;

    public async Task InitializeAsync() => _farm = await GatewayFarm.StartAsync(new FarmOptions());

    public async Task DisposeAsync() => await _farm.DisposeAsync();

    [Fact]
    public async Task ValidMapEdit_AppliesAtomically_ReusesUnchangedNodes_AndDisposesRemovedOnes()
    {
        var before = _farm.Snapshots.Current;
        Assert.Equal(1, before.Revision);
        using var client = _farm.NewClient();
        var first = await SiteReply.ReadAsync(await client.GetAsync("/cart/inc"));

        var applied = await _farm.EditConfigAsync(c =>
        {
            // Sessions of this map expire after 2 s, so its handover ends 2 s after the next edit.
            c["SessionRouter"]!["IdleTimeout"] = "00:00:02";
            var nodes = c["SessionRouter"]!["Nodes"]!.AsArray();
            nodes.Add(new JsonObject { ["Id"] = "node-d", ["Engine"] = "Builtin", ["Address"] = "http://127.0.0.1:4" });
        });

        Assert.True(applied);
        var after = _farm.Snapshots.Current;
        Assert.Equal(2, after.Revision);
        Assert.Equal(4, after.Nodes.Length);
        Assert.NotSame(before.Resolver, after.Resolver);
        Assert.Single(_farm.InMemoryNodes!.Connected, id => id == "node-a");
        Assert.Single(_farm.InMemoryNodes!.Connected, id => id == "node-d");

        using var admin = new HttpClient { BaseAddress = _farm.Address };
        using (var status = JsonDocument.Parse(await admin.GetStringAsync("/_sessionrouter/status")))
        {
            Assert.Equal(2, status.RootElement.GetProperty("revision").GetInt64());
            Assert.Equal(4, status.RootElement.GetProperty("nodes").GetArrayLength());
        }

        // A removed node is drained: its client is disposed once its sessions' handover has ended.
        var removed = await _farm.EditConfigAsync(c => c["SessionRouter"]!["Nodes"]!.AsArray().RemoveAt(3));
        Assert.True(removed);
        Assert.Equal(0, _farm.InMemoryNodes!.Stores["node-d"].Disposed);
        await SessionPipelineTests.WaitUntilAsync(() => _farm.InMemoryNodes!.Stores["node-d"].Disposed == 1);

        // The line is written once the shortened snapshot is in force, and the removed node can be disposed (on
        // another thread, as soon as no request uses the old snapshot) before that: wait for the line too.
        await SessionPipelineTests.WaitUntilAsync(() => _farm.Logs.Contains("Ended the handover"));
        Assert.Equal(0, _farm.InMemoryNodes!.Stores["node-a"].Disposed);

        // Same map as at the start: the session is where it was.
        var again = await SiteReply.ReadAsync(await client.GetAsync("/cart/inc"));
        Assert.Equal(first.Count + 1, again.Count);
    }

    [Fact]
    public async Task EditOfTimeoutsOnly_KeepsTheResolver()
    {
        var before = _farm.Snapshots.Current;
        Assert.True(await _farm.EditConfigAsync(c => c["SessionRouter"]!["LockWaitTimeout"] = "00:00:03"));
        var after = _farm.Snapshots.Current;
        Assert.Same(before.Resolver, after.Resolver);
        Assert.Equal(TimeSpan.FromSeconds(3), after.ExclusiveRead.WaitTimeout);
    }

    [Theory]
    [InlineData("SignatureKey", "c2hvcnQ=", "SessionRouter:SignatureKey")]
    [InlineData("IdleTimeout", "soon", "SessionRouter:IdleTimeout")]
    [InlineData("ReplicationFactor", "7", "SessionRouter:ReplicationFactor")]
    public async Task InvalidEdit_IsRefused_NamingTheField_AndTheLastGoodConfigurationStays(string field, string value, string named)
    {
        using var client = _farm.NewClient();
        await client.GetAsync("/cart/inc");

        var applied = await _farm.EditConfigAsync(c => c["SessionRouter"]![field] = value);

        Assert.False(applied);
        Assert.Equal(1, _farm.Snapshots.Current.Revision);
        Assert.True(_farm.Logs.Contains(named), string.Join("\n", _farm.Logs.Lines));
        Assert.True(_farm.Logs.Contains("revision 1 stays in force"));
        var reply = await SiteReply.ReadAsync(await client.GetAsync("/cart/inc"));
        Assert.Equal(2, reply.Count);
        Assert.True(reply.IsSigned);
    }

    [Fact]
    public async Task InvalidNodeEdit_IsRefused_NamingTheNode()
    {
        var applied = await _farm.EditConfigAsync(c => c["SessionRouter"]!["Nodes"]![1]!["Address"] = "not a url");
        Assert.False(applied);
        Assert.True(_farm.Logs.Contains("SessionRouter:Nodes:1:Address"));
        Assert.Equal(3, _farm.Snapshots.Current.Nodes.Length);
    }

    [Fact]
    public async Task RouteEdit_IsAppliedByYarp_WithItsSessionMode()
    {
        using var client = _farm.NewClient();
        await client.GetAsync("/cart/inc");
        Assert.Equal("read-write", (await SiteReply.ReadAsync(await client.GetAsync("/assets/logo.png"))).Mode);

        await File.WriteAllTextAsync(_farm.ConfigPath, EditRoutes(_farm.Config).ToJsonString());
        await WaitForRouteAsync(client, "/assets/logo.png");
        var calls = _farm.InMemoryNodes!.Stores.Values.Sum(s => s.Calls);
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal("", (await SiteReply.ReadAsync(await client.GetAsync("/assets/logo.png"))).Mode);
        }

        Assert.Equal(calls, _farm.InMemoryNodes!.Stores.Values.Sum(s => s.Calls));
        Assert.Equal(1, _farm.Snapshots.Current.Revision);

        static JsonObject EditRoutes(JsonObject config)
        {
            config["ReverseProxy"]!["Routes"]!["assets"] = new JsonObject
            {
                ["ClusterId"] = "sites",
                ["Match"] = new JsonObject { ["Path"] = "/assets/{**rest}" },
                ["Metadata"] = new JsonObject { ["Session"] = "None" },
            };
            return config;
        }
    }

    private static async Task<SiteReply> WaitForRouteAsync(HttpClient client, string path)
    {
        for (var i = 0; i < 200; i++)
        {
            var reply = await SiteReply.ReadAsync(await client.GetAsync(path));
            if (reply.Mode == "")
            {
                return reply;
            }

            await Task.Delay(25);
        }

        throw new TimeoutException("the route edit was not applied within 5 s");
    }

    [Fact]
    public async Task FileThatIsNotJson_IsRefusedWithALogLine_AndTheLastGoodConfigurationStays()
    {
        using var client = _farm.NewClient();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/cart/inc")).StatusCode);
        using var admin = new HttpClient { BaseAddress = _farm.Address };
        var before = await ReloadCountAsync(admin);

        await File.WriteAllTextAsync(_farm.ConfigPath, "this is { not JSON at all");

        JsonElement outcome = default;
        for (var attempt = 0; attempt < 600; attempt++)
        {
            using var status = JsonDocument.Parse(await admin.GetStringAsync("/_sessionrouter/status"));
            if (status.RootElement.GetProperty("reloadCount").GetInt64() > before)
            {
                outcome = status.RootElement.GetProperty("reloads")[0].Clone();
                break;
            }

            await Task.Delay(25);
        }

        Assert.Equal(JsonValueKind.Object, outcome.ValueKind);
        Assert.False(outcome.GetProperty("applied").GetBoolean());
        Assert.Equal(1, outcome.GetProperty("revision").GetInt64());
        Assert.Contains("JSON", outcome.GetProperty("errors")[0].GetString(), StringComparison.Ordinal);
        Assert.True(_farm.Logs.Contains("not valid JSON"), string.Join(Environment.NewLine, _farm.Logs.Lines));

        // Routes and sessions are as before: the gateway kept the last good file, not an empty one.
        var reply = await SiteReply.ReadAsync(await client.GetAsync("/cart/inc"));
        Assert.Equal(200, reply.Status);
        Assert.Equal(2, reply.Count);
        Assert.Equal(1, _farm.Snapshots.Current.Revision);

        // A good file afterwards applies as usual.
        Assert.True(await _farm.EditConfigAsync(c => c["SessionRouter"]!["LockWaitTimeout"] = "00:00:04"));
        Assert.Equal(2, _farm.Snapshots.Current.Revision);
    }

    private static async Task<long> ReloadCountAsync(HttpClient admin)
    {
        using var status = JsonDocument.Parse(await admin.GetStringAsync("/_sessionrouter/status"));
        return status.RootElement.GetProperty("reloadCount").GetInt64();
    }
}
