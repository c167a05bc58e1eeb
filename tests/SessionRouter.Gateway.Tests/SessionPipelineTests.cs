using System.Net;
using SessionRouter.Gateway.Tests.Infrastructure;
using Xunit;

namespace SessionRouter.Gateway.Tests;

/// <summary>The session pipeline's own logic, over in-memory nodes of the engine library.</summary>
public sealed class SessionPipelineTests : IAsyncLifetime
{
    private GatewayFarm _farm = null!;

    public async Task InitializeAsync() => _farm = await GatewayFarm.StartAsync(new FarmOptions { LockWaitTimeout = "00:00:20" });

    public async Task DisposeAsync() => await _farm.DisposeAsync();

    [Fact]
    public async Task AnyOfThreeBackends_ServesEveryRequestOfOneSession()
    {
        using var client = _farm.NewClient();
        var servers = new HashSet<string>();
        string? id = null;
        for (var i = 1; i <= 9; i++)
        {
            var reply = await SiteReply.ReadAsync(await client.GetAsync("/cart/inc"));
            Assert.Equal(200, reply.Status);
            Assert.Equal(i, reply.Count);
            Assert.True(reply.IsSigned);
            Assert.Equal("read-write", reply.Mode);
            id ??= reply.Id;
            Assert.Equal(id, reply.Id);
            servers.Add(reply.Server);
        }

        Assert.Equal(3, servers.Count);
        Assert.All(_farm.Sites, s => Assert.Equal(0, s.BadSignatures));
    }

    [Fact]
    public async Task FiftyConcurrentIncrements_OnOneSession_EndAtExactlyFifty()
    {
        using var client = _farm.NewClient();
        var first = await SiteReply.ReadAsync(await client.GetAsync("/warm/inc"));
        Assert.Equal(1, first.Count);

        var replies = await Task.WhenAll(Enumerable.Range(0, 50).Select(async _ => await SiteReply.ReadAsync(await client.GetAsync("/cart/inc"))));

        Assert.All(replies, r => Assert.Equal(200, r.Status));
        Assert.Equal(Enumerable.Range(2, 50), replies.Select(r => r.Count).Order());
        var final = await SiteReply.ReadAsync(await client.GetAsync("/ro/count"));
        Assert.Equal(51, final.Count);
    }

    [Fact]
    public async Task ReadOnlyRequests_CompleteWhileAWriterHoldsTheLock()
    {
        using var client = _farm.NewClient();
        Assert.Equal(1, (await SiteReply.ReadAsync(await client.GetAsync("/cart/inc"))).Count);
        var before = _farm.Sites.Sum(s => s.Requests);

        var writer = client.GetAsync("/cart/inc?delayMs=3000");
        await WaitUntilAsync(() => _farm.Sites.Sum(s => s.Requests) > before);

        for (var i = 0; i < 3; i++)
        {
            var reader = await SiteReply.ReadAsync(await client.GetAsync("/ro/show"));
            Assert.Equal(200, reader.Status);
            Assert.Equal("read-only", reader.Mode);
            Assert.Equal(1, reader.Count);
        }

        Assert.False(writer.IsCompleted, "the read-only requests waited for the writer");
        Assert.Equal(2, (await SiteReply.ReadAsync(await writer)).Count);
    }

    [Fact]
    public async Task NoneRoutes_NeverTouchTheStore_AndCarryNoContractHeaders()
    {
        using var client = _farm.NewClient();
        await client.GetAsync("/cart/inc");
        var calls = _farm.InMemoryNodes!.Stores.Values.Sum(s => s.Calls);

        for (var i = 0; i < 20; i++)
        {
            var reply = await SiteReply.ReadAsync(await client.GetAsync("/static/app.css"));
            Assert.Equal(200, reply.Status);
            Assert.Equal("", reply.Headers);
            Assert.Equal("", reply.Mode);
        }

        Assert.Equal(calls, _farm.InMemoryNodes!.Stores.Values.Sum(s => s.Calls));
    }

    [Fact]
    public async Task Cookie_IsIssuedOnlyWhenTheBackendFirstStoresState()
    {
        using var client = _farm.NewClient();
        var nothing = await client.GetAsync("/page/view");
        Assert.False(nothing.Headers.Contains("Set-Cookie"));

        var stored = await client.GetAsync("/page/inc");
        var setCookie = Assert.Single(stored.Headers.GetValues("Set-Cookie"));
        Assert.Contains("httponly", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=lax", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.StartsWith(".SessionRouter=", setCookie, StringComparison.Ordinal);

        var again = await client.GetAsync("/page/inc");
        Assert.False(again.Headers.Contains("Set-Cookie"));
        Assert.Equal(2, (await SiteReply.ReadAsync(again)).Count);
    }

    [Fact]
    public async Task Abandon_RemovesTheSession_AndExpiresTheCookie()
    {
        using var client = _farm.NewClient();
        await client.GetAsync("/cart/inc");
        var first = await SiteReply.ReadAsync(await client.GetAsync("/cart/inc"));
        Assert.Equal(2, first.Count);

        var abandoned = await client.GetAsync("/cart/abandon");
        Assert.Equal(HttpStatusCode.OK, abandoned.StatusCode);
        var expired = Assert.Single(abandoned.Headers.GetValues("Set-Cookie"));
        Assert.Contains("expires=Thu, 01 Jan 1970", expired, StringComparison.OrdinalIgnoreCase);

        var fresh = await SiteReply.ReadAsync(await client.GetAsync("/cart/inc"));
        Assert.Equal(1, fresh.Count);
        Assert.NotEqual(first.Id, fresh.Id);
    }

    [Fact]
    public async Task ReadOnlyRoute_IgnoresStateInTheResponse()
    {
        using var client = _farm.NewClient();
        await client.GetAsync("/cart/inc");
        var ro = await client.GetAsync("/ro/inc");
        Assert.Equal(HttpStatusCode.OK, ro.StatusCode);
        Assert.Equal(2, (await SiteReply.ReadAsync(ro)).Count);
        Assert.Equal(1, (await SiteReply.ReadAsync(await client.GetAsync("/ro/show"))).Count);
        Assert.True(_farm.Logs.Contains("ignored (only read-write routes save)"));
    }

    internal static async Task WaitUntilAsync(Func<bool> condition, int attempts = 500)
    {
        for (var i = 0; i < attempts && !condition(); i++)
        {
            await Task.Delay(10);
        }

        Assert.True(condition(), $"condition not reached within {attempts} checks 10 ms apart");
    }
}
