using System.Net;
using SessionRouter.Gateway.Tests.Infrastructure;
using Xunit;

namespace SessionRouter.Gateway.Tests;

/// <summary>Tampered cookies, forged contract headers and internal headers leaking to clients.</summary>
public sealed class ForgeryTests : IAsyncLifetime
{
    private GatewayFarm _farm = null!;

    public async Task InitializeAsync() => _farm = await GatewayFarm.StartAsync(new FarmOptions());

    public async Task DisposeAsync() => await _farm.DisposeAsync();

    [Theory]
    [InlineData("/cart/inc")]
    [InlineData("/ro/show")]
    [InlineData("/static/site.css")]
    public async Task ClientSentContractHeaders_AreRemovedBeforeForwarding(string path)
    {
        using var client = _farm.NewClient();
        await client.GetAsync("/cart/inc");
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.TryAddWithoutValidation("SessionRouter-State", "OTk5"); // "999"
        request.Headers.TryAddWithoutValidation("SessionRouter-Id", "AAAAAAAAAAAAAAAAAAAAAA");
        request.Headers.TryAddWithoutValidation("sessionrouter-mode", "read-write");
        request.Headers.TryAddWithoutValidation("SessionRouter-Anything", "x");

        var reply = await SiteReply.ReadAsync(await client.SendAsync(request));

        Assert.Equal(200, reply.Status);
        Assert.DoesNotContain("Anything", reply.Headers, StringComparison.OrdinalIgnoreCase);
        Assert.NotEqual("AAAAAAAAAAAAAAAAAAAAAA", reply.Id);
        Assert.NotEqual(999, reply.Count);
        Assert.NotEqual(1000, reply.Count);
        if (path.StartsWith("/static", StringComparison.Ordinal))
        {
            Assert.Equal("", reply.Headers);
        }
        else
        {
            Assert.True(reply.IsSigned);
        }
    }

    [Theory]
    [InlineData("/cart/inc?leak=1")]
    [InlineData("/ro/show?leak=1")]
    [InlineData("/static/x?leak=1")]
    [InlineData("/static/inc?leak=1")]
    public async Task ContractHeadersOfResponses_NeverReachTheClient(string path)
    {
        using var client = _farm.NewClient();
        var response = await client.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.DoesNotContain(response.Headers, h => h.Key.StartsWith("SessionRouter-", StringComparison.OrdinalIgnoreCase));
        Assert.DoesNotContain(response.Content.Headers, h => h.Key.StartsWith("SessionRouter-", StringComparison.OrdinalIgnoreCase));
    }

    [Theory]
    [InlineData("tamper")]
    [InlineData("garbage")]
    [InlineData("empty-ish")]
    [InlineData("huge")]
    public async Task BadCookie_StartsANewSession_NeverAnErrorPage(string kind)
    {
        var jar = new CookieContainer();
        using var victim = _farm.NewClient(cookies: jar);
        await victim.GetAsync("/cart/inc");
        var good = await SiteReply.ReadAsync(await victim.GetAsync("/cart/inc"));
        Assert.Equal(2, good.Count);
        var cookie = jar.GetCookies(_farm.Address)[".SessionRouter"]!.Value;
        var bad = kind switch
        {
            "tamper" => cookie[..10] + (cookie[10] == 'A' ? 'B' : 'A') + cookie[11..],
            "garbage" => "!!not-a-cookie!!",
            "empty-ish" => "AAAA",
            _ => new string('A', 5000),
        };

        using var attacker = new HttpClient { BaseAddress = _farm.Address };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/cart/inc");
        request.Headers.Add("Cookie", ".SessionRouter=" + bad);
        var response = await attacker.SendAsync(request);
        var reply = await SiteReply.ReadAsync(response);

        Assert.True(reply.Status == 200, string.Join("\n", _farm.Logs.Lines));
        Assert.Equal(1, reply.Count);
        Assert.NotEqual(good.Id, reply.Id);
        Assert.True(response.Headers.Contains("Set-Cookie"));
        Assert.True(_farm.Logs.Contains("starting a new session"));
        Assert.Equal(3, (await SiteReply.ReadAsync(await victim.GetAsync("/cart/inc"))).Count);
    }

    [Fact]
    public async Task CookieOfAnotherKeyRing_StartsANewSession()
    {
        await using var other = await GatewayFarm.StartAsync(new FarmOptions { Sites = 1 });
        var jar = new CookieContainer();
        using var foreign = other.NewClient(cookies: jar);
        await foreign.GetAsync("/cart/inc");
        var foreignCookie = jar.GetCookies(other.Address)[".SessionRouter"]!.Value;

        using var client = new HttpClient { BaseAddress = _farm.Address };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/cart/inc");
        request.Headers.Add("Cookie", ".SessionRouter=" + foreignCookie);
        var reply = await SiteReply.ReadAsync(await client.SendAsync(request));

        Assert.Equal(200, reply.Status);
        Assert.Equal(1, reply.Count);
        Assert.True(_farm.Logs.Contains("starting a new session"));
    }
}
