using System.Net;
using Microsoft.Extensions.Time.Testing;
using SessionRouter.Core.Storage;
using SessionRouter.StateServer.Hosting;
using SessionRouter.StateServer.Wire;

namespace SessionRouter.StateServer.Tests.Protocol;

/// <summary>
/// The engine's contention stream (<c>GET /contention</c>) over real HTTP/2 on loopback: its bytes, its access
/// key, and how it lives with the connection guard, the idle timeout and a graceful shutdown. Waits are bounded
/// by <see cref="Bound"/> only so a failure cannot hang; nothing asserts how quickly anything happens.
/// </summary>
public sealed class ContentionStreamTests
{
    private const string Key = "contention-stream-access-key";
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan Long = TimeSpan.FromMinutes(5);

    [Fact]
    public async Task TheStream_StartsWithThePreamble_ThenAFramePerQueuedWaiter()
    {
        await using var node = await StateServerRunner.StartAsync(new StateServerOptions { Port = 0, Http2Port = 0, AccessKey = Key });
        using var http = NewHttpClient();
        using var stream = await OpenAsync(http, node, Key);
        var key = new SessionKey("app", "stream-1");
        var holder = await LockAsync(node.Store, key);

        var waiter = node.Store.GetExclusiveAsync(key, new LockRequest(Long)).AsTask();
        var contention = await stream.NextAsync();

        Assert.Equal(new LockContention(key, holder.LockId), contention);
        await node.Store.ReleaseAsync(key, holder.LockId);
        var granted = await waiter.WaitAsync(Bound);
        Assert.Equal(StoreStatus.Ok, granted.Status);
    }

    public static TheoryData<string?> WrongKeys => [null, "not-the-key"];

    [Theory]
    [MemberData(nameof(WrongKeys))]
    public async Task AMissingOrWrongAccessKey_IsRefusedWith401_AsABatchIs(string? key)
    {
        await using var node = await StateServerRunner.StartAsync(new StateServerOptions { Port = 0, Http2Port = 0, AccessKey = Key });
        using var http = NewHttpClient();

        using var watch = await http.SendAsync(Request(HttpMethod.Get, node, StateProtocol.ContentionPath, key), HttpCompletionOption.ResponseHeadersRead);
        using var batch = await http.SendAsync(Request(HttpMethod.Post, node, StateProtocol.BatchPath, key), HttpCompletionOption.ResponseHeadersRead);

        Assert.Equal(HttpStatusCode.Unauthorized, watch.StatusCode);
        Assert.Equal(batch.StatusCode, watch.StatusCode);
    }

    [Fact]
    public async Task AnotherMethodThanGet_Is405()
    {
        await using var node = await StateServerRunner.StartAsync(new StateServerOptions { Port = 0, Http2Port = 0, AccessKey = Key });
        using var http = NewHttpClient();

        using var response = await http.SendAsync(Request(HttpMethod.Post, node, StateProtocol.ContentionPath, Key));

        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        Assert.Equal("GET", response.Content.Headers.Allow.Single());
    }

    /// <summary>
    /// The watch's request presented the key, so its connection is admitted: moving the guard's clock past the
    /// first-request deadline closes only the connection that never did, and waiting past the idle timeout
    /// (which counts only while no request is open) closes nothing. The watch still delivers afterwards.
    /// </summary>
    [Fact]
    public async Task AWatch_OutlivesTheFirstRequestDeadline_AndTheIdleTimeout()
    {
        var time = new FakeTimeProvider();
        await using var node = await StateServerRunner.StartAsync(
            new StateServerOptions { Port = 0, Http2Port = 0, AccessKey = Key, FirstRequestTimeout = TimeSpan.FromSeconds(10), IdleConnectionTimeout = TimeSpan.FromSeconds(1), RequestHeadersTimeout = Long },
            loggerFactory: null,
            time,
            CancellationToken.None);
        using var http = NewHttpClient();
        using var stream = await OpenAsync(http, node, Key);
        using var silent = await RawHttp2.OpenAsync(node.Http2Port!.Value, CancellationToken.None);

        time.Advance(TimeSpan.FromSeconds(11));
        await WaitUntilAsync(() => node.OpenConnectionsFrom(IPAddress.Loopback) == 1);

        // Several idle timeouts on Kestrel's real clock (its heartbeat looks once a second).
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.Equal(1, node.OpenConnectionsFrom(IPAddress.Loopback));

        var key = new SessionKey("app", "guarded");
        var holder = await LockAsync(node.Store, key);
        var waiter = node.Store.GetExclusiveAsync(key, new LockRequest(Long)).AsTask();
        Assert.Equal(new LockContention(key, holder.LockId), await stream.NextAsync());
        await node.Store.ReleaseAsync(key, holder.LockId);
        await waiter.WaitAsync(Bound);
    }

    /// <summary>A graceful shutdown ends the streams at its start: it never waits its ShutdownTimeout for them.</summary>
    [Fact]
    public async Task AGracefulShutdown_EndsTheStream_InsteadOfWaitingForIt()
    {
        var node = await StateServerRunner.StartAsync(new StateServerOptions { Port = 0, Http2Port = 0, AccessKey = Key, ShutdownTimeout = TimeSpan.FromMinutes(10) });
        using var http = NewHttpClient();
        using var stream = await OpenAsync(http, node, Key);

        await node.ShutdownAsync().WaitAsync(Bound);

        Assert.True(await stream.EndedAsync());
    }

    private static async Task<SessionLock> LockAsync(ISessionStore store, SessionKey key)
    {
        var read = await store.GetExclusiveAsync(key, new LockRequest(TimeSpan.Zero, Long, CreateIfMissing: true));
        Assert.Equal(StoreStatus.Ok, read.Status);
        return read.Lock;
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var bound = new CancellationTokenSource(Bound);
        while (!condition())
        {
            await Task.Delay(20, bound.Token);
        }
    }

    private static HttpClient NewHttpClient() => new(new SocketsHttpHandler { UseProxy = false }) { Timeout = Timeout.InfiniteTimeSpan };

    private static HttpRequestMessage Request(HttpMethod method, StateServerRunner node, string path, string? key)
    {
        var request = new HttpRequestMessage(method, new Uri(node.Http2Address!, path))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        if (key is not null)
        {
            request.Headers.TryAddWithoutValidation(StateProtocol.AccessKey, key);
        }

        if (method == HttpMethod.Post)
        {
            request.Content = new ByteArrayContent([]);
        }

        return request;
    }

    /// <summary>Opens the stream and reads its preamble: from then on the node's store announces to it.</summary>
    private static async Task<OpenStream> OpenAsync(HttpClient http, StateServerRunner node, string key)
    {
        var response = await http.SendAsync(Request(HttpMethod.Get, node, StateProtocol.ContentionPath, key), HttpCompletionOption.ResponseHeadersRead).WaitAsync(Bound);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(StateProtocol.ContentionContentType, response.Content.Headers.ContentType?.MediaType);
        var body = await response.Content.ReadAsStreamAsync();
        var preamble = new byte[ContentionCodec.PreambleBytes];
        await body.ReadExactlyAsync(preamble).AsTask().WaitAsync(Bound);
        Assert.True(ContentionCodec.IsPreamble(preamble));
        return new OpenStream(response, body);
    }

    private sealed class OpenStream(HttpResponseMessage response, Stream body) : IDisposable
    {
        private readonly byte[] _buffer = new byte[ContentionCodec.MaxFrameBytes];
        private int _length;

        public async Task<LockContention> NextAsync()
        {
            while (true)
            {
                var status = ContentionCodec.TryReadFrame(_buffer.AsSpan(0, _length), out var contention, out var consumed, out var error);
                Assert.NotEqual(ContentionFrameStatus.Malformed, status);
                if (status == ContentionFrameStatus.Complete)
                {
                    _buffer.AsSpan(consumed, _length - consumed).CopyTo(_buffer);
                    _length -= consumed;
                    return contention;
                }

                var read = await body.ReadAsync(_buffer.AsMemory(_length)).AsTask().WaitAsync(Bound);
                Assert.True(read > 0, "The stream ended: " + error);
                _length += read;
            }
        }

        /// <summary>True when the stream ended (cleanly or broken off) with nothing more in it.</summary>
        public async Task<bool> EndedAsync()
        {
            try
            {
                return await body.ReadAsync(_buffer).AsTask().WaitAsync(Bound) == 0;
            }
            catch (Exception error) when (error is IOException or HttpRequestException)
            {
                return true;
            }
        }

        public void Dispose()
        {
            body.Dispose();
            response.Dispose();
        }
    }
}
