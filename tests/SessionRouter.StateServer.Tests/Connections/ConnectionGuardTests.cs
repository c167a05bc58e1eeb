using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Time.Testing;
using SessionRouter.Core.Storage;
using SessionRouter.StateServer.Hosting;
using SessionRouter.StateServer.Tests.Protocol;

namespace SessionRouter.StateServer.Tests.Connections;

/// <summary>
/// Idle, half-open and unauthenticated connections on real loopback sockets: the per-address limit, the
/// first-request deadline, the close after a refused access key, the idle timeout and the HTTP/2 PING
/// that finds a dead peer. Every wait is bounded by <see cref="Bound"/>, far above the short timeouts
/// configured here, and nothing asserts how quickly anything happens.
/// </summary>
public sealed class ConnectionGuardTests
{
    private const string Key = "connection-guard-access-key";
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan Long = TimeSpan.FromMinutes(5);
    private static readonly IPAddress SecondAddress = IPAddress.Parse("127.0.0.2");

    private static string Health(string? key = Key) =>
        key is null ? "GET /health HTTP/1.1\r\nHost: x\r\n\r\n" : $"GET /health HTTP/1.1\r\nHost: x\r\n{Wire.StateProtocol.AccessKey}: {key}\r\n\r\n";

    /// <summary>On the real clock: every kind of connection that never presents the key is closed, whatever it sends.</summary>
    [Fact]
    public async Task ConnectionsThatNeverPresentTheAccessKey_AreClosedAfterFirstRequestTimeout()
    {
        await using var node = await StateServerRunner.StartAsync(new StateServerOptions
        {
            Port = 0,
            Http2Port = 0,
            AccessKey = Key,
            FirstRequestTimeout = TimeSpan.FromSeconds(1),
            IdleConnectionTimeout = Long,
            RequestHeadersTimeout = Long,
        });
        using var cancellation = new CancellationTokenSource(Bound);
        var token = cancellation.Token;

        using var silent = await ConnectAsync(node.Port, IPAddress.Loopback, token);
        using var silentH2 = await ConnectAsync(node.Http2Port!.Value, IPAddress.Loopback, token);
        using var prefaceOnly = await RawHttp2.OpenAsync(node.Http2Port.Value, token);
        using var slowHeaders = await ConnectAsync(node.Port, IPAddress.Loopback, token);
        await slowHeaders.SendAsync(Encoding.ASCII.GetBytes("GET /health HTTP/1.1\r\nHost: x\r\n"), SocketFlags.None, token);

        await Task.WhenAll(
            ClosedByNodeAsync(silent, token),
            ClosedByNodeAsync(silentH2, token),
            ClosedByNodeAsync(prefaceOnly.Socket, token),
            ClosedByNodeAsync(slowHeaders, token));
        await WaitForAsync(() => node.OpenConnectionsFrom(IPAddress.Loopback) == 0, token);
    }

    /// <summary>On a clock the test moves: once past the deadline, only the connections that presented the key are left.</summary>
    [Fact]
    public async Task AdmittedConnections_OutliveTheFirstRequestDeadline_ThatClosesTheOthers()
    {
        var time = new FakeTimeProvider();
        await using var node = await StateServerRunner.StartAsync(
            new StateServerOptions { Port = 0, Http2Port = 0, AccessKey = Key, FirstRequestTimeout = TimeSpan.FromSeconds(10), IdleConnectionTimeout = Long, RequestHeadersTimeout = Long },
            loggerFactory: null,
            time,
            CancellationToken.None);
        using var cancellation = new CancellationTokenSource(Bound);
        var token = cancellation.Token;

        using var admitted = await ConnectAsync(node.Port, IPAddress.Loopback, token);
        Assert.Equal(200, (await RawHttp.SendOnAsync(admitted, Health())).StatusCode);
        using var admittedH2 = await RawHttp2.OpenAsync(node.Http2Port!.Value, token);
        Assert.Equal("200", await RequestOnAsync(admittedH2, 1, "/health", token, (Wire.StateProtocol.AccessKey.ToLowerInvariant(), Key)));
        using var silent = await ConnectAsync(node.Port, IPAddress.Loopback, token);
        using var prefaceOnly = await RawHttp2.OpenAsync(node.Http2Port.Value, token);
        await WaitForAsync(() => node.OpenConnectionsFrom(IPAddress.Loopback) == 4, token);

        time.Advance(TimeSpan.FromSeconds(11));

        await Task.WhenAll(ClosedByNodeAsync(silent, token), ClosedByNodeAsync(prefaceOnly.Socket, token));
        Assert.Equal(200, (await RawHttp.SendOnAsync(admitted, Health())).StatusCode);
        Assert.Equal("200", await RequestOnAsync(admittedH2, 3, "/health", token, (Wire.StateProtocol.AccessKey.ToLowerInvariant(), Key)));
        await WaitForAsync(() => node.OpenConnectionsFrom(IPAddress.Loopback) == 2, token);
    }

    [Fact]
    public async Task IdleConnectionsFromOneAddress_BeyondItsLimit_AreRefused_WhileASecondClientIsServed_AndTheIdleOnesCloseAfterTheTimeout()
    {
        const int limit = 4;
        var time = new FakeTimeProvider();
        await using var node = await StateServerRunner.StartAsync(
            new StateServerOptions { Port = 0, Http2Port = 0, MaxConnectionsPerAddress = limit, FirstRequestTimeout = TimeSpan.FromSeconds(3), IdleConnectionTimeout = Long, RequestHeadersTimeout = Long },
            loggerFactory: null,
            time,
            CancellationToken.None);
        using var cancellation = new CancellationTokenSource(Bound);
        var token = cancellation.Token;

        // limit + 4 connections that never send a byte, from one address, on both ports: the node keeps
        // `limit` of them and closes the rest at once.
        var idle = new List<Socket>();
        try
        {
            for (var i = 0; i < limit + 4; i++)
            {
                idle.Add(await ConnectAsync(i % 2 == 0 ? node.Port : node.Http2Port!.Value, IPAddress.Loopback, token));
            }

            var closings = idle.Select(s => ClosedByNodeAsync(s, token)).ToList();
            await WhenCountCompletedAsync(closings, 4, token);
            await WaitForAsync(() => node.OpenConnectionsFrom(IPAddress.Loopback) == limit, token);
            Assert.Equal(4, closings.Count(c => c.IsCompleted));

            // The first address is still refused, and a second client, from another address, is served
            // on both ports meanwhile.
            using (var refused = await ConnectAsync(node.Port, IPAddress.Loopback, token))
            {
                await ClosedByNodeAsync(refused, token);
            }

            using (var second = await ConnectAsync(node.Port, SecondAddress, token))
            {
                Assert.Equal(200, (await RawHttp.SendOnAsync(second, Health(key: null))).StatusCode);
            }

            using (var http2 = Http2ClientFrom(SecondAddress, node.Http2Address!))
            using (var answer = await http2.GetAsync("/health", token))
            {
                Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
            }

            // Past the first-request timeout every idle connection is closed, and the first address is
            // served again.
            time.Advance(TimeSpan.FromSeconds(4));
            await Task.WhenAll(closings);
            await WaitForAsync(() => node.OpenConnectionsFrom(IPAddress.Loopback) == 0, token);
            using var again = await ConnectAsync(node.Port, IPAddress.Loopback, token);
            Assert.Equal(200, (await RawHttp.SendOnAsync(again, Health(key: null))).StatusCode);
        }
        finally
        {
            idle.ForEach(s => s.Dispose());
        }
    }

    [Fact]
    public async Task WhileOneAddressHoldsItsLimit_ANewConnectionFromIt_IsClosedUnanswered_AndServedOnceOneCloses()
    {
        const int limit = 3;
        await using var node = await StateServerRunner.StartAsync(new StateServerOptions { Port = 0, Http2Port = 0, MaxConnectionsPerAddress = limit, FirstRequestTimeout = Long, IdleConnectionTimeout = Long, RequestHeadersTimeout = Long });
        using var cancellation = new CancellationTokenSource(Bound);
        var token = cancellation.Token;
        var held = new List<Socket>();
        try
        {
            for (var i = 0; i < limit; i++)
            {
                var socket = await ConnectAsync(node.Port, IPAddress.Loopback, token);
                held.Add(socket);
                Assert.Equal(200, (await RawHttp.SendOnAsync(socket, Health(key: null))).StatusCode);
            }

            using (var refused = await ConnectAsync(node.Http2Port!.Value, IPAddress.Loopback, token))
            {
                await ClosedByNodeAsync(refused, token);
            }

            held[0].Dispose();
            held.RemoveAt(0);
            await WaitForAsync(() => node.OpenConnectionsFrom(IPAddress.Loopback) < limit, token);

            using var served = await ConnectAsync(node.Port, IPAddress.Loopback, token);
            Assert.Equal(200, (await RawHttp.SendOnAsync(served, Health(key: null))).StatusCode);
        }
        finally
        {
            held.ForEach(s => s.Dispose());
        }
    }

    [Fact]
    public async Task AConnectionWhoseRequestFailsTheAccessKey_IsClosedAfterIts401_OnBothPorts()
    {
        await using var node = await StateServerRunner.StartAsync(new StateServerOptions { Port = 0, Http2Port = 0, AccessKey = Key, FirstRequestTimeout = Long, IdleConnectionTimeout = Long });
        using var cancellation = new CancellationTokenSource(Bound);
        var token = cancellation.Token;

        using var classic = await ConnectAsync(node.Port, IPAddress.Loopback, token);
        var refused = await RawHttp.SendOnAsync(classic, Health("wrong-key-wrong-key-wrong"));
        Assert.Equal(401, refused.StatusCode);
        Assert.Equal("close", refused.Header("Connection"));
        await ClosedByNodeAsync(classic, token);

        using var http2 = await RawHttp2.OpenAsync(node.Http2Port!.Value, token);
        await http2.SendHeadersAsync(1, Request("/health"), endStream: true, token);
        var frames = new List<Http2Frame>();
        while (await http2.ReadFrameAsync(token) is { } frame)
        {
            frames.Add(frame);
        }

        Assert.Contains(frames, f => f.Type == Http2Frame.Headers && f.StreamId == 1);
        Assert.Contains(frames, f => f.Type == Http2Frame.GoAway);
    }

    [Fact]
    public async Task AnAdmittedConnection_IsClosedAfterIdleConnectionTimeout_OnBothPorts()
    {
        await using var node = await StateServerRunner.StartAsync(new StateServerOptions { Port = 0, Http2Port = 0, IdleConnectionTimeout = TimeSpan.FromSeconds(3), FirstRequestTimeout = Long });
        using var cancellation = new CancellationTokenSource(Bound);
        var token = cancellation.Token;

        using var classic = await ConnectAsync(node.Port, IPAddress.Loopback, token);
        Assert.Equal(200, (await RawHttp.SendOnAsync(classic, Health(key: null))).StatusCode);
        using var http2 = await RawHttp2.OpenAsync(node.Http2Port!.Value, token);
        Assert.Equal("200", await RequestOnAsync(http2, 1, "/health", token));

        await Task.WhenAll(ClosedByNodeAsync(classic, token), ClosedByNodeAsync(http2.Socket, token));
    }

    /// <summary>
    /// A peer that holds a stream open (a parked lock wait) is never idle, so only the PING finds out that
    /// it is gone: this raw connection never answers one.
    /// </summary>
    [Fact]
    public async Task AnHttp2PeerThatStopsAnsweringPings_IsDisconnected_EvenWithAStreamOpen()
    {
        await using var node = await StateServerRunner.StartAsync(new StateServerOptions
        {
            Port = 0,
            Http2Port = 0,
            Http2KeepAlivePingDelay = TimeSpan.FromSeconds(1),
            Http2KeepAlivePingTimeout = TimeSpan.FromSeconds(1),
            IdleConnectionTimeout = Long,
            FirstRequestTimeout = Long,
        });
        using var cancellation = new CancellationTokenSource(Bound);
        var token = cancellation.Token;
        var key = new SessionKey("ping", "held");
        await node.Store.SetAsync(key, new SessionWrite(new byte[] { 1 }, TimeSpan.FromMinutes(5)));
        var holder = await node.Store.GetExclusiveAsync(key, LockRequest.NoWait);
        Assert.Equal(StoreStatus.Ok, holder.Status);

        using var http2 = await RawHttp2.OpenAsync(node.Http2Port!.Value, token);
        await http2.SendHeadersAsync(1, [.. Request("/ping/held"), ("exclusive", "acquire"), ("x-sr-lock-wait", "600000")], endStream: true, token);

        var sawPing = false;
        while (await http2.ReadFrameAsync(token) is { } frame)
        {
            sawPing |= frame.Type == Http2Frame.Ping && (frame.Flags & 1) == 0;
        }

        Assert.True(sawPing, "the node pinged the silent peer before closing the connection");
    }

    [Fact]
    public void ConnectionSettings_AreValidated_NamingEach()
    {
        var errors = StateServerOptionsValidator.Validate(new StateServerOptions
        {
            MaxConnectionsPerAddress = -1,
            FirstRequestTimeout = TimeSpan.Zero,
            IdleConnectionTimeout = TimeSpan.FromDays(2),
            RequestHeadersTimeout = TimeSpan.FromMilliseconds(10),
            Http2KeepAlivePingDelay = TimeSpan.FromMilliseconds(500),
            Http2KeepAlivePingTimeout = TimeSpan.FromSeconds(-1),
            MinRequestBodyBytesPerSecond = double.NaN,
        });

        foreach (var setting in new[] { "MaxConnectionsPerAddress", "FirstRequestTimeout", "IdleConnectionTimeout", "RequestHeadersTimeout", "Http2KeepAlivePingDelay", "Http2KeepAlivePingTimeout", "MinRequestBodyBytesPerSecond" })
        {
            Assert.Contains(errors, e => e.StartsWith($"StateServer:{setting} ", StringComparison.Ordinal));
        }

        Assert.Equal(7, errors.Count);
    }

    private static (string, string)[] Request(string path) => [(":method", "GET"), (":scheme", "http"), (":path", path), (":authority", "x")];

    /// <summary>Sends a GET on a raw HTTP/2 connection and returns its answer's :status (HPACK's static-table entries for the common ones).</summary>
    private static async Task<string> RequestOnAsync(RawHttp2 connection, int streamId, string path, CancellationToken token, params (string, string)[] extra)
    {
        await connection.SendHeadersAsync(streamId, [.. Request(path), .. extra], endStream: true, token);
        while (await connection.ReadFrameAsync(token) is { } frame)
        {
            if (frame.Type == Http2Frame.Headers && frame.StreamId == streamId)
            {
                // Kestrel encodes :status 200 as the indexed static entry 8 (0x88); any other status is
                // reported by its first byte, enough for the tests to see it was not 200.
                return frame.Payload.Length > 0 && frame.Payload[0] == 0x88 ? "200" : $"other (0x{frame.Payload[0]:x2})";
            }
        }

        throw new IOException($"The node closed the connection before answering stream {streamId}.");
    }

    private static async Task<Socket> ConnectAsync(int port, IPAddress from, CancellationToken token)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Bind(new IPEndPoint(from, 0));
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), token);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Reads (and drops) whatever the node sends until it closes the connection (end of stream or reset).</summary>
    private static async Task ClosedByNodeAsync(Socket socket, CancellationToken token)
    {
        var buffer = new byte[4096];
        try
        {
            while (await socket.ReceiveAsync(buffer, SocketFlags.None, token) > 0)
            {
            }
        }
        catch (SocketException)
        {
            // Reset: closed as well.
        }
    }

    /// <summary>Polls a condition the node reaches asynchronously (it counts a connection when Kestrel hands it over, and forgets it when it ends).</summary>
    private static async Task WaitForAsync(Func<bool> condition, CancellationToken token)
    {
        while (!condition())
        {
            await Task.Delay(20, token);
        }
    }

    private static async Task WhenCountCompletedAsync(List<Task> tasks, int count, CancellationToken token)
    {
        var pending = tasks.ToList();
        for (var done = 0; done < count; done++)
        {
            var finished = await Task.WhenAny(pending).WaitAsync(token);
            pending.Remove(finished);
        }
    }

    private static HttpClient Http2ClientFrom(IPAddress from, Uri address)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (context, token) =>
            {
                var socket = await ConnectAsync(context.DnsEndPoint.Port, from, token);
                return new NetworkStream(socket, ownsSocket: true);
            },
        };
        return new HttpClient(handler)
        {
            BaseAddress = address,
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
    }
}
