using SessionRouter.StateServer.Hosting;

namespace SessionRouter.StateServer.Tests.Protocol;

/// <summary>A graceful stop lets requests in flight finish; new connections are refused afterwards.</summary>
public sealed class ShutdownTests
{
    [Fact]
    public async Task GracefulShutdown_AnswersTheRequestInFlight()
    {
        var node = await StateServerRunner.StartAsync(new StateServerOptions { Port = 0, Http2Port = -1, ShutdownTimeout = TimeSpan.FromSeconds(10) });
        var port = node.Port;
        await RawHttp.SendAsync(port, "PUT /g/one HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n", [1]);
        await RawHttp.SendAsync(port, "GET /g/one HTTP/1.1\r\nHost: x\r\nExclusive: acquire\r\n\r\n");

        // A parked exclusive read (waits 1 s for the lock) is in flight when the stop begins.
        var inFlight = RawHttp.SendAsync(port, "GET /g/one HTTP/1.1\r\nHost: x\r\nExclusive: acquire\r\nX-SR-Lock-Wait: 1000\r\n\r\n");

        // In flight means parked in the node: a request still on its way when the stop begins is refused instead.
        var key = new Core.Storage.SessionKey("g", "one");
        for (var attempt = 0; attempt < 1000 && node.Store.WaitingCallers(key) == 0 && !inFlight.IsCompleted; attempt++)
        {
            await Task.Delay(10);
        }

        await node.ShutdownAsync();
        var answer = await inFlight.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(423, answer.StatusCode);
        Assert.Equal("WaitTimeout", answer.Header("X-SR-Status"));
        await Assert.ThrowsAnyAsync<System.Net.Sockets.SocketException>(() => RawHttp.SendAsync(port, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n"));
    }
}
