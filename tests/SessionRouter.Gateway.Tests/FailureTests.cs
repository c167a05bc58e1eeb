using System.Net;
using System.Text.Json;
using SessionRouter.Gateway.Tests.Infrastructure;
using Xunit;

namespace SessionRouter.Gateway.Tests;

/// <summary>Each failure a user can meet gets a clear answer, and nothing stored is lost or overwritten.</summary>
public sealed class FailureTests
{
    [Fact]
    public async Task NoHealthyNode_Answers503_WithRetryAfter_AndABodyThatSaysSo()
    {
        await using var farm = await GatewayFarm.StartAsync(new FarmOptions { Sites = 1 });
        foreach (var store in farm.InMemoryNodes!.Stores.Values)
        {
            store.Down = true;
        }

        await farm.WaitForHealthAsync(null, healthy: false);
        using var client = farm.NewClient();
        var response = await client.GetAsync("/cart/inc");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.NotNull(response.Headers.RetryAfter);
        Assert.Contains("No state node is available", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(0, farm.Sites[0].Requests);
        var noneRoute = await client.GetAsync("/static/a.css");
        Assert.Equal(HttpStatusCode.OK, noneRoute.StatusCode);
    }

    [Fact]
    public async Task NoHealthyNode_WithForwardWithoutSession_ForwardsMarkedUnavailable()
    {
        await using var farm = await GatewayFarm.StartAsync(new FarmOptions { Sites = 1, WhenNoHealthyNode = "ForwardWithoutSession" });
        foreach (var store in farm.InMemoryNodes!.Stores.Values)
        {
            store.Down = true;
        }

        await farm.WaitForHealthAsync(null, healthy: false);
        using var client = farm.NewClient();
        var response = await client.GetAsync("/cart/inc");
        var reply = await SiteReply.ReadAsync(response);

        Assert.Equal(200, reply.Status);
        Assert.Equal("unavailable", reply.Mode);
        Assert.True(reply.IsSigned);
        Assert.Equal(1, reply.Count);
        Assert.False(response.Headers.Contains("Set-Cookie"));
        Assert.True(farm.Logs.Contains("ignored (only read-write routes save)"));
    }

    [Fact]
    public async Task AClientThatGoesAwayWhileTheLockIsTaken_DoesNotLeaveTheSessionLocked()
    {
        await using var farm = await GatewayFarm.StartAsync(new FarmOptions { Sites = 1, LockWaitTimeout = "00:00:02" });
        using var client = farm.NewClient();
        Assert.Equal(1, (await SiteReply.ReadAsync(await client.GetAsync("/cart/inc"))).Count);

        // The node grants the lock just as the browser navigates away (a cancelled favicon or form post).
        foreach (var store in farm.InMemoryNodes!.Stores.Values)
        {
            store.LoseLockRepliesOnCancel = true;
        }

        using (var leaving = new CancellationTokenSource())
        {
            var abandoned = client.GetAsync("/cart/inc", leaving.Token);
            await Task.WhenAny(farm.InMemoryNodes.Stores.Values.Select(s => s.LockGranted.Task)).WaitAsync(TimeSpan.FromSeconds(30));
            await leaving.CancelAsync();
            try
            {
                (await abandoned).Dispose();
            }
            catch (OperationCanceledException)
            {
                // The client went away, as intended.
            }
        }

        foreach (var store in farm.InMemoryNodes.Stores.Values)
        {
            store.LoseLockRepliesOnCancel = false;
        }

        // The next request of the session gets the lock (a leaked one would hold it for the lock timeout: 503 busy).
        var next = await SiteReply.ReadAsync(await client.GetAsync("/cart/inc"));
        Assert.True(next.Status == 200, next.Body);
        Assert.InRange(next.Count, 2, 3);
    }

    [Fact]
    public async Task LockWaitTimeout_Answers503_WithRetryAfter()
    {
        await using var farm = await GatewayFarm.StartAsync(new FarmOptions { Sites = 1, LockWaitTimeout = "00:00:00.300" });
        using var client = farm.NewClient();
        await client.GetAsync("/cart/inc");
        var holder = client.GetAsync("/cart/inc?delayMs=3000");
        await SessionPipelineTests.WaitUntilAsync(() => farm.Sites[0].Requests == 2);

        var refused = await client.GetAsync("/cart/inc");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.NotNull(refused.Headers.RetryAfter);
        Assert.Contains("busy", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(2, (await SiteReply.ReadAsync(await holder)).Count);
        Assert.Equal(3, (await SiteReply.ReadAsync(await client.GetAsync("/cart/inc"))).Count);
    }

    [Fact]
    public async Task StateAboveMaxStateBytes_Answers502_KeepsTheOldState_AndReleasesTheLock()
    {
        await using var farm = await GatewayFarm.StartAsync(new FarmOptions { Sites = 1, MaxStateBytes = 1024, LockWaitTimeout = "00:00:02" });
        using var client = farm.NewClient();
        await client.GetAsync("/cart/inc");
        await client.GetAsync("/cart/inc");

        var big = await client.GetAsync("/cart/big?bytes=5000");

        Assert.Equal(HttpStatusCode.BadGateway, big.StatusCode);
        Assert.Contains("larger than the gateway's limit", await big.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.True(farm.Logs.Contains("above MaxStateBytes"));

        // The refused save gave the lock back itself; it was not left to the end of the request as if no response had come.
        Assert.False(farm.Logs.Contains("no response from the backend"));
        var next = await SiteReply.ReadAsync(await client.GetAsync("/cart/inc"));
        Assert.Equal(200, next.Status);
        Assert.Equal(3, next.Count);
    }

    [Fact]
    public async Task StateThatIsNotBase64Url_Answers502_AndKeepsTheOldState()
    {
        await using var farm = await GatewayFarm.StartAsync(new FarmOptions { Sites = 1, LockWaitTimeout = "00:00:02" });
        using var client = farm.NewClient();
        await client.GetAsync("/cart/inc");

        var garbage = await client.GetAsync("/cart/garbage");

        Assert.Equal(HttpStatusCode.BadGateway, garbage.StatusCode);
        Assert.Contains("not valid base64url", await garbage.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.True(farm.Logs.Contains("state header is not base64url"));
        Assert.Equal(2, (await SiteReply.ReadAsync(await client.GetAsync("/cart/inc"))).Count);
    }

    [Fact]
    public async Task ClientDisconnect_ReleasesTheLock()
    {
        await using var farm = await GatewayFarm.StartAsync(new FarmOptions { Sites = 1, LockWaitTimeout = "00:00:02" });
        var jar = new CookieContainer();
        using var client = farm.NewClient(cookies: jar);
        await client.GetAsync("/cart/inc");

        using (var impatient = farm.NewClient(cookies: jar))
        {
            impatient.Timeout = TimeSpan.FromMilliseconds(300);
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => impatient.GetAsync("/cart/inc?delayMs=10000"));
        }

        // Had the abandoned request kept the lock until its backend finished (10 s), this waits 2 s and gets 503.
        var next = await SiteReply.ReadAsync(await client.GetAsync("/cart/inc"));
        Assert.Equal(200, next.Status);
        Assert.Equal(2, next.Count);
    }

    [Fact]
    public async Task BackendTimeout_ReleasesTheLock()
    {
        await using var farm = await GatewayFarm.StartAsync(new FarmOptions
        {
            Sites = 1,
            LockWaitTimeout = "00:00:03",
            Edit = c => c["ReverseProxy"]!["Clusters"]!["sites"]!["HttpRequest"] = new System.Text.Json.Nodes.JsonObject { ["ActivityTimeout"] = "00:00:00.500" },
        });
        using var client = farm.NewClient();

        // The cluster's 0.5 s activity timeout also bounds the farm's very first request, which on a busy machine can
        // take longer (connections, JIT): that one answers 504 and issues no cookie. The session this test needs
        // starts with the first request that is answered.
        SiteReply first = null!;
        for (var attempt = 0; attempt < 10 && first?.Status != 200; attempt++)
        {
            first = await SiteReply.ReadAsync(await client.GetAsync("/cart/inc"));
        }

        Assert.Equal(200, first.Status);
        Assert.Equal(1, first.Count);

        var timedOut = await client.GetAsync("/cart/inc?delayMs=10000");
        Assert.Equal(HttpStatusCode.GatewayTimeout, timedOut.StatusCode);

        var next = await SiteReply.ReadAsync(await client.GetAsync("/cart/inc"));
        Assert.Equal(200, next.Status);
        Assert.Equal(2, next.Count);
        Assert.True(farm.Logs.Contains("no response from the backend reached the gateway"));
    }

    [Fact]
    public async Task LockTakenOverAfterLockTimeout_LateSaveIsRefused_AndNeverApplied()
    {
        await using var farm = await GatewayFarm.StartAsync(new FarmOptions { Sites = 1, LockTimeout = "00:00:01" });
        using var client = farm.NewClient();
        await client.GetAsync("/cart/inc");
        var slow = client.GetAsync("/cart/inc?delayMs=2500");
        await SessionPipelineTests.WaitUntilAsync(() => farm.Sites[0].Requests == 2);
        await Task.Delay(1300);

        var taker = await SiteReply.ReadAsync(await client.GetAsync("/cart/inc?delayMs=2500"));
        Assert.Equal(200, taker.Status);
        Assert.Equal(2, taker.Count);

        var late = await slow;
        Assert.Equal(HttpStatusCode.Conflict, late.StatusCode);
        Assert.Contains("not saved", await late.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.True(farm.Logs.Contains("the late write was not applied"));
        Assert.Equal(2, (await SiteReply.ReadAsync(await client.GetAsync("/ro/show"))).Count);
    }

    [Fact]
    public async Task NodeFailsBetweenLoadAndSave_SaveGoesToTheNextNodeOfTheSessionsList()
    {
        await using var farm = await GatewayFarm.StartAsync(new FarmOptions { Sites = 1 });
        using var client = farm.NewClient();
        var first = await SiteReply.ReadAsync(await client.GetAsync("/cart/inc"));
        var where = await Where(farm, first.Id);
        var primary = farm.InMemoryNodes!.Stores[where[0]];
        primary.FailWrites = true;

        var saved = await SiteReply.ReadAsync(await client.GetAsync("/cart/inc"));

        Assert.Equal(200, saved.Status);
        Assert.Equal(2, saved.Count);
        Assert.True(farm.Logs.Contains($"save on node {where[0]} failed"));
        var stored = await farm.InMemoryNodes.Stores[where[1]].Inner.GetAsync(new(first.Id.Length > 0 ? "GatewayTests" : "", first.Id));
        Assert.Equal(Core.Storage.StoreStatus.Ok, stored.Status);
        Assert.Equal("2", System.Text.Encoding.UTF8.GetString(stored.Item!.Data.Span));

        // The node has died for good: the session's next request reads from the node that took the save.
        primary.Down = true;
        var next = await SiteReply.ReadAsync(await client.GetAsync("/cart/inc"));
        Assert.Equal(3, next.Count);
    }

    [Fact]
    public async Task EveryNodeFailsAtSave_Answers503_NeverASilentDrop()
    {
        await using var farm = await GatewayFarm.StartAsync(new FarmOptions { Sites = 1 });
        using var client = farm.NewClient();
        await client.GetAsync("/cart/inc");
        foreach (var store in farm.InMemoryNodes!.Stores.Values)
        {
            store.FailWrites = true;
        }

        var response = await client.GetAsync("/cart/inc");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Contains("were not saved", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ALockAHungNodeGrantsAfterTheGatewayGaveUp_IsReleased_SoTheSessionIsNotStuck()
    {
        // The lock would otherwise hold the session for a minute; a waiting request gives up after one second.
        await using var farm = await GatewayFarm.StartAsync(new FarmOptions { Sites = 1, LockWaitTimeout = "00:00:01", LockTimeout = "00:01:00" });
        using var client = farm.NewClient();
        var first = await SiteReply.ReadAsync(await client.GetAsync("/cart/inc"));
        var primary = farm.InMemoryNodes!.Stores[(await Where(farm, first.Id))[0]];

        primary.HangLockReads = true;
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/cart/inc")).StatusCode);
        var granted = await primary.ResumeAsync();
        Assert.Equal(Core.Storage.StoreStatus.Ok, Assert.Single(granted).Status);

        await farm.WaitForHealthAsync(primary.NodeId, healthy: true);
        await SessionPipelineTests.WaitUntilAsync(() => farm.Logs.Contains("released a lock the node granted after the gateway had given up"));
        var next = await SiteReply.ReadAsync(await client.GetAsync("/cart/inc"));
        Assert.Equal(200, next.Status);
        Assert.Equal(2, next.Count);
    }

    [Fact]
    public async Task LogsNameASessionByItsPrefixOnly_NeverByTheWholeId()
    {
        await using var farm = await GatewayFarm.StartAsync(new FarmOptions { Sites = 1, MaxStateBytes = 1024 });
        using var client = farm.NewClient();
        var first = await SiteReply.ReadAsync(await client.GetAsync("/cart/inc"));
        var where = await Where(farm, first.Id);

        // Outcomes that each log a line about the session: a refused state, a failover at save, every node failing.
        await client.GetAsync("/cart/big?bytes=5000");
        farm.InMemoryNodes!.Stores[where[0]].FailWrites = true;
        Assert.Equal(2, (await SiteReply.ReadAsync(await client.GetAsync("/cart/inc"))).Count);
        foreach (var store in farm.InMemoryNodes.Stores.Values)
        {
            store.FailWrites = true;
        }

        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await client.GetAsync("/cart/inc")).StatusCode);

        var aboutTheSession = farm.Logs.Lines.Where(l => l.Contains(first.Id[..6], StringComparison.Ordinal)).ToList();
        Assert.True(aboutTheSession.Count >= 3, string.Join(Environment.NewLine, farm.Logs.Lines));
        Assert.DoesNotContain(farm.Logs.Lines, l => l.Contains(first.Id, StringComparison.Ordinal));
    }

    internal static async Task<string[]> Where(GatewayFarm farm, string sessionId)
    {
        using var admin = new HttpClient { BaseAddress = farm.Address };
        using var json = JsonDocument.Parse(await admin.GetStringAsync("/_sessionrouter/where/" + sessionId));
        return json.RootElement.GetProperty("preferenceList").EnumerateArray().Select(e => e.GetProperty("nodeId").GetString()!).ToArray();
    }
}
