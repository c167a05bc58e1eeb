using System.Text.Json.Nodes;
using SessionRouter.Core.Storage;
using SessionRouter.Gateway.Tests.Infrastructure;
using Xunit;

namespace SessionRouter.Gateway.Tests;

/// <summary>
/// Edits of the partition map move sessions between nodes: every moved session keeps its state, read from its
/// node in the replaced map and copied forward by its next request.
/// </summary>
public sealed class MapEditHandoverTests
{
    private const int Sessions = 40;

    [Fact]
    public async Task AddingANode_EverySessionKeepsItsState_AndMovedOnesLiveOnTheNewNodeOnly()
    {
        await using var farm = await GatewayFarm.StartAsync(new FarmOptions { Sites = 1 });
        var sessions = await StartSessionsAsync(farm);

        Assert.True(await farm.EditConfigAsync(c => c["SessionRouter"]!["Nodes"]!.AsArray()
            .Add(new JsonObject { ["Id"] = "node-d", ["Engine"] = "Builtin", ["Address"] = "http://127.0.0.1:4" })));

        var moved = 0;
        foreach (var (client, id, before) in sessions)
        {
            var reply = await SiteReply.ReadAsync(await client.GetAsync("/cart/inc"));
            Assert.Equal(3, reply.Count);
            var now = (await FailureTests.Where(farm, id))[0];
            if (now != before)
            {
                moved++;
                Assert.Equal("node-d", now);
                Assert.Equal(StoreStatus.Ok, (await Stored(farm, now, id)).Status);
                Assert.Equal(StoreStatus.NotFound, (await Stored(farm, before, id)).Status);
            }
        }

        // A fourth node takes about a quarter of the sessions.
        Assert.InRange(moved, 1, Sessions - 1);
        Assert.True(farm.Logs.Contains("handed over to node node-d"));
        Dispose(sessions);
    }

    [Fact]
    public async Task RemovingANode_DrainsIt_ReadOnlyRequestsSeeTheState_AndEverySessionKeepsIt()
    {
        await using var farm = await GatewayFarm.StartAsync(new FarmOptions { Sites = 1 });
        var sessions = await StartSessionsAsync(farm);

        Assert.True(await farm.EditConfigAsync(c => c["SessionRouter"]!["Nodes"]!.AsArray().RemoveAt(2)));

        var moved = 0;
        foreach (var (client, id, before) in sessions)
        {
            // Read-only first: it reads the removed node's copy without moving it.
            Assert.Equal(2, (await SiteReply.ReadAsync(await client.GetAsync("/ro/show"))).Count);
            Assert.Equal(3, (await SiteReply.ReadAsync(await client.GetAsync("/cart/inc"))).Count);
            Assert.Equal(3, (await SiteReply.ReadAsync(await client.GetAsync("/ro/show"))).Count);
            if (before == "node-c")
            {
                moved++;
                Assert.Equal(StoreStatus.NotFound, (await Stored(farm, "node-c", id)).Status);
            }
        }

        Assert.InRange(moved, 1, Sessions - 1);
        Assert.Equal(0, farm.InMemoryNodes!.Stores["node-c"].Disposed);
        Dispose(sessions);
    }

    [Fact]
    public async Task ARequestOfTheReplacedMapInFlight_FinishesBeforeItsSessionIsHandedOver()
    {
        await using var farm = await GatewayFarm.StartAsync(new FarmOptions { Sites = 1 });
        var sessions = await StartSessionsAsync(farm);
        var (client, id, before) = sessions.First(s => s.Node == "node-c");

        // Its request holds the session's lock on node-c while the map loses node-c.
        var slow = client.GetAsync("/cart/inc?delayMs=1500");
        await SessionPipelineTests.WaitUntilAsync(() => farm.Sites[0].Requests == (2 * Sessions) + 1);
        Assert.True(await farm.EditConfigAsync(c => c["SessionRouter"]!["Nodes"]!.AsArray().RemoveAt(2)));

        var next = await SiteReply.ReadAsync(await client.GetAsync("/cart/inc"));
        Assert.Equal(3, (await SiteReply.ReadAsync(await slow)).Count);
        Assert.Equal(4, next.Count);
        Assert.Equal(StoreStatus.NotFound, (await Stored(farm, before, id)).Status);
        Dispose(sessions);
    }

    private static async Task<List<(HttpClient Client, string Id, string Node)>> StartSessionsAsync(GatewayFarm farm, int count = Sessions)
    {
        var sessions = new List<(HttpClient, string, string)>();
        for (var i = 0; i < count; i++)
        {
            var client = farm.NewClient();
            var first = await SiteReply.ReadAsync(await client.GetAsync("/cart/inc"));
            Assert.Equal(2, (await SiteReply.ReadAsync(await client.GetAsync("/cart/inc"))).Count);
            sessions.Add((client, first.Id, (await FailureTests.Where(farm, first.Id))[0]));
        }

        return sessions;
    }

    private static ValueTask<SessionReadResult> Stored(GatewayFarm farm, string nodeId, string sessionId)
        => farm.InMemoryNodes!.Stores[nodeId].Inner.GetAsync(new SessionKey("GatewayTests", sessionId));

    private static void Dispose(List<(HttpClient Client, string Id, string Node)> sessions)
    {
        foreach (var session in sessions)
        {
            session.Client.Dispose();
        }
    }
}
