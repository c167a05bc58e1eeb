using System.Net;
using System.Net.Http.Json;
using SessionRouter.AspNetCore.Tests.Infrastructure;
using SessionRouter.Core.HeaderContract;
using Xunit;

namespace SessionRouter.AspNetCore.Tests;

/// <summary>The library behind a real gateway with a real engine node: the state really is stored and comes back.</summary>
public sealed class ThroughGatewayTests : IClassFixture<ThroughGatewayTests.Fixture>
{
    private readonly GatewayWithEngine _farm;

    public ThroughGatewayTests(Fixture fixture) => _farm = fixture.Farm;

    public sealed class Fixture : IAsyncLifetime
    {
        public GatewayWithEngine Farm { get; private set; } = null!;

        public async Task InitializeAsync() => Farm = await GatewayWithEngine.StartAsync();

        public async Task DisposeAsync() => await Farm.DisposeAsync();
    }

    [Fact]
    public async Task Counter_IsStoredByTheEngine_AndComesBackOnEveryRequest()
    {
        using var browser = _farm.NewBrowser();
        for (var expected = 1; expected <= 4; expected++)
        {
            using var response = await browser.PostAsync("/counter", null);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(expected.ToString(), await response.Content.ReadAsStringAsync());
            Assert.DoesNotContain(response.Headers, h => SessionHeaders.IsContractHeader(h.Key));
        }
    }

    [Fact]
    public async Task TwoBrowsers_HaveTwoSessions()
    {
        using var first = _farm.NewBrowser();
        using var second = _farm.NewBrowser();
        (await first.PostAsync("/counter", null)).Dispose();
        (await first.PostAsync("/counter", null)).Dispose();
        using var other = await second.PostAsync("/counter", null);
        Assert.Equal("1", await other.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task ReadOnlyRoute_SeesTheSavedState()
    {
        using var browser = _farm.NewBrowser();
        (await browser.PostAsync("/set/colour/green", null)).Dispose();
        using var read = await browser.GetAsync("/get/colour");
        Assert.Equal("green", await read.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task NoneRoute_HasNoSession()
    {
        using var browser = _farm.NewBrowser();
        (await browser.PostAsync("/counter", null)).Dispose();
        var info = await browser.GetFromJsonAsync<SessionInfo>("/info");
        Assert.Equal("NoSession", info!.Status);
    }

    [Fact]
    public async Task Abandon_StartsOver()
    {
        using var browser = _farm.NewBrowser();
        (await browser.PostAsync("/counter", null)).Dispose();
        (await browser.PostAsync("/counter", null)).Dispose();
        using (var abandon = await browser.PostAsync("/abandon", null))
        {
            Assert.Equal(HttpStatusCode.OK, abandon.StatusCode);
            Assert.False(abandon.Headers.Contains(SessionHeaders.Abandon));
        }

        using var after = await browser.PostAsync("/counter", null);
        Assert.Equal("1", await after.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task ClientSentContractHeaders_AreStripped_AndCannotInjectState()
    {
        using var browser = _farm.NewBrowser();
        (await browser.PostAsync("/counter", null)).Dispose();

        // A client forging a state signed with the real key still cannot inject it: the gateway drops the headers.
        using var forged = GatewayHeaders.Signed(HttpMethod.Post, "/counter", GatewayHeaders.NewSessionId(),
            state: GatewayHeaders.Encode(new Dictionary<string, byte[]> { ["counter"] = [0, 0, 0, 100] }));
        using var response = await browser.SendAsync(forged);
        Assert.Equal("2", await response.Content.ReadAsStringAsync());

        using var unsessioned = new HttpRequestMessage(HttpMethod.Get, "/info");
        unsessioned.Headers.Add(SessionHeaders.Mode, SessionModeValues.ReadWrite);
        using var infoResponse = await browser.SendAsync(unsessioned);
        var info = await infoResponse.Content.ReadFromJsonAsync<SessionInfo>();
        Assert.Equal("NoSession", info!.Status);
    }

    [Fact]
    public async Task ReadOnlyRoute_WritesFail_AndNothingIsSaved()
    {
        using var browser = _farm.NewBrowser();
        (await browser.PostAsync("/set/colour/green", null)).Dispose();
        using (var refused = await browser.GetAsync("/get/set/colour/red"))
        {
            Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
            Assert.Contains("read-only", await refused.Content.ReadAsStringAsync());
        }

        using (var read = await browser.GetAsync("/get/colour"))
        {
            Assert.Equal("green", await read.Content.ReadAsStringAsync());
        }

        using var cleared = await browser.PostAsync("/clear", null);
        Assert.Equal(HttpStatusCode.OK, cleared.StatusCode);
        using var gone = await browser.GetAsync("/get/colour");
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
    }

    [Fact]
    public async Task LargeState_RoundTripsThroughGatewayAndEngine()
    {
        // ~48 KB of state: well past Kestrel's and HttpClient's default header limits on every hop.
        using var browser = _farm.NewBrowser();
        using (var set = await browser.PostAsync("/big-commit/48000", null))
        {
            Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        }

        using var counter = await browser.PostAsync("/counter", null);
        Assert.Equal(HttpStatusCode.OK, counter.StatusCode);
        Assert.Equal("1", await counter.Content.ReadAsStringAsync());
        using var stillThere = await browser.PostAsync("/counter", null);
        Assert.Equal("2", await stillThere.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task ConcurrentWrites_OfOneSession_LoseNoUpdate()
    {
        using var browser = _farm.NewBrowser();
        (await browser.PostAsync("/counter", null)).Dispose();

        // The gateway serialises read-write requests of one session with its lock; each sees the last save.
        var responses = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => browser.PostAsync("/counter", null)));
        var seen = new List<int>();
        foreach (var response in responses)
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            seen.Add(int.Parse(await response.Content.ReadAsStringAsync()));
            response.Dispose();
        }

        Assert.Equal(Enumerable.Range(2, 8), seen.Order());
        using var last = await browser.PostAsync("/counter", null);
        Assert.Equal("10", await last.Content.ReadAsStringAsync());
    }
}
