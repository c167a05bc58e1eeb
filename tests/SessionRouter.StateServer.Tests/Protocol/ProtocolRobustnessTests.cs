using System.Net.Sockets;
using System.Text;
using SessionRouter.StateServer.Hosting;

namespace SessionRouter.StateServer.Tests.Protocol;

/// <summary>Malformed and hostile input gets a status, never a crash; limits and the remote guard hold.</summary>
public sealed class ProtocolRobustnessTests : IAsyncLifetime
{
    private StateServerRunner _node = null!;

    public async Task InitializeAsync() =>
        _node = await StateServerRunner.StartAsync(new StateServerOptions { Port = 0, Http2Port = -1, MaxItemBytes = 1024 });

    public async Task DisposeAsync() => await _node.DisposeAsync();

    private async Task AssertStillServesAsync()
    {
        var put = await RawHttp.SendAsync(_node.Port, "PUT /alive/check HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n", [1, 2]);
        var get = await RawHttp.SendAsync(_node.Port, "GET /alive/check HTTP/1.1\r\nHost: x\r\n\r\n");
        Assert.Equal(200, put.StatusCode);
        Assert.Equal(new byte[] { 1, 2 }, get.Body);
    }

    [Theory]
    [InlineData("Timeout: abc")]
    [InlineData("Timeout: -1")]
    [InlineData("Timeout: 525601")]
    [InlineData("ExtraFlags: 2")]
    [InlineData("Lock-Cookie: x1")]
    [InlineData("X-SR-Expected-Version: nope")]
    [InlineData("X-SR-Version: 0")]
    [InlineData("X-SR-Version: -3")]
    [InlineData("X-SR-Version: 5\r\nExtraFlags: 1")]
    [InlineData("X-SR-KeepLock: 0")]
    [InlineData("X-SR-KeepLock: 2")]
    [InlineData("X-SR-KeepLock: yes")]
    [InlineData("X-SR-KeepLock: 1")]
    [InlineData("X-SR-KeepLock: 1\r\nLockCookie: 5")]
    [InlineData("X-SR-KeepLock: 1\r\nX-SR-Lock-Id: 5\r\nX-SR-KeepLock: 1")]
    [InlineData("X-SR-KeepLock: 1\r\nX-SR-Lock-Id: 5\r\nExtraFlags: 1")]
    public async Task Put_WithABadHeader_Is400WithAMessage(string header)
    {
        var response = await RawHttp.SendAsync(_node.Port, $"PUT /bad/header HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n{header}\r\n\r\n", [0]);

        Assert.Equal(400, response.StatusCode);
        Assert.Equal("2.0.50727", response.Header("X-AspNet-Version"));
        Assert.NotEmpty(response.BodyText);
        Assert.Equal(404, (await RawHttp.SendAsync(_node.Port, "GET /bad/header HTTP/1.1\r\nHost: x\r\n\r\n")).StatusCode);
    }

    /// <summary>A write asks for a writer-assigned version or for a conditional one, never both: refused whole, nothing stored.</summary>
    [Fact]
    public async Task Put_WithAVersionAndAnExpectedVersion_Is400_NamingBoth()
    {
        var response = await RawHttp.SendAsync(_node.Port, "PUT /versions/both HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nX-SR-Version: 5\r\nX-SR-Expected-Version: 0\r\n\r\n", [0]);

        Assert.Equal(400, response.StatusCode);
        Assert.Contains("X-SR-Version", response.BodyText, StringComparison.Ordinal);
        Assert.Contains("X-SR-Expected-Version", response.BodyText, StringComparison.Ordinal);
        Assert.Equal(404, (await RawHttp.SendAsync(_node.Port, "GET /versions/both HTTP/1.1\r\nHost: x\r\n\r\n")).StatusCode);
    }

    /// <summary>Only a PUT keeps its lock: the header on a read, a release, a removal or a touch is refused, and a release or removal is not done.</summary>
    [Theory]
    [InlineData("GET /keep/other HTTP/1.1\r\nHost: x\r\nX-SR-KeepLock: 1\r\n\r\n")]
    [InlineData("GET /keep/other HTTP/1.1\r\nHost: x\r\nExclusive: release\r\nX-SR-Lock-Id: {0}\r\nX-SR-KeepLock: 1\r\n\r\n")]
    [InlineData("DELETE /keep/other HTTP/1.1\r\nHost: x\r\nX-SR-Lock-Id: {0}\r\nX-SR-KeepLock: 1\r\n\r\n")]
    [InlineData("HEAD /keep/other HTTP/1.1\r\nHost: x\r\nX-SR-KeepLock: 1\r\n\r\n")]
    public async Task KeepLock_OnAnythingButAPut_Is400_AndTheLockStays(string template)
    {
        await RawHttp.SendAsync(_node.Port, "PUT /keep/other HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n", [7]);
        var acquire = await RawHttp.SendAsync(_node.Port, "GET /keep/other HTTP/1.1\r\nHost: x\r\nExclusive: acquire\r\n\r\n");
        var lockId = acquire.Header("LockCookie");

        var response = await RawHttp.SendAsync(_node.Port, string.Format(System.Globalization.CultureInfo.InvariantCulture, template, lockId));
        var after = await RawHttp.SendAsync(_node.Port, "GET /keep/other HTTP/1.1\r\nHost: x\r\n\r\n");
        await RawHttp.SendAsync(_node.Port, $"GET /keep/other HTTP/1.1\r\nHost: x\r\nExclusive: release\r\nX-SR-Lock-Id: {lockId}\r\n\r\n");

        Assert.Equal(400, response.StatusCode);
        Assert.Equal(423, after.StatusCode);
        Assert.Equal(lockId, after.Header("LockCookie"));
    }

    [Theory]
    [InlineData("GET /bad/header HTTP/1.1\r\nHost: x\r\nExclusive: maybe\r\n\r\n")]
    [InlineData("GET /bad/header HTTP/1.1\r\nHost: x\r\nExclusive: release\r\n\r\n")]
    [InlineData("GET /bad/header HTTP/1.1\r\nHost: x\r\nExclusive: acquire\r\nX-SR-Lock-Wait: soon\r\n\r\n")]
    [InlineData("GET /onlyonesegment HTTP/1.1\r\nHost: x\r\n\r\n")]
    [InlineData("GET /app/ HTTP/1.1\r\nHost: x\r\n\r\n")]
    [InlineData("GET //id HTTP/1.1\r\nHost: x\r\n\r\n")]
    [InlineData("GET /app/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa HTTP/1.1\r\nHost: x\r\n\r\n")]
    public async Task Get_WithABadHeaderOrPath_Is400(string request)
    {
        var response = await RawHttp.SendAsync(_node.Port, request);

        Assert.Equal(400, response.StatusCode);
        Assert.Equal("2.0.50727", response.Header("X-AspNet-Version"));
    }

    [Theory]
    [InlineData("POST")]
    [InlineData("PATCH")]
    [InlineData("BREW")]
    public async Task UnknownVerb_Is405(string verb)
    {
        var response = await RawHttp.SendAsync(_node.Port, $"{verb} /app/id HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");

        Assert.Equal(405, response.StatusCode);
        Assert.Equal("2.0.50727", response.Header("X-AspNet-Version"));
        await AssertStillServesAsync();
    }

    [Fact]
    public async Task OversizedBody_Is413WithAClearMessage_AndStoresNothing()
    {
        var response = await RawHttp.SendAsync(_node.Port, "PUT /big/item HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n", new byte[5000]);

        Assert.Equal(413, response.StatusCode);
        Assert.Contains("MaxItemBytes", response.BodyText, StringComparison.Ordinal);
        Assert.Equal("TooLarge", response.Header("X-SR-Status"));
        Assert.Equal(404, (await RawHttp.SendAsync(_node.Port, "GET /big/item HTTP/1.1\r\nHost: x\r\n\r\n")).StatusCode);
    }

    [Fact]
    public async Task OversizedChunkedBody_Is413()
    {
        var chunk = new string('a', 3000);
        var head = $"PUT /big/chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n{3000:x}\r\n{chunk}\r\n0\r\n\r\n";

        var response = await RawHttp.SendAsync(_node.Port, head);

        Assert.Equal(413, response.StatusCode);
        await AssertStillServesAsync();
    }

    [Theory]
    [InlineData("PUT /app/chunk-size")]
    [InlineData("POST /batch")]
    public async Task AChunkSizePastWhatAnIntHolds_Is400_AndStoresNothing(string requestLine)
    {
        // Kestrel reports this chunk size as a plain IOException ("Bad chunk size data"), not as a bad request.
        var head = $"{requestLine} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n4294967296\r\nabcdefghijklmnopq\r\n0\r\n\r\n";

        var response = await RawHttp.SendAsync(_node.Port, head);

        Assert.Equal(400, response.StatusCode);
        Assert.Contains("could not be read", response.BodyText, StringComparison.Ordinal);
        Assert.Equal(404, (await RawHttp.SendAsync(_node.Port, "GET /app/chunk-size HTTP/1.1\r\nHost: x\r\n\r\n")).StatusCode);
        await AssertStillServesAsync();
    }

    [Fact]
    public async Task ChunkedBodyWithinTheLimit_IsStored()
    {
        var head = "PUT /small/chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";

        var put = await RawHttp.SendAsync(_node.Port, head);
        var get = await RawHttp.SendAsync(_node.Port, "GET /small/chunked HTTP/1.1\r\nHost: x\r\n\r\n");

        Assert.Equal(200, put.StatusCode);
        Assert.Equal("abcde", get.BodyText);
    }

    [Theory]
    [InlineData("\u0016\u0003\u0001\u0002\u0000\u0001\u0000\u0001\u00fc\u0003\u0003garbage\r\n\r\n")]
    [InlineData("this is not http at all\r\n\r\n")]
    [InlineData("GET /app/id HTTP/9.9\r\nHost: x\r\n\r\n")]
    [InlineData("GET /app/id HTTP/1.1\r\nBad Header Without Colon\r\n\r\n")]
    public async Task GarbageOnTheSocket_GetsAStatus_AndTheServerKeepsServing(string garbage)
    {
        var response = await RawHttp.SendAsync(_node.Port, Encoding.Latin1.GetBytes(garbage), null);

        Assert.InRange(response.StatusCode, 400, 505);
        await AssertStillServesAsync();
    }

    [Fact]
    public async Task OversizedHeaders_AreRefused_AndTheServerKeepsServing()
    {
        var huge = new string('x', 40_000);
        var response = await RawHttp.SendAsync(_node.Port, $"GET /app/id HTTP/1.1\r\nHost: x\r\nX-Filler: {huge}\r\n\r\n");

        Assert.Equal(431, response.StatusCode);
        await AssertStillServesAsync();
    }

    [Fact]
    public async Task Health_AnswersOk()
    {
        var response = await RawHttp.SendAsync(_node.Port, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n");

        Assert.Equal(200, response.StatusCode);
        Assert.Contains("\"status\":\"Healthy\"", response.BodyText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StoppedNode_RefusesConnections()
    {
        var node = await StateServerRunner.StartAsync(new StateServerOptions { Port = 0, Http2Port = -1 });
        var port = node.Port;
        Assert.Equal(200, (await RawHttp.SendAsync(port, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n")).StatusCode);

        await node.StopAsync();

        await Assert.ThrowsAnyAsync<SocketException>(() => RawHttp.SendAsync(port, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n"));
    }
}

/// <summary>The remote guard and the access key.</summary>
public sealed class AccessKeyTests
{
    private const string Key = "a-long-enough-access-key-for-tests";

    [Fact]
    public async Task AllowRemoteConnections_WithoutAnAccessKey_RefusesToStart_NamingTheSetting()
    {
        var error = await Assert.ThrowsAsync<ArgumentException>(() =>
            StateServerRunner.StartAsync(new StateServerOptions { Port = 0, Http2Port = -1, AllowRemoteConnections = true }));

        Assert.Contains("AccessKey", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(70000, 0, "Port")]
    [InlineData(0, -2, "Http2Port")]
    [InlineData(0, -1, "MaxItemBytes")]
    public async Task InvalidSettings_RefuseToStart_NamingTheSetting(int port, int http2Port, string setting)
    {
        var options = new StateServerOptions { Port = port, Http2Port = http2Port };
        if (setting == "MaxItemBytes")
        {
            options.MaxItemBytes = 0;
        }

        var error = await Assert.ThrowsAsync<ArgumentException>(() => StateServerRunner.StartAsync(options));

        Assert.Contains(setting, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithAnAccessKey_RequestsWithoutIt_Are401_AndWithIt_Succeed()
    {
        await using var node = await StateServerRunner.StartAsync(new StateServerOptions { Port = 0, Http2Port = -1, AccessKey = Key });

        var missing = await RawHttp.SendAsync(node.Port, "PUT /k/one HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n", [1]);
        var wrong = await RawHttp.SendAsync(node.Port, "PUT /k/one HTTP/1.1\r\nHost: x\r\nX-SR-Access-Key: wrong-key-wrong-key\r\nContent-Length: 1\r\n\r\n", [1]);
        var health = await RawHttp.SendAsync(node.Port, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
        var right = await RawHttp.SendAsync(node.Port, $"PUT /k/one HTTP/1.1\r\nHost: x\r\nX-SR-Access-Key: {Key}\r\nContent-Length: 1\r\n\r\n", [1]);

        Assert.Equal(401, missing.StatusCode);
        Assert.Equal(401, wrong.StatusCode);
        Assert.Equal(401, health.StatusCode);
        Assert.Equal(200, right.StatusCode);
        Assert.Equal(1, node.Store.GetStatistics().ActiveSessions);
    }

    [Fact]
    public async Task AllowRemoteConnections_WithAKey_BindsBeyondLoopback_AndRequiresTheKey()
    {
        await using var node = await StateServerRunner.StartAsync(new StateServerOptions { Port = 0, Http2Port = -1, AllowRemoteConnections = true, AccessKey = Key });

        var missing = await RawHttp.SendAsync(node.Port, "GET /k/two HTTP/1.1\r\nHost: x\r\n\r\n");
        var right = await RawHttp.SendAsync(node.Port, $"GET /k/two HTTP/1.1\r\nHost: x\r\nX-SR-Access-Key: {Key}\r\n\r\n");

        Assert.Equal(401, missing.StatusCode);
        Assert.Equal(404, right.StatusCode);
    }
}
