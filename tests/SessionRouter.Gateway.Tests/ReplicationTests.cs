using System.Net;
using System.Text.Json.Nodes;
using SessionRouter.Core.Storage;
using SessionRouter.Gateway.Tests.Infrastructure;
using Xunit;

namespace SessionRouter.Gateway.Tests;

/// <summary>
/// With a replication factor above 1 a session lives on a majority of its replica set: a node that crashes,
/// restarts empty or comes back with old state never loses or rolls back an acknowledged write.
/// </summary>
public sealed class ReplicationTests
{
    [Fact]
    public async Task R3_ANodeThatGoesDown_LosesNoSession()
    {
        await using var farm = await StartAsync(replicationFactor: 3);
        using var client = farm.NewClient();
        var id = await IncrementAsync(client, times: 3);
        var primary = (await FailureTests.Where(farm, id))[0];

        await SetDownAsync(farm, primary, down: true);
        var reply = await SiteReply.ReadAsync(await client.GetAsync("/cart/inc"));

        Assert.Equal(200, reply.Status);
        Assert.Equal(4, reply.Count);
    }

    [Fact]
    public async Task R3_ANodeThatRestartedEmpty_IsOutvotedAndWrittenBack()
    {
        await using var farm = await StartAsync(replicationFactor: 3);
        using var client = farm.NewClient();
        var id = await IncrementAsync(client, times: 3);
        var primary = (await FailureTests.Where(farm, id))[0];

        farm.InMemoryNodes!.Stores[primary].RestartEmpty();
        var reply = await SiteReply.ReadAsync(await client.GetAsync("/cart/inc"));

        Assert.Equal(4, reply.Count);
        Assert.True(farm.Logs.Contains("were written back"), string.Join(Environment.NewLine, farm.Logs.Lines));
        var repaired = await Stored(farm, primary, id);
        Assert.Equal(StoreStatus.Ok, repaired.Status);
        Assert.False(repaired.Item!.Data.IsEmpty);
    }

    [Fact]
    public async Task R3_ANodeThatMissedWritesWhileDown_NeverServesItsOldState()
    {
        await using var farm = await StartAsync(replicationFactor: 3);
        using var client = farm.NewClient();
        var id = await IncrementAsync(client, times: 2);
        var list = await FailureTests.Where(farm, id);

        // The session's first replica misses three writes, then comes back with count 2 ...
        await SetDownAsync(farm, list[0], down: true);
        for (var count = 3; count <= 5; count++)
        {
            Assert.Equal(count, (await SiteReply.ReadAsync(await client.GetAsync("/cart/inc"))).Count);
        }

        await SetDownAsync(farm, list[0], down: false);

        // ... and the second goes down, so every majority now includes the stale one.
        await SetDownAsync(farm, list[1], down: true);
        var readOnly = await SiteReply.ReadAsync(await client.GetAsync("/ro/page"));

        // One replica of the old set restarts empty meanwhile: the other still hands the state over.
        farm.InMemoryNodes!.Stores["node-a"].RestartEmpty();
        var readWrite = await SiteReply.ReadAsync(await client.GetAsync("/cart/inc"));

        Assert.Equal(5, readOnly.Count);
        Assert.Equal(6, readWrite.Count);
        var onStale = await Stored(farm, list[0], id);
        Assert.True(onStale.Item!.Version >= (await Stored(farm, list[2], id)).Item!.Version);
    }

    [Fact]
    public async Task R2_WithOneReplicaDown_RefusesRatherThanWritingOneCopy_AndLosesNothing()
    {
        await using var farm = await StartAsync(replicationFactor: 2);
        using var client = farm.NewClient();
        var id = await IncrementAsync(client, times: 2);
        var list = await FailureTests.Where(farm, id);

        await SetDownAsync(farm, list[1], down: true);
        var refused = await client.GetAsync("/cart/inc");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.True(farm.Logs.Contains("needs 2 replicas"), string.Join(Environment.NewLine, farm.Logs.Lines));

        await SetDownAsync(farm, list[1], down: false);
        Assert.Equal(3, (await SiteReply.ReadAsync(await client.GetAsync("/cart/inc"))).Count);
    }

    [Fact]
    public async Task R3_AnAbandonedSession_DoesNotComeBackFromANodeThatMissedTheAbandon()
    {
        await using var farm = await StartAsync(replicationFactor: 3);
        var cookies = new CookieContainer();
        using var client = farm.NewClient(cookies: cookies);
        var id = await IncrementAsync(client, times: 3);
        var list = await FailureTests.Where(farm, id);
        var cookie = cookies.GetCookies(farm.Address).Single();

        await SetDownAsync(farm, list[0], down: true);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/cart/abandon")).StatusCode);
        await SetDownAsync(farm, list[0], down: false);
        await SetDownAsync(farm, list[1], down: true);

        // A second tab still sends the old cookie: the old count on list[0] must not come back.
        var kept = new CookieContainer();
        kept.Add(farm.Address, new Cookie(cookie.Name, cookie.Value));
        using var sameSession = farm.NewClient(cookies: kept);
        var reply = await SiteReply.ReadAsync(await sameSession.GetAsync("/cart/inc"));

        Assert.Equal(1, reply.Count);
    }

    [Fact]
    public async Task R3_ANewSession_IsWrittenToAMajorityBeforeItsCookieIsIssued()
    {
        await using var farm = await StartAsync(replicationFactor: 3);
        using var client = farm.NewClient();
        var first = await SiteReply.ReadAsync(await client.GetAsync("/cart/inc"));
        var list = await FailureTests.Where(farm, first.Id);

        var holding = 0;
        foreach (var node in list)
        {
            if ((await Stored(farm, node, first.Id)).Status == StoreStatus.Ok)
            {
                holding++;
            }
        }

        Assert.True(holding >= 2, $"{holding} of 3 replicas hold the new session");
    }

    [Fact]
    public async Task R2_AMapEditThatReplacesBothReplicas_HandsTheSessionOverFromTheOldSet_EvenWithOneOldReplicaEmpty()
    {
        await using var farm = await GatewayFarm.StartAsync(new FarmOptions
        {
            Sites = 1,
            LockWaitTimeout = "00:00:05",
            NodeAddresses = ["http://127.0.0.1:1", "http://127.0.0.1:2"],
            Edit = config => config["SessionRouter"]!["ReplicationFactor"] = 2,
        });
        using var client = farm.NewClient();
        var id = await IncrementAsync(client, times: 3);

        // Both nodes give way to two new ones: no replica of the new set has ever held the session.
        Assert.True(await farm.EditConfigAsync(c => c["SessionRouter"]!["Nodes"] = new JsonArray(
            new JsonObject { ["Id"] = "node-c", ["Engine"] = "Builtin", ["Address"] = "http://127.0.0.1:3" },
            new JsonObject { ["Id"] = "node-d", ["Engine"] = "Builtin", ["Address"] = "http://127.0.0.1:4" })));

        var readOnly = await SiteReply.ReadAsync(await client.GetAsync("/ro/page"));

        // One replica of the old set restarts empty meanwhile: the other still hands the state over.
        farm.InMemoryNodes!.Stores["node-a"].RestartEmpty();
        var readWrite = await SiteReply.ReadAsync(await client.GetAsync("/cart/inc"));
        var after = await SiteReply.ReadAsync(await client.GetAsync("/cart/inc"));

        Assert.Equal(3, readOnly.Count);
        Assert.Equal(4, readWrite.Count);
        Assert.Equal(5, after.Count);
        Assert.True(farm.Logs.Contains("handed over to node"), string.Join(Environment.NewLine, farm.Logs.Lines));
        Assert.Equal(StoreStatus.Ok, (await Stored(farm, "node-c", id)).Status);
        Assert.Equal(StoreStatus.Ok, (await Stored(farm, "node-d", id)).Status);
    }

    [Fact]
    public async Task R3_TwoNodesRestartedEmptyOneAfterTheOther_DoNotOutvoteTheCopyThatKeptTheSession()
    {
        await using var farm = await StartAsync(replicationFactor: 3);
        using var client = farm.NewClient();
        var id = await IncrementAsync(client, times: 3);
        var list = await FailureTests.Where(farm, id);

        // A rolling restart while the session is idle: its first two replicas come back empty.
        farm.InMemoryNodes!.Stores[list[0]].RestartEmpty();
        farm.InMemoryNodes.Stores[list[1]].RestartEmpty();

        Assert.Equal(3, (await SiteReply.ReadAsync(await client.GetAsync("/ro/page"))).Count);
        Assert.Equal(4, (await SiteReply.ReadAsync(await client.GetAsync("/cart/inc"))).Count);
        foreach (var node in list)
        {
            Assert.False((await Stored(farm, node, id)).Item!.Data.IsEmpty);
        }
    }

    [Fact]
    public async Task R3_AMapEditThatKeepsOneOldReplica_LosesNothing_WhenTheNewOnesFailAfterwards()
    {
        await using var farm = await StartAsync(replicationFactor: 3, nodes: 3);
        var sessions = new List<(HttpClient Client, string Id)>();
        for (var i = 0; i < 24; i++)
        {
            var client = farm.NewClient();
            sessions.Add((client, await IncrementAsync(client, times: 1)));
        }

        Assert.True(await farm.EditConfigAsync(c =>
        {
            var nodes = c["SessionRouter"]!["Nodes"]!.AsArray();
            nodes.Add(new JsonObject { ["Id"] = "node-d", ["Engine"] = "Builtin", ["Address"] = "http://127.0.0.1:4" });
            nodes.Add(new JsonObject { ["Id"] = "node-e", ["Engine"] = "Builtin", ["Address"] = "http://127.0.0.1:5" });
        }));
        foreach (var (client, _) in sessions)
        {
            Assert.Equal(2, (await SiteReply.ReadAsync(await client.GetAsync("/cart/inc"))).Count);
        }

        // The new nodes fail: every session is read from what is left of its set, old nodes included.
        await SetDownAsync(farm, "node-d", down: true);
        foreach (var (client, _) in sessions)
        {
            Assert.Equal(2, (await SiteReply.ReadAsync(await client.GetAsync("/ro/page"))).Count);
            client.Dispose();
        }
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public async Task ALockTakenOverAfterTheLockTimeout_TheLateSaveIsRefused_AndNeverOutranksTheNewHolder(int replicationFactor)
    {
        await using var farm = await GatewayFarm.StartAsync(new FarmOptions
        {
            Sites = 1,
            LockTimeout = "00:00:01",
            Edit = config => config["SessionRouter"]!["ReplicationFactor"] = replicationFactor,
        });
        using var client = farm.NewClient();
        await client.GetAsync("/cart/inc");
        var slow = client.GetAsync("/cart/inc?delayMs=2500");
        await SessionPipelineTests.WaitUntilAsync(() => farm.Sites[0].Requests == 2);
        await Task.Delay(1300);

        var taker = await SiteReply.ReadAsync(await client.GetAsync("/cart/inc"));
        Assert.Equal(200, taker.Status);
        Assert.Equal(2, taker.Count);

        var late = await slow;
        Assert.Equal(HttpStatusCode.Conflict, late.StatusCode);
        Assert.Equal(2, (await SiteReply.ReadAsync(await client.GetAsync("/ro/show"))).Count);
        Assert.Equal(3, (await SiteReply.ReadAsync(await client.GetAsync("/cart/inc"))).Count);
    }

    private static Task<GatewayFarm> StartAsync(int replicationFactor, int nodes = 3)
        => GatewayFarm.StartAsync(new FarmOptions
        {
            Sites = 1,
            LockWaitTimeout = "00:00:05",
            NodeAddresses = [.. Enumerable.Range(1, nodes).Select(port => $"http://127.0.0.1:{port}")],
            Edit = config => config["SessionRouter"]!["ReplicationFactor"] = replicationFactor,
        });

    /// <summary>Increments the client's session <paramref name="times"/> times from 1 and returns its id.</summary>
    private static async Task<string> IncrementAsync(HttpClient client, int times)
    {
        SiteReply reply = null!;
        for (var i = 1; i <= times; i++)
        {
            reply = await SiteReply.ReadAsync(await client.GetAsync("/cart/inc"));
            Assert.Equal(i, reply.Count);
        }

        return reply.Id;
    }

    private static async Task SetDownAsync(GatewayFarm farm, string nodeId, bool down)
    {
        farm.InMemoryNodes!.Stores[nodeId].Down = down;
        await farm.WaitForHealthAsync(nodeId, healthy: !down);
    }

    private static ValueTask<SessionReadResult> Stored(GatewayFarm farm, string nodeId, string sessionId)
        => farm.InMemoryNodes!.Stores[nodeId].Inner.GetAsync(new SessionKey("GatewayTests", sessionId));
}
