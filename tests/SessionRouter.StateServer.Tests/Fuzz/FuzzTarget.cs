using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using SessionRouter.Core.Storage;
using SessionRouter.StateServer.Client;
using SessionRouter.StateServer.Hosting;

namespace SessionRouter.StateServer.Tests.Fuzz;

/// <summary>
/// A real engine on loopback for the fuzz suite, with two canary sessions stored through the client
/// before any fuzzing (one plain, one locked) and every error the engine logs captured (Kestrel logs an
/// unhandled application exception at Error). <see cref="AssertUnharmedAsync"/> checks both afterwards.
/// </summary>
internal sealed class FuzzTarget : IAsyncDisposable
{
    /// <summary>
    /// How long one exchange may go unanswered before the fuzzer moves on. Not an assertion: a mutated
    /// request may legitimately leave the node waiting for bytes that never come (the node's own header
    /// timeout then closes it). Such exchanges are counted and reported.
    /// </summary>
    private static readonly TimeSpan AnswerBudget = TimeSpan.FromSeconds(10);

    private readonly CapturingLoggerProvider _log;
    private readonly ILoggerFactory _loggerFactory;
    private readonly StateServerClient _client;
    private readonly SessionKey _canary = new("canary-" + Guid.NewGuid().ToString("N"), "plain");
    private readonly SessionKey _lockedCanary = new("canary-" + Guid.NewGuid().ToString("N"), "locked");
    private readonly byte[] _canaryData = Enumerable.Range(0, 700).Select(i => (byte)(i * 7)).ToArray();
    private long _canaryVersion;
    private SessionLock _canaryLock;

    private FuzzTarget(StateServerRunner node, CapturingLoggerProvider log, ILoggerFactory loggerFactory)
    {
        Node = node;
        _log = log;
        _loggerFactory = loggerFactory;
        _client = new StateServerClient(new StateServerClientOptions { NodeId = "fuzzed", BaseAddress = node.BaseAddress, EnableCircuitBreaker = false, AttemptTimeout = TimeSpan.FromSeconds(30) });
    }

    public StateServerRunner Node { get; }

    /// <summary>Exchanges that got neither an answer nor a close within the budget.</summary>
    public int Unanswered { get; private set; }

    /// <summary>
    /// Starts the node: small items (so oversized bodies are cheap), no parked lock waiters (a waiting
    /// request would hold its exchange open), a one-second header timeout (a truncated head is closed
    /// soon); then stores the canaries.
    /// </summary>
    public static async Task<FuzzTarget> StartAsync()
    {
        var log = new CapturingLoggerProvider();
        var loggerFactory = LoggerFactory.Create(builder => builder.AddProvider(log).SetMinimumLevel(LogLevel.Warning));
        var node = await StateServerRunner.StartAsync(
            new StateServerOptions
            {
                Port = 0,
                Http2Port = 0,
                MaxItemBytes = 1024,
                MaxWaitersPerSession = 0,
                RequestHeadersTimeout = TimeSpan.FromSeconds(1),
            },
            loggerFactory);
        var target = new FuzzTarget(node, log, loggerFactory);
        await target.StoreCanariesAsync();
        return target;
    }

    /// <summary>Sends raw bytes on a fresh connection to the MS-ASP port; returns the status of the first answer, or null when none came.</summary>
    public async Task<int?> ExchangeAsync(byte[] request)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using var budget = new CancellationTokenSource(AnswerBudget);
        try
        {
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, Node.Port), budget.Token);
            await socket.SendAsync(request, SocketFlags.None, budget.Token);
            return await ReadStatusAsync(socket, budget.Token);
        }
        catch (OperationCanceledException) when (budget.IsCancellationRequested)
        {
            Unanswered++;
            return null;
        }
        catch (SocketException)
        {
            // Reset by the node (it closes a connection it refuses while bytes are still arriving).
            return null;
        }
    }

    /// <summary>The canaries hold what they held, nothing the engine logged is an error, and the node still serves.</summary>
    public async Task AssertUnharmedAsync()
    {
        Assert.True(_log.Errors.IsEmpty, "The engine logged errors while fuzzed:\n" + string.Join("\n", _log.Errors));

        var read = await _client.GetAsync(_canary);
        Assert.Equal(StoreStatus.Ok, read.Status);
        Assert.Equal(_canaryData, read.Item!.Data.ToArray());
        Assert.Equal(_canaryVersion, read.Item.Version);

        var locked = await _client.GetExclusiveAsync(_lockedCanary, LockRequest.NoWait);
        Assert.Equal(StoreStatus.Locked, locked.Status);
        Assert.Equal(_canaryLock.LockId, locked.Lock.LockId);
        Assert.Equal(StoreStatus.Ok, (await _client.ReleaseAsync(_lockedCanary, _canaryLock.LockId)).Status);
    }

    /// <summary>Fails with the input when a status is one the engine must never answer (a 5xx other than 505 and 507).</summary>
    public static void AssertNoServerError(int? status, FuzzInput input)
    {
        if (status is >= 500 and not 505 and not 507)
        {
            Assert.Fail($"The engine answered {status} to: {input}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        await Node.DisposeAsync();
        _loggerFactory.Dispose();
    }

    /// <summary>
    /// Completes what a mutation left half-framed, so the node answers instead of waiting for bytes: the
    /// head gets its blank line, a body shorter than its Content-Length is padded, a chunked body gets a
    /// last chunk. What stays unframed is left to the node's timeouts and the answer budget.
    /// </summary>
    public static byte[] Framed(byte[] request)
    {
        var text = Encoding.Latin1.GetString(request);
        var headEnd = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        if (headEnd < 0)
        {
            return [.. request, .. "\r\n\r\n"u8];
        }

        var lines = text[..headEnd].Split("\r\n");
        var bodyBytes = request.Length - headEnd - 4;
        foreach (var line in lines.Skip(1))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                continue;
            }

            var name = line[..colon].Trim();
            var value = line[(colon + 1)..].Trim();
            if (name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase))
            {
                return [.. request, .. "\r\n0\r\n\r\n"u8];
            }

            if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)
                && long.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var length)
                && length > bodyBytes && length <= 2 * 1024 * 1024)
            {
                return [.. request, .. new byte[length - bodyBytes]];
            }
        }

        return request;
    }

    private async Task StoreCanariesAsync()
    {
        var write = await _client.SetAsync(_canary, new SessionWrite(_canaryData, TimeSpan.FromMinutes(30)));
        Assert.Equal(StoreStatus.Ok, write.Status);
        _canaryVersion = write.Version;

        Assert.Equal(StoreStatus.Ok, (await _client.SetAsync(_lockedCanary, new SessionWrite(_canaryData, TimeSpan.FromMinutes(30)))).Status);
        var locked = await _client.GetExclusiveAsync(_lockedCanary, LockRequest.NoWait);
        Assert.Equal(StoreStatus.Ok, locked.Status);
        _canaryLock = locked.Lock;
    }

    private static async Task<int?> ReadStatusAsync(Socket socket, CancellationToken cancellationToken)
    {
        var received = new List<byte>();
        var buffer = new byte[1024];
        while (true)
        {
            var lineEnd = IndexOfLineEnd(received);
            if (lineEnd >= 0)
            {
                var parts = Encoding.Latin1.GetString(received.GetRange(0, lineEnd).ToArray()).Split(' ');
                return parts.Length > 1 && int.TryParse(parts[1], System.Globalization.CultureInfo.InvariantCulture, out var status) ? status : null;
            }

            var read = await socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);
            if (read == 0)
            {
                return null;
            }

            received.AddRange(buffer.AsSpan(0, read));
        }
    }

    private static int IndexOfLineEnd(List<byte> data)
    {
        for (var i = 0; i + 1 < data.Count; i++)
        {
            if (data[i] == '\r' && data[i + 1] == '\n')
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>Keeps every entry at Error or above, with its exception.</summary>
    private sealed class CapturingLoggerProvider : ILoggerProvider
    {
        public ConcurrentQueue<string> Errors { get; } = new();

        public ILogger CreateLogger(string categoryName) => new Capture(this, categoryName);

        public void Dispose()
        {
        }

        private sealed class Capture(CapturingLoggerProvider owner, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Error;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                if (logLevel >= LogLevel.Error)
                {
                    owner.Errors.Enqueue($"{logLevel} {category} ({eventId.Id}): {formatter(state, exception)} {exception}");
                }
            }
        }
    }
}
