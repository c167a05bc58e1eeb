using System.Net;
using System.Net.Sockets;
using System.Text;
using SessionRouter.Core.Storage;
using SessionRouter.StateServer.Client;
using SessionRouter.StateServer.Hosting;

namespace SessionRouter.StateServer.Tests.Protocol;

/// <summary>
/// <see cref="StateServerOptions.MaxConnections"/> is enforced on real sockets: beyond it a new connection is
/// closed without an answer, and a freed slot serves again. Kestrel counts per listening port, so the
/// MS-ASP port and the HTTP/2 port each take up to the limit.
/// </summary>
public sealed class ConnectionLimitTests : IAsyncLifetime
{
    private const int Limit = 2;
    private const string HealthRequest = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";

    private StateServerRunner _node = null!;

    public async Task InitializeAsync() =>
        _node = await StateServerRunner.StartAsync(new StateServerOptions { Port = 0, Http2Port = 0, MaxConnections = Limit });

    public async Task DisposeAsync() => await _node.DisposeAsync();

    private async Task<Socket> OpenServedConnectionAsync()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, _node.Port));
        var response = await RawHttp.SendOnAsync(socket, HealthRequest);
        Assert.Equal(200, response.StatusCode);
        return socket;
    }

    /// <summary>Connects and sends a request; returns the answer's status line, or null when the node closed the connection unanswered.</summary>
    private async Task<string?> TryRequestOnNewConnectionAsync()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using var cancellation = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, _node.Port), cancellation.Token);
        try
        {
            await socket.SendAsync(Encoding.ASCII.GetBytes(HealthRequest), SocketFlags.None, cancellation.Token);
            var buffer = new byte[4096];
            var read = await socket.ReceiveAsync(buffer, SocketFlags.None, cancellation.Token);
            return read == 0 ? null : Encoding.ASCII.GetString(buffer, 0, read).Split("\r\n")[0];
        }
        catch (SocketException)
        {
            // Reset by the node: refused as well.
            return null;
        }
    }

    [Fact]
    public async Task BeyondMaxConnections_ANewConnectionIsClosedUnanswered_AndAFreedSlotServesAgain()
    {
        var held = new List<Socket>();
        try
        {
            for (var i = 0; i < Limit; i++)
            {
                held.Add(await OpenServedConnectionAsync());
            }

            // Both held connections stay usable.
            Assert.All(await Task.WhenAll(held.Select(s => RawHttp.SendOnAsync(s, HealthRequest))), r => Assert.Equal(200, r.StatusCode));

            // One more on the MS-ASP port: accepted by the kernel, closed by the node without an answer.
            Assert.Null(await TryRequestOnNewConnectionAsync());

            // Free one slot: a new connection is served again (the node notices the close asynchronously).
            held[0].Dispose();
            held.RemoveAt(0);
            string? status = null;
            for (var attempt = 0; attempt < 50 && status is null; attempt++)
            {
                status = await TryRequestOnNewConnectionAsync();
                if (status is null)
                {
                    await Task.Delay(100);
                }
            }

            Assert.Equal("HTTP/1.1 200 OK", status);
        }
        finally
        {
            held.ForEach(s => s.Dispose());
        }
    }

    [Fact]
    public async Task OnTheHttp2Port_TheClientIsRefusedBeyondTheLimit_AndServedOnceASlotIsFree()
    {
        var held = new List<Socket>();
        using var client = new StateServerClient(new StateServerClientOptions { NodeId = "limited", BaseAddress = _node.Http2Address, EnableCircuitBreaker = false });
        var key = new SessionKey("limit", "h2");
        try
        {
            for (var i = 0; i < Limit; i++)
            {
                held.Add(await OpenHttp2ConnectionAsync());
            }

            var refused = await Assert.ThrowsAsync<SessionStoreUnavailableException>(async () => await client.GetAsync(key));
            Assert.Equal("limited", refused.NodeId);

            held[0].Dispose();
            held.RemoveAt(0);
            SessionReadResult? read = null;
            for (var attempt = 0; attempt < 50 && read is null; attempt++)
            {
                try
                {
                    read = await client.GetAsync(key);
                }
                catch (SessionStoreUnavailableException)
                {
                    await Task.Delay(100);
                }
            }

            Assert.Equal(StoreStatus.NotFound, read?.Status);
        }
        finally
        {
            held.ForEach(s => s.Dispose());
        }
    }

    /// <summary>Opens an HTTP/2 connection (preface + empty SETTINGS) and waits for the node's SETTINGS: it is served.</summary>
    private async Task<Socket> OpenHttp2ConnectionAsync()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using var cancellation = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, _node.Http2Port!.Value), cancellation.Token);
        byte[] emptySettings = [0, 0, 0, 4, 0, 0, 0, 0, 0];
        await socket.SendAsync(Encoding.ASCII.GetBytes("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").Concat(emptySettings).ToArray(), SocketFlags.None, cancellation.Token);
        var frameHeader = new byte[9];
        var read = await socket.ReceiveAsync(frameHeader, SocketFlags.None, cancellation.Token);
        Assert.True(read > 3 && frameHeader[3] == 4, "the node answers a served HTTP/2 connection with its SETTINGS frame");
        return socket;
    }

    [Fact]
    public async Task MaxConnections_IsValidated_AndZeroMeansNoLimit()
    {
        var negative = await Assert.ThrowsAsync<ArgumentException>(() => StateServerRunner.StartAsync(new StateServerOptions { Port = 0, Http2Port = -1, MaxConnections = -1 }));
        Assert.Contains("StateServer:MaxConnections", negative.Message, StringComparison.Ordinal);

        await using var unlimited = await StateServerRunner.StartAsync(new StateServerOptions { Port = 0, Http2Port = -1, MaxConnections = 0 });
        var sockets = new List<Socket>();
        try
        {
            for (var i = 0; i < 8; i++)
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                sockets.Add(socket);
                await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, unlimited.Port));
                Assert.Equal(200, (await RawHttp.SendOnAsync(socket, HealthRequest)).StatusCode);
            }
        }
        finally
        {
            sockets.ForEach(s => s.Dispose());
        }
    }
}
