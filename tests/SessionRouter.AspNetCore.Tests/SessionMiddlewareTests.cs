using System.Net;
using System.Net.Http.Json;
using SessionRouter.AspNetCore.Tests.Infrastructure;
using SessionRouter.Core.HeaderContract;
using Xunit;
using static SessionRouter.AspNetCore.Tests.Infrastructure.GatewayHeaders;

namespace SessionRouter.AspNetCore.Tests;

/// <summary>The library behind real Kestrel, driven by requests signed exactly as the gateway signs them.</summary>
public sealed class SessionMiddlewareTests : IClassFixture<SessionMiddlewareTests.SiteFixture>
{
    private readonly HttpClient _client;

    public SessionMiddlewareTests(SiteFixture fixture) => _client = fixture.Site.Client;

    public sealed class SiteFixture : IAsyncLifetime
    {
        public TestSite Site { get; private set; } = null!;

        public async Task InitializeAsync() => Site = await TestSite.StartAsync();

        public async Task DisposeAsync() => await Site.DisposeAsync();
    }

    [Fact]
    public async Task Request_WithoutHeaders_HasNoSession_AndWritesFailClearly()
    {
        var info = await _client.GetFromJsonAsync<SessionInfo>("/info");
        Assert.False(info!.IsAvailable);
        Assert.Equal("NoSession", info.Status);
        Assert.Empty(info.Keys);

        using var set = await _client.PostAsync("/set/a/1", null);
        Assert.Equal(HttpStatusCode.Conflict, set.StatusCode);
        Assert.Contains("not available", await set.Content.ReadAsStringAsync());
        Assert.Null(ResponseState(set));
    }

    [Fact]
    public async Task SignedRequest_ReadsTheAttachedState_AndSendsNothingBackWhenUnchanged()
    {
        var id = NewSessionId();
        using var request = Signed(HttpMethod.Get, "/get/colour", id, state: EncodeStrings(("colour", "green"), ("size", "L")));
        using var response = await _client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("green", await response.Content.ReadAsStringAsync());
        Assert.Null(ResponseState(response));
        Assert.False(HasAbandon(response));
    }

    [Fact]
    public async Task Info_ShowsIdModeAndKeys()
    {
        var id = NewSessionId();
        using var request = Signed(HttpMethod.Get, "/info", id, mode: SessionModeValues.ReadOnly, state: EncodeStrings(("b", "2"), ("a", "1")));
        using var response = await _client.SendAsync(request);
        var info = await response.Content.ReadFromJsonAsync<SessionInfo>();

        Assert.True(info!.IsAvailable);
        Assert.Equal("Verified", info.Status);
        Assert.Equal("ReadOnly", info.Mode);
        Assert.Equal(id, info.Id);
        Assert.Equal(["a", "b"], info.Keys);
    }

    [Fact]
    public async Task Set_SendsTheWholeNewStateBack()
    {
        using var request = Signed(HttpMethod.Post, "/set/size/XL", NewSessionId(), state: EncodeStrings(("colour", "green"), ("size", "L")));
        using var response = await _client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var state = DecodeStrings(ResponseState(response)!);
        Assert.Equal(new Dictionary<string, string> { ["colour"] = "green", ["size"] = "XL" }, state);
    }

    [Fact]
    public async Task Set_OfTheSameValue_SendsNothing()
    {
        using var request = Signed(HttpMethod.Post, "/set/size/L", NewSessionId(), state: EncodeStrings(("colour", "green"), ("size", "L")));
        using var response = await _client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Null(ResponseState(response));
    }

    [Fact]
    public async Task NewSession_Untouched_SendsNothing_AndFirstWriteSendsState()
    {
        using (var read = Signed(HttpMethod.Get, "/get/x", NewSessionId()))
        using (var response = await _client.SendAsync(read))
        {
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Null(ResponseState(response));
        }

        using var write = Signed(HttpMethod.Post, "/counter", NewSessionId());
        using var written = await _client.SendAsync(write);
        Assert.Equal("1", await written.Content.ReadAsStringAsync());
        Assert.NotNull(ResponseState(written));
    }

    [Fact]
    public async Task Counter_SurvivesAcrossRequests_WhenStateIsRoundTripped()
    {
        var id = NewSessionId();
        string? state = null;
        for (var i = 1; i <= 3; i++)
        {
            using var request = Signed(HttpMethod.Post, "/counter", id, state: state);
            using var response = await _client.SendAsync(request);
            Assert.Equal(i.ToString(), await response.Content.ReadAsStringAsync());
            state = ResponseState(response);
            Assert.NotNull(state);
        }
    }

    [Fact]
    public async Task ResponseWithoutBody_StillCarriesTheState()
    {
        using var request = Signed(HttpMethod.Post, "/set-nobody/k/v", NewSessionId());
        using var response = await _client.SendAsync(request);

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal("v", DecodeStrings(ResponseState(response)!)["k"]);
    }

    [Fact]
    public async Task Remove_And_Clear_SendTheReducedState()
    {
        var state = EncodeStrings(("a", "1"), ("b", "2"));
        using (var request = Signed(HttpMethod.Post, "/remove/a", NewSessionId(), state: state))
        using (var response = await _client.SendAsync(request))
        {
            Assert.Equal(["b"], DecodeStrings(ResponseState(response)!).Keys);
        }

        using (var request = Signed(HttpMethod.Post, "/remove/missing", NewSessionId(), state: state))
        using (var response = await _client.SendAsync(request))
        {
            Assert.Null(ResponseState(response));
        }

        using (var request = Signed(HttpMethod.Post, "/clear", NewSessionId(), state: state))
        using (var response = await _client.SendAsync(request))
        {
            // An empty session is the one-byte blob 0x01.
            Assert.Equal("AQ", ResponseState(response));
        }
    }

    [Fact]
    public async Task ReadOnlyRoute_ReadsWork_WritesThrowAClearException()
    {
        var state = EncodeStrings(("colour", "green"));
        using (var request = Signed(HttpMethod.Get, "/get/colour", NewSessionId(), mode: SessionModeValues.ReadOnly, state: state))
        using (var response = await _client.SendAsync(request))
        {
            Assert.Equal("green", await response.Content.ReadAsStringAsync());
        }

        foreach (var path in new[] { "/set/colour/red", "/remove/colour", "/clear", "/abandon" })
        {
            using var request = Signed(HttpMethod.Post, path, NewSessionId(), mode: SessionModeValues.ReadOnly, state: state);
            using var response = await _client.SendAsync(request);
            Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
            Assert.Contains("read-only", await response.Content.ReadAsStringAsync());
            Assert.Null(ResponseState(response));
            Assert.False(HasAbandon(response));
        }
    }

    [Fact]
    public async Task Abandon_SendsTheMarker_AndNoState()
    {
        using var request = Signed(HttpMethod.Post, "/abandon", NewSessionId(), state: EncodeStrings(("a", "1")));
        using var response = await _client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(HasAbandon(response));
        Assert.Null(ResponseState(response));
    }

    [Fact]
    public async Task ForgedState_UnderAnHonestSignature_GetsNoSession()
    {
        var id = NewSessionId();
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        using var request = Signed(HttpMethod.Get, "/info", id, state: EncodeStrings(("role", "user")), timestamp: now);
        request.Headers.Remove(SessionHeaders.State);
        request.Headers.Add(SessionHeaders.State, EncodeStrings(("role", "admin")));

        using var response = await _client.SendAsync(request);
        var info = await response.Content.ReadFromJsonAsync<SessionInfo>();
        Assert.False(info!.IsAvailable);
        Assert.Equal("Unverified", info.Status);
        Assert.Contains("signature does not match", info.UnavailableReason);
    }

    [Theory]
    [InlineData("not*base64url")]
    [InlineData("AAAA")]
    [InlineData("")]
    public async Task GarbageSignature_GetsNoSession(string signature)
    {
        using var request = Signed(HttpMethod.Get, "/info", NewSessionId());
        request.Headers.Remove(SessionHeaders.Signature);
        request.Headers.TryAddWithoutValidation(SessionHeaders.Signature, signature);

        using var response = await _client.SendAsync(request);
        var info = await response.Content.ReadFromJsonAsync<SessionInfo>();
        Assert.Equal("Unverified", info!.Status);
    }

    [Fact]
    public async Task DuplicatedHeader_GetsNoSession()
    {
        using var request = Signed(HttpMethod.Get, "/info", NewSessionId());
        request.Headers.TryAddWithoutValidation(SessionHeaders.Id, NewSessionId());

        using var response = await _client.SendAsync(request);
        var info = await response.Content.ReadFromJsonAsync<SessionInfo>();
        // HttpClient folds the two values into one "a, b" line: either way the session must not be trusted.
        Assert.Equal("Unverified", info!.Status);
    }

    [Fact]
    public async Task SignatureWithAnotherKey_GetsNoSession()
    {
        using var request = Signed(HttpMethod.Post, "/set/a/1", NewSessionId(), key: TestKeys.OtherKey);
        using var response = await _client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Null(ResponseState(response));
    }

    [Fact]
    public async Task ChangedMode_UnderTheSignature_GetsNoSession()
    {
        using var request = Signed(HttpMethod.Get, "/info", NewSessionId(), mode: SessionModeValues.ReadOnly);
        request.Headers.Remove(SessionHeaders.Mode);
        request.Headers.Add(SessionHeaders.Mode, SessionModeValues.ReadWrite);

        using var response = await _client.SendAsync(request);
        var info = await response.Content.ReadFromJsonAsync<SessionInfo>();
        Assert.Equal("Unverified", info!.Status);
    }

    [Fact]
    public async Task MissingSignature_GetsNoSession()
    {
        using var request = Signed(HttpMethod.Get, "/info", NewSessionId());
        request.Headers.Remove(SessionHeaders.Signature);

        using var response = await _client.SendAsync(request);
        var info = await response.Content.ReadFromJsonAsync<SessionInfo>();
        Assert.Equal("Unverified", info!.Status);
        Assert.Contains("missing", info.UnavailableReason);
    }

    [Theory]
    [InlineData(-301)]
    [InlineData(301)]
    [InlineData(-100000)]
    public async Task TimestampOutsideTheWindow_GetsNoSession(int offsetSeconds)
    {
        // A site on a fixed clock: on the system clock a second can tick between signing and checking, and a
        // timestamp 301 s ahead is then 300 s ahead of the site's clock, inside the window.
        var clock = new FixedClock(DateTimeOffset.UtcNow);
        await using var site = await TestSite.StartAsync(time: clock);
        var signedAt = clock.Now.ToUnixTimeSeconds() + offsetSeconds;
        using var request = Signed(HttpMethod.Get, "/info", NewSessionId(), timestamp: signedAt);
        using var response = await site.Client.SendAsync(request);
        var info = await response.Content.ReadFromJsonAsync<SessionInfo>();

        Assert.Equal("Unverified", info!.Status);
        Assert.Contains("TimestampWindow", info.UnavailableReason);
    }

    [Theory]
    [InlineData(-120)]
    [InlineData(-300)]
    [InlineData(300)]
    public async Task TimestampInsideTheWindow_IsAccepted(int offsetSeconds)
    {
        var clock = new FixedClock(DateTimeOffset.UtcNow);
        await using var site = await TestSite.StartAsync(time: clock);
        var signedAt = clock.Now.ToUnixTimeSeconds() + offsetSeconds;
        using var request = Signed(HttpMethod.Get, "/info", NewSessionId(), timestamp: signedAt);
        using var response = await site.Client.SendAsync(request);
        var info = await response.Content.ReadFromJsonAsync<SessionInfo>();

        Assert.Equal("Verified", info!.Status);
    }

    [Fact]
    public async Task UnknownMode_GetsNoSession()
    {
        using var request = Signed(HttpMethod.Get, "/info", NewSessionId(), mode: "read-everything");
        using var response = await _client.SendAsync(request);
        var info = await response.Content.ReadFromJsonAsync<SessionInfo>();

        Assert.Equal("Unverified", info!.Status);
        Assert.Contains("read-everything", info.UnavailableReason);
    }

    [Fact]
    public async Task UnavailableMode_RunsWithoutSession()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/info");
        request.Headers.Add(SessionHeaders.Mode, SessionModeValues.Unavailable);
        using var response = await _client.SendAsync(request);
        var info = await response.Content.ReadFromJsonAsync<SessionInfo>();

        Assert.False(info!.IsAvailable);
        Assert.Equal("NodeUnavailable", info.Status);
    }

    [Fact]
    public async Task UnreadableBlob_UnderAValidSignature_MakesTheSessionUnavailable_AndNeverOverwritesIt()
    {
        // Version byte 0x02 is unknown: the site must not replace a state it cannot read.
        var unreadable = SessionRouter.AspNetCore.StateFormat.SessionStateFormat.ToHeaderValue([0x02, 0x00]);
        using (var request = Signed(HttpMethod.Get, "/info", NewSessionId(), state: unreadable))
        using (var response = await _client.SendAsync(request))
        {
            var info = await response.Content.ReadFromJsonAsync<SessionInfo>();
            Assert.False(info!.IsAvailable);
            Assert.Contains("version 0x02", info.UnavailableReason);
        }

        using (var request = Signed(HttpMethod.Post, "/set/a/1", NewSessionId(), state: unreadable))
        using (var response = await _client.SendAsync(request))
        {
            Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
            Assert.Null(ResponseState(response));
        }

        using (var request = Signed(HttpMethod.Get, "/info", NewSessionId(), state: "not*base64"))
        using (var response = await _client.SendAsync(request))
        {
            var info = await response.Content.ReadFromJsonAsync<SessionInfo>();
            Assert.False(info!.IsAvailable);
            Assert.Contains("base64url", info.UnavailableReason);
        }
    }

    [Fact]
    public async Task WriteAfterTheResponseStarted_ThrowsAClearException()
    {
        using var request = Signed(HttpMethod.Post, "/write-then-set", NewSessionId());
        using var response = await _client.SendAsync(request);

        var body = await response.Content.ReadAsStringAsync();
        Assert.StartsWith("started;", body);
        Assert.Contains("response has already started", body);
        Assert.Null(ResponseState(response));
    }

    [Fact]
    public async Task StateLargerThanKestrelsDefaultHeaderLimit_IsAccepted()
    {
        // 60 KB of state is ~80 KB of base64url: more than Kestrel's default 32 KiB of request headers.
        var big = new Dictionary<string, byte[]> { ["big"] = new byte[60_000] };
        big["big"].AsSpan().Fill(7);
        using var request = Signed(HttpMethod.Post, "/counter", NewSessionId(), state: Encode(big));
        using var response = await _client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("1", await response.Content.ReadAsStringAsync());
        var returned = SessionRouter.AspNetCore.StateFormat.SessionStateFormat.Decode(
            SessionRouter.AspNetCore.StateFormat.SessionStateFormat.FromHeaderValue(ResponseState(response)!));
        Assert.Equal(big["big"], returned["big"]);
    }
}
