#pragma warning disable CA1507 // JSON keys of yarp.json, not member names.
using System.Net;
using System.Text.Json.Nodes;
using SessionRouter.Gateway.Tests.Infrastructure;
using Xunit;

namespace SessionRouter.Gateway.Tests;

/// <summary>
/// Request headers with non-ASCII characters, sent as raw bytes over a socket (HttpClient refuses to send
/// them). Kestrel accepts UTF-8 header values; YARP's HttpClient encodes outgoing headers as ASCII unless the
/// cluster's <c>HttpClient:RequestHeaderEncoding</c> says otherwise.
/// </summary>
public sealed class HeaderEncodingTests
{
    private const string NonAscii = "Zoë ✓";

    [Theory]
    [InlineData("/cart/inc")]
    [InlineData("/ro/show")]
    [InlineData("/static/site.css")]
    public async Task NonAsciiHeader_WithoutAnEncodingOnTheCluster_Is400NamingTheHeader(string path)
    {
        await using var farm = await GatewayFarm.StartAsync(new FarmOptions());

        var response = await RawHttpClient.GetAsync(farm.Address, path, [$"X-Customer: {NonAscii}"]);

        Assert.Equal(400, response.StatusCode);
        Assert.Contains("X-Customer", response.Body, StringComparison.Ordinal);
        Assert.Equal(0, farm.Sites.Sum(s => s.Requests));
        Assert.True(farm.Logs.Contains("X-Customer"), "the refusal is logged with the header's name");
    }

    [Fact]
    public async Task NonAsciiCookie_OfAnotherApplication_Is400_AndTheSessionIsNotLocked()
    {
        await using var farm = await GatewayFarm.StartAsync(new FarmOptions { LockWaitTimeout = "00:00:00" });
        var jar = new CookieContainer();
        using var client = farm.NewClient(cookies: jar);
        Assert.Equal(1, (await SiteReply.ReadAsync(await client.GetAsync("/cart/inc"))).Count);
        var session = jar.GetCookies(farm.Address)[".SessionRouter"]!.Value;

        var response = await RawHttpClient.GetAsync(farm.Address, "/cart/inc", [$"Cookie: .SessionRouter={session}; theme={NonAscii}"]);

        Assert.Equal(400, response.StatusCode);
        Assert.Contains("Cookie", response.Body, StringComparison.Ordinal);

        // Refused before the session was loaded: no lock was taken (a lock wait of zero would answer 503).
        var next = await SiteReply.ReadAsync(await client.GetAsync("/cart/inc"));
        Assert.Equal(200, next.Status);
        Assert.Equal(2, next.Count);
    }

    [Fact]
    public async Task NonAsciiHeader_WithUtf8OnTheCluster_IsForwardedAsIs()
    {
        await using var farm = await GatewayFarm.StartAsync(new FarmOptions
        {
            Edit = config => config["ReverseProxy"]!["Clusters"]!["sites"]!["HttpClient"] = new JsonObject { ["RequestHeaderEncoding"] = "utf-8" },
        });

        var response = await RawHttpClient.GetAsync(farm.Address, "/cart/inc?echo=X-Customer", [$"X-Customer: {NonAscii}"]);

        Assert.Equal(200, response.StatusCode);
        Assert.Contains($"echo={NonAscii}\n", response.Body, StringComparison.Ordinal);
        Assert.Contains("count=1\n", response.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CharacterOutsideLatin1_WithLatin1OnTheCluster_Is400()
    {
        await using var farm = await GatewayFarm.StartAsync(new FarmOptions
        {
            Edit = config => config["ReverseProxy"]!["Clusters"]!["sites"]!["HttpClient"] = new JsonObject { ["RequestHeaderEncoding"] = "iso-8859-1" },
        });

        var response = await RawHttpClient.GetAsync(farm.Address, "/cart/inc", ["X-Customer: ✓"]);

        Assert.Equal(400, response.StatusCode);
        Assert.Contains("X-Customer", response.Body, StringComparison.Ordinal);
        Assert.Equal(0, farm.Sites.Sum(s => s.Requests));
    }

    [Fact]
    public async Task InvalidUtf8HeaderBytes_AreRefusedByKestrel_NeverA502()
    {
        await using var farm = await GatewayFarm.StartAsync(new FarmOptions());

        // "Zoë" in Latin-1: the byte 0xEB alone is not UTF-8.
        var response = await RawHttpClient.GetAsync(farm.Address, "/cart/inc", ["X-Customer: Zoë"], latin1: true);

        Assert.Equal(400, response.StatusCode);
        Assert.Equal(0, farm.Sites.Sum(s => s.Requests));
    }
}
