using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using SessionRouter.Core.Storage;
using SessionRouter.StateServer.Wire;

namespace SessionRouter.StateServer.Client.Tests;

/// <summary>
/// Answers no engine sends (a corrupt node, or whatever answers in a node's place) fail the call with
/// <see cref="SessionStoreUnavailableException"/> naming the node: never an overflow, a truncated length
/// or another exception type the caller does not expect. The "node" is a loopback socket that answers
/// every request with the same canned bytes.
/// </summary>
public sealed class HostileAnswerTests
{
    private static readonly SessionKey Key = new("hostile", "session-1");

    public static TheoryData<string, string> SingleAnswers => new()
    {
        // A length past 4 GiB: cast to an int first, it would read as 8 bytes.
        { "content-length-past-int", "HTTP/1.1 200 OK\r\nContent-Length: 4294967304\r\nTimeout: 20\r\n\r\n12345678" },
        { "timeout-out-of-range", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nTimeout: 9223372036854775807\r\n\r\n" },
        { "negative-timeout", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nTimeout: -5\r\n\r\n" },
        { "lock-age-ms-out-of-range", "HTTP/1.1 423 Locked\r\nContent-Length: 0\r\nLockCookie: 5\r\nX-SR-Lock-Age-Ms: 9223372036854775807\r\n\r\n" },
        { "lock-age-seconds-wrapping", "HTTP/1.1 423 Locked\r\nContent-Length: 0\r\nLockCookie: 5\r\nLockAge: 9223372036854775\r\n\r\n" },
        { "lock-date-out-of-range", "HTTP/1.1 423 Locked\r\nContent-Length: 0\r\nLockCookie: 5\r\nLockDate: 999999999999999\r\n\r\n" },
        { "not-a-protocol-status", "HTTP/1.1 418 I'm a teapot\r\nContent-Length: 0\r\n\r\n" },
    };

    [Theory]
    [MemberData(nameof(SingleAnswers))]
    public async Task AHostileAnswerToASingleRequest_IsUnavailable_NamingTheNode(string kind, string answer)
    {
        await using var node = CannedNode.Start(Encoding.ASCII.GetBytes(answer));
        using var client = new StateServerClient(new StateServerClientOptions
        {
            NodeId = "hostile-" + kind,
            BaseAddress = node.Address,
            UseHttp2 = false,
            EnableBatching = false,
            EnableCircuitBreaker = false,
        });

        var error = await Assert.ThrowsAsync<SessionStoreUnavailableException>(async () => await client.GetExclusiveAsync(Key, LockRequest.NoWait));

        Assert.Equal("hostile-" + kind, error.NodeId);
        Assert.Contains("hostile-" + kind, error.Message, StringComparison.Ordinal);
    }

    public static TheoryData<string> BatchAnswers => ["content-length-past-int", "lock-date-out-of-range", "lock-age-out-of-range", "data-past-the-end"];

    [Theory]
    [MemberData(nameof(BatchAnswers))]
    public async Task AHostileBatchAnswer_FailsItsOperations_AsUnavailable(string kind)
    {
        var record = new byte[BatchCodec.AnswerHeaderBytes];
        record[1] = 8; // lock held
        BinaryPrimitives.WriteInt64LittleEndian(record.AsSpan(24), 5);
        switch (kind)
        {
            case "lock-date-out-of-range":
                BinaryPrimitives.WriteInt64LittleEndian(record.AsSpan(32), long.MaxValue);
                break;
            case "lock-age-out-of-range":
                BinaryPrimitives.WriteInt64LittleEndian(record.AsSpan(40), long.MaxValue);
                break;
            case "data-past-the-end":
                record[1] = 1;
                BinaryPrimitives.WriteInt32LittleEndian(record.AsSpan(8), int.MaxValue);
                break;
        }

        var body = new byte[BatchCodec.PreambleBytes + record.Length];
        BatchCodec.WritePreamble(body, 1);
        record.CopyTo(body, BatchCodec.PreambleBytes);
        var length = kind == "content-length-past-int" ? (1L << 32) + body.Length : body.Length;
        var head = Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Type: {StateProtocol.BatchContentType}\r\nContent-Length: {length}\r\n\r\n");
        await using var node = CannedNode.Start([.. head, .. body]);
        using var client = new StateServerClient(new StateServerClientOptions
        {
            NodeId = "hostile-batch",
            BaseAddress = node.Address,
            UseHttp2 = false,
            EnableCircuitBreaker = false,
            BatchEveryOperation = true,
        });

        var error = await Assert.ThrowsAsync<SessionStoreUnavailableException>(async () => await client.GetAsync(Key));

        Assert.Equal("hostile-batch", error.NodeId);
    }

    /// <summary>A loopback listener that reads each request (head and Content-Length body) and answers it with the same bytes.</summary>
    public static TheoryData<string, string> ContentionStreams => new()
    {
        { "no-preamble", "SRB1" },
        { "malformed-frame", "SRC1|zero-lock-id" },
        { "ends-inside-a-frame", "SRC1|cut" },
        { "ends", "SRC1" },
        { "not-200", "404" },
    };

    /// <summary>A contention stream no engine sends fails the watch with the node's name, never with a decoder's exception.</summary>
    [Theory]
    [MemberData(nameof(ContentionStreams))]
    public async Task AHostileContentionStream_FailsTheWatch_AsUnavailable(string kind, string shape)
    {
        var frame = new byte[ContentionCodec.FrameHeaderBytes + 2];
        BinaryPrimitives.WriteUInt16LittleEndian(frame, 1);
        BinaryPrimitives.WriteUInt16LittleEndian(frame.AsSpan(2), 1);
        BinaryPrimitives.WriteInt64LittleEndian(frame.AsSpan(4), shape.EndsWith("zero-lock-id", StringComparison.Ordinal) ? 0 : 9);
        frame[^2] = (byte)'a';
        frame[^1] = (byte)'b';
        byte[] body = shape switch
        {
            "SRB1" => "SRB1"u8.ToArray(),
            "SRC1" => "SRC1"u8.ToArray(),
            "404" => [],
            "SRC1|cut" => [.. "SRC1"u8, .. frame.AsSpan(0, frame.Length - 1)],
            _ => [.. "SRC1"u8, .. frame],
        };
        var status = shape == "404" ? "404 Not Found" : "200 OK";
        var head = Encoding.ASCII.GetBytes($"HTTP/1.1 {status}\r\nContent-Type: {StateProtocol.ContentionContentType}\r\nContent-Length: {body.Length}\r\n\r\n");
        await using var node = CannedNode.Start([.. head, .. body]);
        using var client = new StateServerClient(new StateServerClientOptions { NodeId = "hostile-" + kind, BaseAddress = node.Address, UseHttp2 = false });

        var error = await Assert.ThrowsAsync<SessionStoreUnavailableException>(async () =>
        {
            await foreach (var _ in client.WatchContentionAsync(CancellationToken.None))
            {
            }
        });

        Assert.Equal("hostile-" + kind, error.NodeId);
        Assert.Contains("contention", error.Message, StringComparison.Ordinal);
        if (kind == "malformed-frame")
        {
            Assert.Contains("lock id must be positive", error.Message, StringComparison.Ordinal);
        }
    }

    private sealed class CannedNode : IAsyncDisposable
    {
        private readonly Socket _listener;
        private readonly byte[] _answer;
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;

        private CannedNode(byte[] answer)
        {
            _answer = answer;
            _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            _listener.Listen();
            Address = new Uri($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndPoint!).Port}/");
            _loop = AcceptAsync();
        }

        public Uri Address { get; }

        public static CannedNode Start(byte[] answer) => new(answer);

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _listener.Dispose();
            await _loop;
            _stop.Dispose();
        }

        private async Task AcceptAsync()
        {
            var connections = new List<Task>();
            try
            {
                while (true)
                {
                    var socket = await _listener.AcceptAsync(_stop.Token);
                    connections.Add(ServeAsync(socket));
                }
            }
            catch (Exception error) when (error is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                // Stopped.
            }

            await Task.WhenAll(connections);
        }

        private async Task ServeAsync(Socket socket)
        {
            using (socket)
            {
                var received = new List<byte>();
                var buffer = new byte[4096];
                try
                {
                    while (true)
                    {
                        int headEnd;
                        while ((headEnd = IndexOf(received, "\r\n\r\n"u8)) < 0)
                        {
                            var read = await socket.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                            if (read == 0)
                            {
                                return;
                            }

                            received.AddRange(buffer.AsSpan(0, read));
                        }

                        var head = Encoding.ASCII.GetString(received.GetRange(0, headEnd).ToArray());
                        var bodyLength = head.Split("\r\n")
                            .Where(line => line.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))
                            .Select(line => int.Parse(line["Content-Length:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture))
                            .FirstOrDefault();
                        while (received.Count < headEnd + 4 + bodyLength)
                        {
                            var read = await socket.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                            if (read == 0)
                            {
                                return;
                            }

                            received.AddRange(buffer.AsSpan(0, read));
                        }

                        received.RemoveRange(0, headEnd + 4 + bodyLength);
                        await socket.SendAsync(_answer, SocketFlags.None, _stop.Token);
                    }
                }
                catch (Exception error) when (error is OperationCanceledException or SocketException)
                {
                    // The client hung up (it refuses the answer) or the node stops.
                }
            }
        }

        private static int IndexOf(List<byte> data, ReadOnlySpan<byte> pattern)
        {
            for (var i = 0; i + pattern.Length <= data.Count; i++)
            {
                var match = true;
                for (var j = 0; j < pattern.Length && match; j++)
                {
                    match = data[i + j] == pattern[j];
                }

                if (match)
                {
                    return i;
                }
            }

            return -1;
        }
    }
}
