using System.Net;
using Microsoft.Extensions.Options;
using SessionRouter.AspNetCore.Configuration;
using SessionRouter.AspNetCore.Tests.Infrastructure;
using SessionRouter.Core.HeaderContract;
using Xunit;
using static SessionRouter.AspNetCore.Tests.Infrastructure.GatewayHeaders;

namespace SessionRouter.AspNetCore.Tests;

/// <summary>Settings that change behaviour: the state size limit, 403 for unverified requests, start-up validation.</summary>
public sealed class SessionOptionsTests
{
    [Fact]
    public async Task OversizedState_FailsAtCommitAsync_WithAClearException()
    {
        await using var site = await TestSite.StartAsync(o => o.MaxStateBytes = 1024);

        using var request = Signed(HttpMethod.Post, "/big-commit/2000", NewSessionId());
        using var response = await site.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Contains("MaxStateBytes (1024)", await response.Content.ReadAsStringAsync());
        Assert.Null(ResponseState(response));
    }

    [Fact]
    public async Task StateWithinTheLimit_IsCommitted()
    {
        await using var site = await TestSite.StartAsync(o => o.MaxStateBytes = 1024);

        using var request = Signed(HttpMethod.Post, "/big-commit/900", NewSessionId());
        using var response = await site.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.NotNull(ResponseState(response));
    }

    [Fact]
    public async Task OversizedState_WithoutCommit_AndABody_Answers500_WithoutState()
    {
        await using var site = await TestSite.StartAsync(o => o.MaxStateBytes = 1024);

        using var request = Signed(HttpMethod.Post, "/big-stream/2000", NewSessionId());
        using var response = await site.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Null(ResponseState(response));
    }

    [Fact]
    public async Task OversizedState_WithoutCommit_AndNoBody_Answers500_WithoutState()
    {
        await using var site = await TestSite.StartAsync(o => o.MaxStateBytes = 1024);

        using var request = Signed(HttpMethod.Post, "/big-nobody/2000", NewSessionId());
        using var response = await site.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Null(ResponseState(response));
    }

    [Fact]
    public async Task RejectInvalidRequests_Answers403_ToForgedHeaders_ButServesUnsessionedAndValidRequests()
    {
        await using var site = await TestSite.StartAsync(o => o.RejectInvalidRequests = true);

        using (var forged = Signed(HttpMethod.Post, "/set/a/1", NewSessionId(), key: TestKeys.OtherKey))
        using (var response = await site.Client.SendAsync(forged))
        {
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
            Assert.Contains("not validly signed", await response.Content.ReadAsStringAsync());
            Assert.Null(ResponseState(response));
        }

        Assert.Contains(site.LogLines, line => line.StartsWith("Warning:") && line.Contains("POST /set/a/1") && line.Contains("answered 403") && line.Contains("signature does not match"));

        using (var stale = Signed(HttpMethod.Get, "/info", NewSessionId(), timestamp: DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 3600))
        using (var response = await site.Client.SendAsync(stale))
        {
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        }

        using (var unsessioned = await site.Client.GetAsync("/info"))
        {
            Assert.Equal(HttpStatusCode.OK, unsessioned.StatusCode);
        }

        using (var valid = Signed(HttpMethod.Post, "/set/a/1", NewSessionId()))
        using (var response = await site.Client.SendAsync(valid))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.NotNull(ResponseState(response));
        }
    }

    [Fact]
    public async Task UnverifiedRequest_WritesAWarning_NamingTheReason()
    {
        await using var site = await TestSite.StartAsync();
        using var request = Signed(HttpMethod.Get, "/info", NewSessionId(), key: TestKeys.OtherKey);
        (await site.Client.SendAsync(request)).Dispose();

        Assert.Contains(site.LogLines, line => line.StartsWith("Warning:") && line.Contains("GET /info") && line.Contains("signature does not match") && line.Contains("runs without a session"));
    }

    [Fact]
    public async Task NarrowTimestampWindow_IsHonoured()
    {
        await using var site = await TestSite.StartAsync(o => o.TimestampWindow = TimeSpan.FromSeconds(30));

        using var request = Signed(HttpMethod.Post, "/set/a/1", NewSessionId(), timestamp: DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 120);
        using var response = await site.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Contains("(30 s)", await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData(null, "SessionRouter:SignatureKey must be set")]
    [InlineData("", "SessionRouter:SignatureKey must be set")]
    [InlineData("%%%not-base64%%%", "SessionRouter:SignatureKey is not valid base64")]
    [InlineData("c2hvcnQta2V5", "SessionRouter:SignatureKey must decode to at least 32 bytes (got 9)")]
    public async Task InvalidSignatureKey_StopsStartUp_NamingTheSetting(string? key, string expected)
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => TestSite.StartAsync(o => o.SignatureKey = key));
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public async Task OtherInvalidSettings_StopStartUp_NamingEachSetting()
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => TestSite.StartAsync(o =>
        {
            o.MaxStateBytes = 0;
            o.TimestampWindow = TimeSpan.Zero;
        }));
        Assert.Contains("SessionRouter:MaxStateBytes", error.Message);
        Assert.Contains("SessionRouter:TimestampWindow", error.Message);
    }

    [Fact]
    public void Validator_NamesEveryFaultySetting_InOneReport()
    {
        var errors = SessionRouterSessionOptionsValidator.Validate(new SessionRouterSessionOptions { SignatureKey = "c2hvcnQta2V5", MaxStateBytes = 0 });

        Assert.Equal(2, errors.Count);
        Assert.Contains(errors, e => e.StartsWith("SessionRouter:SignatureKey ", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("SessionRouter:MaxStateBytes ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Settings_AreBoundFromTheSessionRouterConfigurationSection()
    {
        // The section has the gateway's name, so a site can load the gateway's yarp.json and share the key.
        await using var site = await TestSite.StartAsync(settings: new Dictionary<string, string?>
        {
            ["SessionRouter:SignatureKey"] = TestKeys.SignatureKey,
            ["SessionRouter:MaxStateBytes"] = "1024",
            ["SessionRouter:Nodes:0:Id"] = "ignored-by-the-site",
        });

        using (var request = Signed(HttpMethod.Post, "/counter", NewSessionId()))
        using (var response = await site.Client.SendAsync(request))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.NotNull(ResponseState(response));
        }

        using (var request = Signed(HttpMethod.Post, "/big-commit/2000", NewSessionId()))
        using (var response = await site.Client.SendAsync(request))
        {
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        }
    }

    [Theory]
    [InlineData(65536, 87382 + 32 * 1024)]
    [InlineData(1024, 1366 + 32 * 1024)]
    [InlineData(int.MaxValue, int.MaxValue)]
    public void KestrelLimits_AreRaisedToFitTheState_NeverLowered(int maxStateBytes, int expectedTotal)
    {
        var kestrel = new Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions();
        var setup = new SessionRouter.AspNetCore.Configuration.KestrelHeaderLimitsSetup(
            Options.Create(new SessionRouter.AspNetCore.Configuration.SessionRouterSessionOptions { MaxStateBytes = maxStateBytes }));
        setup.PostConfigure(null, kestrel);

        Assert.Equal(Math.Max(expectedTotal, 32 * 1024), kestrel.Limits.MaxRequestHeadersTotalSize);
        Assert.True(kestrel.Limits.Http2.MaxRequestHeaderFieldSize >= Math.Min((maxStateBytes * 4L + 2) / 3, int.MaxValue));
    }
}
