using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.Extensions.Http.Resilience;
using Polly;
using Polly.CircuitBreaker;
using Polly.Timeout;
using SessionRouter.Core.Health;
using SessionRouter.Core.Storage;
using SessionRouter.StateServer.Wire;
using PendingRead = SessionRouter.StateServer.Client.PendingOperation<SessionRouter.Core.Storage.SessionReadResult, SessionRouter.StateServer.Client.ReadConversion>;
using PendingWrite = SessionRouter.StateServer.Client.PendingOperation<SessionRouter.Core.Storage.SessionWriteResult, SessionRouter.StateServer.Client.WriteConversion>;

namespace SessionRouter.StateServer.Client;

/// <summary>
/// The store contract over the engine's wire protocol, for one node: HTTP/2 cleartext with prior
/// knowledge through a <see cref="ResilienceHandler"/> holding the circuit breaker, above an attempt
/// timeout (<see cref="AttemptTimeoutHandler"/>); no retries, so a lock-taking or writing call is never
/// sent twice. A node that cannot be reached, times out or has an open circuit throws
/// <see cref="SessionStoreUnavailableException"/> carrying the node id.
/// </summary>
/// <remarks>
/// Built without IHttpClientFactory on purpose: the gateway creates and disposes clients at run time
/// when its partition map changes. Thread-safe; create one per node and share it.
/// </remarks>
public sealed class StateServerClient : ISessionStore, IStateNodeProbe, ILockContentionSource, IDisposable
{
    private static readonly string[] StatusNames = Enum.GetNames<StoreStatus>();

    private readonly StateServerClientOptions _options;
    private readonly SocketsHttpHandler _transport;
    private readonly ServerCertificateCheck? _certificateCheck;
    private readonly AttemptTimeoutHandler _attempts;
    private readonly ResilienceHandler? _circuitBreaker;
    private readonly HttpMessageInvoker _calls;
    private readonly HttpMessageInvoker _probes;
    private readonly HttpMessageInvoker _watches;
    private readonly Uri _healthUri;
    private readonly Uri _batchUri;
    private readonly Uri _contentionUri;
    private readonly OperationBatcher? _batcher;
    private readonly StateServerClientMetrics _metrics;
    private readonly string _baseText;
    private readonly Version _version;
    private readonly HttpVersionPolicy _versionPolicy;
    private readonly ConcurrentDictionary<string, string> _applicationPrefixes = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<long, string> _timeoutTexts = new();
    private readonly RecentUris _recentUris = new();
    private NumberText? _lastWait;
    private NumberText? _lastLockTimeout;

    public StateServerClient(StateServerClientOptions options)
        : this(options, meterFactory: null)
    {
    }

    /// <summary>
    /// Creates the client; its counters (meter <c>SessionRouter.StateServer.Client</c>) come from
    /// <paramref name="meterFactory"/> when given. Invalid <paramref name="options"/> throw one
    /// <see cref="ArgumentException"/> that names every faulty setting.
    /// </summary>
    public StateServerClient(StateServerClientOptions options, IMeterFactory? meterFactory)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = StateServerClientOptionsValidator.Validate(options);
        if (errors.Count > 0)
        {
            throw new ArgumentException($"Invalid engine client options: {string.Join(" ", errors)}", nameof(options));
        }

        _options = options;

        // First, as it may still refuse the options (a CA file that holds no certificate).
        _certificateCheck = ServerCertificateCheck.Create(options);
        _baseText = options.BaseAddress!.GetLeftPart(UriPartial.Authority);
        _healthUri = new Uri(_baseText + StateProtocol.HealthPath);
        _batchUri = new Uri(_baseText + StateProtocol.BatchPath);
        _contentionUri = new Uri(_baseText + StateProtocol.ContentionPath);
        _metrics = new StateServerClientMetrics(meterFactory, options.NodeId);
        _batcher = options.EnableBatching ? new OperationBatcher(options.MaxRequestsInFlight, SendBatchAsync) : null;
        _version = options.UseHttp2 ? HttpVersion.Version20 : HttpVersion.Version11;
        _versionPolicy = HttpVersionPolicy.RequestVersionExact;

        _transport = new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = true,
            UseProxy = false,
            UseCookies = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            ConnectTimeout = options.AttemptTimeout,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(2),
            MaxConnectionsPerServer = options.UseHttp2 ? int.MaxValue : 256,

            // The engine reads no trace context. Without a propagator SocketsHttpHandler also leaves out
            // its diagnostics handler, so an engine call neither sends a traceparent nor starts an
            // Activity (with a request Activity current, it would start and tag one per call, twice per
            // gateway request). Engine calls therefore never appear as spans of the caller's trace.
            ActivityHeadersPropagator = null,
        };

        // https:// talks TLS; HTTP/2 is then chosen by ALPN (RequestVersionExact offers only h2).
        _certificateCheck?.Apply(_transport.SslOptions);

        // The circuit breaker is the only Polly strategy on the call path: the attempt timeout sits below
        // it in a cheaper handler of its own (a Polly timeout strategy cost two async frames per call).
        _attempts = new AttemptTimeoutHandler(options.AttemptTimeout, _transport);
        _circuitBreaker = options.EnableCircuitBreaker ? new ResilienceHandler(BuildCircuitBreakerPipeline(options)) { InnerHandler = _attempts } : null;
        _calls = new HttpMessageInvoker((HttpMessageHandler?)_circuitBreaker ?? _attempts, disposeHandler: false);
        _probes = new HttpMessageInvoker(new ResilienceHandler(BuildProbePipeline(options)) { InnerHandler = _transport }, disposeHandler: false);

        // The contention stream is one request that lasts as long as the watch: straight on the transport,
        // past the attempt timeout (it would end every watch) and the circuit breaker (a watch that ends is
        // not a failed store call).
        _watches = new HttpMessageInvoker(_transport, disposeHandler: false);
    }

    /// <summary>Batches sent, operations they carried, and operations sent alone within the in-flight bound (zeros with batching off).</summary>
    internal (long Batches, long BatchedOperations, long Direct) BatchCounts => _batcher?.Counts ?? default;

    /// <summary>The node this client talks to.</summary>
    public string NodeId => _options.NodeId;

    public ValueTask<SessionReadResult> GetAsync(SessionKey key, CancellationToken cancellationToken = default)
    {
        var route = ChooseRoute(key, 0, batchable: true, out var applicationBytes, out var idBytes);
        if (route == Route.Batch)
        {
            return Queue(new PendingRead(BatchOperation.Get, key, applicationBytes, idBytes), cancellationToken);
        }

        var request = NewRequest(HttpMethod.Get, key);
        request.Headers.TryAddWithoutValidation(StateProtocol.ReadCommitted, "1");
        return ReadCallAsync(request, route == Route.AloneInSlot, cancellationToken);
    }

    /// <remarks>
    /// With batching on, a waiting exclusive read is first tried without parking (alone or in a batch);
    /// only when the item is locked is it sent again on its own with the lock wait, outside the
    /// in-flight bound. A contended lock therefore costs one more round trip; an uncontended one none.
    /// </remarks>
    public ValueTask<SessionReadResult> GetExclusiveAsync(SessionKey key, LockRequest request, CancellationToken cancellationToken = default)
    {
        var parks = request.WaitTimeout > TimeSpan.Zero;
        var route = ChooseRoute(key, 0, batchable: request.LockTimeout is not { Ticks: < 0 }, out var applicationBytes, out var idBytes);
        if (route == Route.Batch)
        {
            var queued = new PendingRead(BatchOperation.GetExclusive, key, applicationBytes, idBytes);
            queued.Flags = (request.LockTimeout is null ? BatchRequestFlags.None : BatchRequestFlags.HasLockTimeout)
                | (request.CreateIfMissing ? BatchRequestFlags.CreateIfMissing : BatchRequestFlags.None)
                | (request.ProposedLockId > 0 ? BatchRequestFlags.HasLockId : BatchRequestFlags.None);
            queued.LockId = request.ProposedLockId;
            queued.LockTimeoutMilliseconds = request.LockTimeout is { } lockTimeout ? WholeMilliseconds(lockTimeout) : 0;
            queued.TimeoutMinutes = request.CreateIfMissing && request.ItemTimeout > TimeSpan.Zero ? (int)WholeMinutes(request.ItemTimeout) : 0;
            var attempt = Queue(queued, cancellationToken);
            return parks ? WaitIfLockedAsync(attempt, key, request, cancellationToken) : attempt;
        }

        if (parks && route == Route.AloneInSlot)
        {
            var attempt = ReadCallAsync(NewExclusiveRequest(key, request, wait: false), holdsSlot: true, cancellationToken);
            return WaitIfLockedAsync(attempt, key, request, cancellationToken);
        }

        return ReadCallAsync(NewExclusiveRequest(key, request, wait: parks), route == Route.AloneInSlot, cancellationToken);
    }

    public ValueTask<SessionWriteResult> SetAsync(SessionKey key, SessionWrite write, CancellationToken cancellationToken = default)
    {
        // Before a route is chosen, so a refused write never takes an in-flight slot.
        write.ThrowIfInvalid();
        var batchable = write.LockId is not < 0 && write.ExpectedVersion is not < 0;
        var route = ChooseRoute(key, write.Data.Length, batchable, out var applicationBytes, out var idBytes);
        if (route == Route.Batch)
        {
            var queued = new PendingWrite(BatchOperation.Set, key, applicationBytes, idBytes);
            queued.Flags = (write.LockId is null ? BatchRequestFlags.None : BatchRequestFlags.HasLockId)
                | (write.ExpectedVersion is null ? BatchRequestFlags.None : BatchRequestFlags.HasExpectedVersion)
                | (write.Version is null ? BatchRequestFlags.None : BatchRequestFlags.HasVersion)
                | (write.KeepLock ? BatchRequestFlags.KeepLock : BatchRequestFlags.None);
            queued.LockId = write.LockId ?? 0;
            queued.Version = write.Version ?? write.ExpectedVersion ?? 0;
            queued.TimeoutMinutes = write.Timeout > TimeSpan.Zero ? (int)WholeMinutes(write.Timeout) : 0;
            queued.Data = write.Data;
            return Queue(queued, cancellationToken);
        }

        var request = NewRequest(HttpMethod.Put, key);
        var headers = request.Headers;
        if (write.Timeout > TimeSpan.Zero)
        {
            headers.TryAddWithoutValidation(StateProtocol.Timeout, TimeoutMinutes(write.Timeout));
        }

        if (write.LockId is { } lockId)
        {
            headers.TryAddWithoutValidation(StateProtocol.LockId, lockId.ToString(CultureInfo.InvariantCulture));
        }

        if (write.ExpectedVersion is { } expected)
        {
            headers.TryAddWithoutValidation(StateProtocol.ExpectedVersion, expected.ToString(CultureInfo.InvariantCulture));
        }

        if (write.Version is { } version)
        {
            headers.TryAddWithoutValidation(StateProtocol.Version, version.ToString(CultureInfo.InvariantCulture));
        }

        if (write.KeepLock)
        {
            headers.TryAddWithoutValidation(StateProtocol.KeepLock, "1");
        }

        request.Content = new ReadOnlyMemoryContent(write.Data);
        return WriteCallAsync(request, route == Route.AloneInSlot, cancellationToken);
    }

    public ValueTask<SessionWriteResult> ReleaseAsync(SessionKey key, long lockId, CancellationToken cancellationToken = default)
    {
        var route = ChooseRoute(key, 0, batchable: lockId >= 0, out var applicationBytes, out var idBytes);
        if (route == Route.Batch)
        {
            var queued = new PendingWrite(BatchOperation.Release, key, applicationBytes, idBytes) { Flags = BatchRequestFlags.HasLockId, LockId = lockId };
            return Queue(queued, cancellationToken);
        }

        var request = NewRequest(HttpMethod.Get, key);
        request.Headers.TryAddWithoutValidation(StateProtocol.Exclusive, "release");
        request.Headers.TryAddWithoutValidation(StateProtocol.LockId, lockId.ToString(CultureInfo.InvariantCulture));
        return WriteCallAsync(request, route == Route.AloneInSlot, cancellationToken);
    }

    public ValueTask<SessionWriteResult> RemoveAsync(SessionKey key, long? lockId, CancellationToken cancellationToken = default)
    {
        var route = ChooseRoute(key, 0, batchable: lockId is not < 0, out var applicationBytes, out var idBytes);
        if (route == Route.Batch)
        {
            var queued = new PendingWrite(BatchOperation.Remove, key, applicationBytes, idBytes)
            {
                Flags = lockId is null ? BatchRequestFlags.None : BatchRequestFlags.HasLockId,
                LockId = lockId ?? 0,
            };
            return Queue(queued, cancellationToken);
        }

        var request = NewRequest(HttpMethod.Delete, key);
        if (lockId is { } id)
        {
            request.Headers.TryAddWithoutValidation(StateProtocol.LockId, id.ToString(CultureInfo.InvariantCulture));
        }

        return WriteCallAsync(request, route == Route.AloneInSlot, cancellationToken);
    }

    public ValueTask<SessionWriteResult> TouchAsync(SessionKey key, CancellationToken cancellationToken = default)
    {
        var route = ChooseRoute(key, 0, batchable: true, out var applicationBytes, out var idBytes);
        return route == Route.Batch
            ? Queue(new PendingWrite(BatchOperation.Touch, key, applicationBytes, idBytes), cancellationToken)
            : WriteCallAsync(NewRequest(HttpMethod.Head, key), route == Route.AloneInSlot, cancellationToken);
    }

    public ValueTask<SessionWriteResult> CreateUninitializedAsync(SessionKey key, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var route = ChooseRoute(key, 0, batchable: true, out var applicationBytes, out var idBytes);
        if (route == Route.Batch)
        {
            var queued = new PendingWrite(BatchOperation.CreateUninitialized, key, applicationBytes, idBytes)
            {
                TimeoutMinutes = timeout > TimeSpan.Zero ? (int)WholeMinutes(timeout) : 0,
            };
            return Queue(queued, cancellationToken);
        }

        var request = NewRequest(HttpMethod.Put, key);
        request.Headers.TryAddWithoutValidation(StateProtocol.ExtraFlags, "1");
        if (timeout > TimeSpan.Zero)
        {
            request.Headers.TryAddWithoutValidation(StateProtocol.Timeout, TimeoutMinutes(timeout));
        }

        request.Content = new ReadOnlyMemoryContent(ReadOnlyMemory<byte>.Empty);
        return WriteCallAsync(request, route == Route.AloneInSlot, cancellationToken);
    }

    /// <summary>Asks the node's health endpoint (bypassing the circuit breaker, so a recovered node is seen at once).</summary>
    public async ValueTask ProbeAsync(CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, _healthUri) { Version = _version, VersionPolicy = _versionPolicy };
        AddAccessKey(request);
        HttpResponseMessage response;
        try
        {
            response = await _probes.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception error) when (IsTransportFailure(error, cancellationToken))
        {
            throw Unavailable(Describe(error, "did not answer its health probe"), error);
        }

        using (response)
        {
            if (response.StatusCode != HttpStatusCode.OK)
            {
                throw Unavailable($"answered its health probe with {(int)response.StatusCode}", null);
            }
        }
    }

    /// <summary>
    /// Watches the node's contention stream (<c>GET /contention</c>, on the same address, TLS and access key as
    /// every call): yields each caller the node queues behind a held lock, with the holder's lock id, until
    /// <paramref name="cancellationToken"/> is cancelled (the enumeration then ends without an exception).
    /// Throws <see cref="SessionStoreUnavailableException"/> when the node cannot be reached, refuses the
    /// key, sends what is not a contention stream, or ends the stream (it stops, or the connection breaks);
    /// it never reconnects by itself, the caller watches again.
    /// </summary>
    public async IAsyncEnumerable<LockContention> WatchContentionAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, _contentionUri) { Version = _version, VersionPolicy = _versionPolicy };
        AddAccessKey(request);
        using var response = await OpenWatchAsync(request, cancellationToken).ConfigureAwait(false);
        if (response is null)
        {
            yield break;
        }

        var stream = await response.Content.ReadAsStreamAsync(CancellationToken.None).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            // Bytes received and not yet decoded are buffer[start..end]; a frame is at most MaxFrameBytes.
            var buffer = new byte[4096];
            int start = 0, end = 0;
            var preambleSeen = false;
            while (true)
            {
                if (!preambleSeen && end - start >= ContentionCodec.PreambleBytes)
                {
                    if (!ContentionCodec.IsPreamble(buffer.AsSpan(start, end - start)))
                    {
                        throw Unavailable("answered the contention watch with something that is not a contention stream (no 'SRC1' preamble)", null);
                    }

                    preambleSeen = true;
                    start += ContentionCodec.PreambleBytes;
                }

                while (preambleSeen)
                {
                    var status = ContentionCodec.TryReadFrame(buffer.AsSpan(start, end - start), out var contention, out var consumed, out var problem);
                    if (status == ContentionFrameStatus.Malformed)
                    {
                        throw Unavailable($"sent a malformed contention frame: {problem}", null);
                    }

                    if (status == ContentionFrameStatus.Incomplete)
                    {
                        break;
                    }

                    start += consumed;
                    yield return contention;
                }

                if (start == end)
                {
                    start = end = 0;
                }
                else if (buffer.Length - end < ContentionCodec.FrameHeaderBytes || start > buffer.Length / 2)
                {
                    // Room for the rest of a frame: move what is left to the front, or grow up to the largest frame.
                    var left = end - start;
                    var target = left + ContentionCodec.MaxFrameBytes <= buffer.Length ? buffer : new byte[Math.Max(buffer.Length * 2, left + ContentionCodec.MaxFrameBytes)];
                    Buffer.BlockCopy(buffer, start, target, 0, left);
                    buffer = target;
                    start = 0;
                    end = left;
                }

                var read = await ReadWatchAsync(stream, buffer.AsMemory(end), cancellationToken).ConfigureAwait(false);
                if (read < 0)
                {
                    yield break;
                }

                if (read == 0)
                {
                    throw Unavailable(end > start || !preambleSeen ? "ended the contention stream inside a frame" : "ended the contention stream (stopping?)", null);
                }

                end += read;
            }
        }
    }

    /// <summary>Sends the watch request; null when the caller cancelled first. Refusals and transport failures throw.</summary>
    private async Task<HttpResponseMessage?> OpenWatchAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        HttpResponseMessage response;
        try
        {
            response = await _watches.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return null;
        }
        catch (Exception error) when (IsTransportFailure(error, cancellationToken))
        {
            throw Unavailable(Describe(error, "could not be reached for the contention watch"), error);
        }

        if (response.StatusCode == HttpStatusCode.OK)
        {
            return response;
        }

        using (response)
        {
            throw response.StatusCode == HttpStatusCode.Unauthorized
                ? Unavailable("refused the access key (401) for the contention watch: check AccessKey", null)
                : Unavailable($"answered the contention watch with {(int)response.StatusCode}", null);
        }
    }

    /// <summary>One read of the stream: the bytes read, 0 at its end, -1 when the caller cancelled.</summary>
    private async ValueTask<int> ReadWatchAsync(Stream stream, Memory<byte> destination, CancellationToken cancellationToken)
    {
        try
        {
            return await stream.ReadAsync(destination, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return -1;
        }
        catch (Exception error) when (error is IOException or HttpRequestException or OperationCanceledException or ObjectDisposedException)
        {
            throw Unavailable("broke off the contention stream", error);
        }
    }

    public void Dispose()
    {
        _batcher?.Close();
        _calls.Dispose();
        _watches.Dispose();
        _metrics.Dispose();
        _probes.Dispose();
        _circuitBreaker?.Dispose();
        _attempts.Dispose();
        _transport.Dispose();
        _certificateCheck?.Dispose();
    }

    private HttpRequestMessage NewExclusiveRequest(SessionKey key, LockRequest request, bool wait)
    {
        var message = NewRequest(HttpMethod.Get, key);
        var headers = message.Headers;
        headers.TryAddWithoutValidation(StateProtocol.Exclusive, "acquire");
        if (wait)
        {
            headers.TryAddWithoutValidation(StateProtocol.LockWait, Milliseconds(ref _lastWait, request.WaitTimeout));
            message.Options.Set(AttemptTimeoutHandler.ExtraTimeoutKey, request.WaitTimeout);
        }

        if (request.LockTimeout is { } lockTimeout)
        {
            headers.TryAddWithoutValidation(StateProtocol.LockTimeout, Milliseconds(ref _lastLockTimeout, lockTimeout));
        }

        if (request.ProposedLockId > 0)
        {
            headers.TryAddWithoutValidation(StateProtocol.LockId, request.ProposedLockId.ToString(CultureInfo.InvariantCulture));
        }

        if (request.CreateIfMissing)
        {
            headers.TryAddWithoutValidation(StateProtocol.CreateIfMissing, "1");
            if (request.ItemTimeout > TimeSpan.Zero)
            {
                headers.TryAddWithoutValidation(StateProtocol.Timeout, TimeoutMinutes(request.ItemTimeout));
            }
        }

        return message;
    }

    private async ValueTask<SessionReadResult> WaitIfLockedAsync(ValueTask<SessionReadResult> attempt, SessionKey key, LockRequest request, CancellationToken cancellationToken)
    {
        var result = await attempt.ConfigureAwait(false);
        return result.Status == StoreStatus.Locked
            ? await ReadCallAsync(NewExclusiveRequest(key, request, wait: true), holdsSlot: false, cancellationToken).ConfigureAwait(false)
            : result;
    }

    /// <summary>How one operation reaches the node.</summary>
    private enum Route
    {
        /// <summary>A request of its own, outside the in-flight bound (batching off, or the operation does not fit a batch).</summary>
        Alone,

        /// <summary>A request of its own in a free in-flight slot (given back when it completes).</summary>
        AloneInSlot,

        /// <summary>Queued for the next batch.</summary>
        Batch,
    }

    /// <summary>
    /// Picks the route; for <see cref="Route.Batch"/> also the UTF-8 lengths of the key's parts. The key
    /// is checked first (the same argument errors as the request path), so a slot is never taken by a
    /// call that then throws, and a batch never carries a record the engine would refuse.
    /// </summary>
    private Route ChooseRoute(SessionKey key, int dataLength, bool batchable, out int applicationBytes, out int idBytes)
    {
        applicationBytes = 0;
        idBytes = 0;
        ValidateKey(key);
        if (_batcher is null || !batchable || dataLength > OperationBatcher.MaxBatchedItemBytes)
        {
            return Route.Alone;
        }

        if (!_options.BatchEveryOperation && _batcher.TryEnter())
        {
            return Route.AloneInSlot;
        }

        applicationBytes = Encoding.UTF8.GetByteCount(key.Application);
        idBytes = Encoding.UTF8.GetByteCount(key.SessionId);
        return applicationBytes > OperationBatcher.MaxBatchedApplicationBytes || idBytes > StateProtocol.MaxSessionIdBytes
            ? Route.Alone
            : Route.Batch;
    }

    private ValueTask<TResult> Queue<TResult, TConversion>(PendingOperation<TResult, TConversion> operation, CancellationToken cancellationToken)
        where TConversion : IAnswerConversion<TResult>
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<TResult>(cancellationToken);
        }

        operation.CancelWith(cancellationToken);
        _batcher!.Enqueue(operation);
        return operation.Result;
    }

    /// <summary>
    /// Sends one batch and completes its operations. Never throws: a failed batch fails each of its
    /// operations (with an exception of its own each). Always gives the slot back at the end.
    /// </summary>
    private async Task SendBatchAsync(List<PendingOperation> operations)
    {
        byte[]? body = null;
        byte[]? answerBytes = null;
        try
        {
            var size = BatchCodec.PreambleBytes;
            foreach (var operation in operations)
            {
                size += operation.EncodedSize;
            }

            body = ArrayPool<byte>.Shared.Rent(size);
            BatchCodec.WritePreamble(body, operations.Count);
            var offset = BatchCodec.PreambleBytes;
            foreach (var operation in operations)
            {
                offset += operation.Encode(body.AsSpan(offset));
            }

            _metrics.BatchRequest(operations.Count);
            using var request = new HttpRequestMessage(HttpMethod.Post, _batchUri)
            {
                Version = _version,
                VersionPolicy = _versionPolicy,
                Content = new ReadOnlyMemoryContent(body.AsMemory(0, size)),
            };
            request.Content.Headers.TryAddWithoutValidation("Content-Type", StateProtocol.BatchContentType);
            AddAccessKey(request);

            HttpResponseMessage response;
            try
            {
                response = await _calls.SendAsync(request, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception error) when (IsTransportFailure(error, CancellationToken.None))
            {
                throw Unavailable(Describe(error, "could not be reached in time"), error);
            }

            using (response)
            {
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    throw IsProtocolAnswer(response)
                        ? Unavailable($"answered a batch with {(int)response.StatusCode}", null)
                        : await FailureAsync(response, CancellationToken.None).ConfigureAwait(false);
                }

                // Compared as a long before it becomes an array size: a cast first would turn a length
                // past int.MaxValue into a small or negative one.
                if (response.Content.Headers.ContentLength is not { } announced || announced < BatchCodec.PreambleBytes || announced > Array.MaxLength)
                {
                    throw Unavailable($"answered a batch without a valid Content-Length ({response.Content.Headers.ContentLength?.ToString(CultureInfo.InvariantCulture) ?? "none"}; at least {BatchCodec.PreambleBytes} and at most {Array.MaxLength} bytes)", null);
                }

                var length = (int)announced;

                answerBytes = ArrayPool<byte>.Shared.Rent(length);
                try
                {
                    var stream = response.Content.ReadAsStream();
                    await using (stream.ConfigureAwait(false))
                    {
                        await stream.ReadExactlyAsync(answerBytes.AsMemory(0, length)).ConfigureAwait(false);
                    }
                }
                catch (Exception error) when (IsTransportFailure(error, CancellationToken.None) || error is IOException)
                {
                    throw Unavailable("broke off a batch answer", error);
                }

                var answers = new BatchAnswer[operations.Count];
                if (!BatchCodec.TryReadAnswers(answerBytes.AsSpan(0, length), operations.Count, answers, out var problem))
                {
                    throw Unavailable($"answered a malformed batch: {problem}", null);
                }

                for (var i = 0; i < answers.Length; i++)
                {
                    operations[i].Complete(answers[i]);
                }
            }
        }
        catch (Exception error)
        {
            foreach (var operation in operations)
            {
                operation.Fail(CopyOf(error));
            }
        }
        finally
        {
            if (body is not null)
            {
                ArrayPool<byte>.Shared.Return(body);
            }

            if (answerBytes is not null)
            {
                ArrayPool<byte>.Shared.Return(answerBytes);
            }

            _batcher!.Exit();
        }
    }

    /// <summary>A failure of a whole batch, as one exception per operation (an exception object is not shared between awaiters).</summary>
    private Exception CopyOf(Exception error) => error switch
    {
        SessionStoreUnavailableException { InnerException: { } inner } unavailable => new SessionStoreUnavailableException(unavailable.Message, inner) { NodeId = _options.NodeId },
        SessionStoreUnavailableException unavailable => new SessionStoreUnavailableException(unavailable.Message) { NodeId = _options.NodeId },
        ArgumentException argument => new ArgumentException(argument.Message, argument.InnerException),
        _ => Unavailable("failed a batch", error),
    };

    private HttpRequestMessage NewRequest(HttpMethod method, SessionKey key)
    {
        var request = new HttpRequestMessage(method, _recentUris.Get(key, this))
        {
            Version = _version,
            VersionPolicy = _versionPolicy,
        };
        AddAccessKey(request);
        return request;
    }

    private void AddAccessKey(HttpRequestMessage request)
    {
        if (_options.AccessKey is { } accessKey)
        {
            request.Headers.TryAddWithoutValidation(StateProtocol.AccessKey, accessKey);
        }
    }

    private Uri BuildUri(SessionKey key) =>
        new(string.Concat(ApplicationPrefix(key.Application), Uri.EscapeDataString(key.SessionId)), UriKind.Absolute);

    /// <summary>
    /// The request URIs of recently used sessions. A gateway request makes two calls for one session
    /// (lock-get, then set-release), so the second reuses the first's parsed <see cref="Uri"/>. A small
    /// direct-mapped table: an entry is replaced whole (immutable), so readers need no lock.
    /// </summary>
    private sealed class RecentUris
    {
        private const int Size = 512;
        private readonly Entry?[] _entries = new Entry?[Size];

        public Uri Get(SessionKey key, StateServerClient client)
        {
            var id = key.SessionId ?? string.Empty;
            var application = key.Application ?? string.Empty;
            var slot = (int)((uint)HashCode.Combine(string.GetHashCode(id, StringComparison.Ordinal), string.GetHashCode(application, StringComparison.Ordinal)) % Size);
            var entry = Volatile.Read(ref _entries[slot]);
            if (entry is not null && string.Equals(entry.Id, id, StringComparison.Ordinal) && string.Equals(entry.Application, application, StringComparison.Ordinal))
            {
                return entry.Uri;
            }

            var uri = client.BuildUri(key);
            Volatile.Write(ref _entries[slot], new Entry(application, id, uri));
            return uri;
        }

        private sealed record Entry(string Application, string Id, Uri Uri);
    }

    /// <summary>The one check of a key's parts: every call passes it (in <see cref="ChooseRoute"/>) before a request or batch record is built.</summary>
    private static void ValidateKey(SessionKey key)
    {
        ArgumentException.ThrowIfNullOrEmpty(key.Application);
        ArgumentException.ThrowIfNullOrEmpty(key.SessionId);
        if (key.SessionId.Contains('/', StringComparison.Ordinal))
        {
            throw new ArgumentException("A session id cannot contain '/'.", nameof(key));
        }
    }

    private string ApplicationPrefix(string application)
    {
        return _applicationPrefixes.TryGetValue(application, out var prefix)
            ? prefix
            : _applicationPrefixes.GetOrAdd(application, static (app, baseText) => $"{baseText}/{Uri.EscapeDataString(app)}/", _baseText);
    }

    private ValueTask<SessionReadResult> ReadCallAsync(HttpRequestMessage request, bool holdsSlot, CancellationToken cancellationToken)
        => CallAsync<SessionReadResult, ItemAnswer>(request, holdsSlot, cancellationToken);

    private ValueTask<SessionWriteResult> WriteCallAsync(HttpRequestMessage request, bool holdsSlot, CancellationToken cancellationToken)
        => CallAsync<SessionWriteResult, StatusAnswer>(request, holdsSlot, cancellationToken);

    /// <summary>
    /// One engine call: send, map transport failures and non-protocol answers, read the answer with
    /// <typeparamref name="TAnswer"/>. Generic over a static reader rather than taking a delegate so each
    /// store call stays one async frame with no closure. A call that <paramref name="holdsSlot"/> gives
    /// its in-flight slot back when it ends (possibly to a batch of what queued meanwhile).
    /// </summary>
    private async ValueTask<TResult> CallAsync<TResult, TAnswer>(HttpRequestMessage request, bool holdsSlot, CancellationToken cancellationToken)
        where TAnswer : IAnswerReader<TResult>
    {
        using var slot = new SlotLease(holdsSlot ? _batcher : null);
        _metrics.SingleRequest();
        using (request)
        {
            HttpResponseMessage response;
            try
            {
                response = await _calls.SendAsync(request, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception error) when (IsTransportFailure(error, cancellationToken))
            {
                throw Unavailable(Describe(error, "could not be reached in time"), error);
            }

            using (response)
            {
                if (!IsProtocolAnswer(response))
                {
                    throw await FailureAsync(response, cancellationToken).ConfigureAwait(false);
                }

                return await TAnswer.ReadAsync(this, response, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Gives an in-flight slot back when a call ends, however it ends.</summary>
    private readonly struct SlotLease(OperationBatcher? batcher) : IDisposable
    {
        public void Dispose() => batcher?.Exit();
    }

    private interface IAnswerReader<TResult>
    {
        static abstract ValueTask<TResult> ReadAsync(StateServerClient client, HttpResponseMessage response, CancellationToken cancellationToken);
    }

    /// <summary>An answer that carries an item (GET, exclusive GET).</summary>
    private readonly struct ItemAnswer : IAnswerReader<SessionReadResult>
    {
        public static ValueTask<SessionReadResult> ReadAsync(StateServerClient client, HttpResponseMessage response, CancellationToken cancellationToken)
            => client.ReadAsync(response, cancellationToken);
    }

    /// <summary>An answer that carries a status and version only (PUT, release, DELETE, HEAD).</summary>
    private readonly struct StatusAnswer : IAnswerReader<SessionWriteResult>
    {
        public static ValueTask<SessionWriteResult> ReadAsync(StateServerClient client, HttpResponseMessage response, CancellationToken cancellationToken)
            => ValueTask.FromResult(client.ReadWriteResult(response));
    }

    private static bool IsProtocolAnswer(HttpResponseMessage response)
    {
        var status = (int)response.StatusCode;
        return status is not (>= 500 and not StatusCodes507) and not 401 and not 400;
    }

    private async Task<Exception> FailureAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var status = (int)response.StatusCode;
        if (status == 401)
        {
            return Unavailable("refused the access key (401): check AccessKey", null);
        }

        if (status == 400)
        {
            var message = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            return new ArgumentException($"State node '{_options.NodeId}' refused the request as malformed: {message}");
        }

        return Unavailable($"answered {status}", null);
    }

    private const int StatusCodes507 = 507;

    private async ValueTask<SessionReadResult> ReadAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var status = StatusOf(response);
        var holder = ReadLock(response);
        if (status != StoreStatus.Ok)
        {
            return new SessionReadResult(status, null, holder);
        }

        var headers = response.Headers.NonValidated;
        var data = await ReadBodyAsync(response, cancellationToken).ConfigureAwait(false);
        var version = ReadLong(headers, StateProtocol.Version) ?? 0;
        var timeoutMinutes = ReadLong(headers, StateProtocol.Timeout) ?? 0;
        if (timeoutMinutes is < 0 or > StateProtocol.MaxTimeoutMinutes)
        {
            throw Unavailable($"answered a {StateProtocol.Timeout} of {timeoutMinutes} minutes, outside 0–{StateProtocol.MaxTimeoutMinutes}", null);
        }

        var timeout = TimeSpan.FromMinutes(timeoutMinutes);
        var uninitialized = ReadLong(headers, StateProtocol.ActionFlags) == 1;
        var tookOver = ReadLong(headers, StateProtocol.TookOver) == 1;
        return new SessionReadResult(StoreStatus.Ok, new SessionItem(data, version, timeout, uninitialized), holder, tookOver);
    }

    private async ValueTask<byte[]> ReadBodyAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var content = response.Content;
        var length = content.Headers.ContentLength;
        try
        {
            // The response stream of SocketsHttpHandler is ready once the headers are in: no need for the async overload.
            var stream = content.ReadAsStream(cancellationToken);
            await using (stream.ConfigureAwait(false))
            {
                if (length is { } known)
                {
                    if (known == 0)
                    {
                        return [];
                    }

                    if (known > Array.MaxLength)
                    {
                        throw Unavailable($"announced a body of {known} bytes, more than one array holds", null);
                    }

                    var exact = GC.AllocateUninitializedArray<byte>((int)known);
                    await stream.ReadExactlyAsync(exact, cancellationToken).ConfigureAwait(false);
                    return exact;
                }

                using var copy = new MemoryStream();
                await stream.CopyToAsync(copy, cancellationToken).ConfigureAwait(false);
                return copy.ToArray();
            }
        }
        catch (Exception error) when (IsTransportFailure(error, cancellationToken) || error is IOException)
        {
            throw Unavailable("broke off a response", error);
        }
    }

    private SessionWriteResult ReadWriteResult(HttpResponseMessage response) =>
        new(StatusOf(response), ReadLong(response.Headers.NonValidated, StateProtocol.Version) ?? 0, ReadLock(response));

    private StoreStatus StatusOf(HttpResponseMessage response)
    {
        if (response.Headers.NonValidated.TryGetValues(StateProtocol.Status, out var values))
        {
            var name = values.ToString();
            for (var i = 0; i < StatusNames.Length; i++)
            {
                if (string.Equals(StatusNames[i], name, StringComparison.Ordinal))
                {
                    return (StoreStatus)i;
                }
            }
        }

        return response.StatusCode switch
        {
            HttpStatusCode.OK => StoreStatus.Ok,
            HttpStatusCode.NotFound => StoreStatus.NotFound,
            (HttpStatusCode)423 => StoreStatus.Locked,
            HttpStatusCode.Conflict => StoreStatus.VersionConflict,
            HttpStatusCode.RequestEntityTooLarge => StoreStatus.TooLarge,
            HttpStatusCode.TooManyRequests => StoreStatus.QueueFull,
            HttpStatusCode.InsufficientStorage => StoreStatus.CapacityExceeded,

            // Not an engine's answer (a proxy's redirect, a teapot): the node is not usable, as when it cannot be reached.
            _ => throw Unavailable($"answered {(int)response.StatusCode}, which is not part of the protocol", null),
        };
    }

    /// <summary>
    /// The holder of a lock named by an answer. Its date and age are checked before they are converted (a
    /// <see cref="DateTimeOffset"/> and a <see cref="TimeSpan"/> throw outside their ranges, and seconds
    /// times 1000 could wrap), so a value no engine sends fails the call as a node failure.
    /// </summary>
    private SessionLock ReadLock(HttpResponseMessage response)
    {
        var headers = response.Headers.NonValidated;
        if (ReadLong(headers, StateProtocol.LockCookie) is not { } lockId)
        {
            return default;
        }

        var ageMilliseconds = ReadLong(headers, StateProtocol.LockAgeMilliseconds)
            ?? (ReadLong(headers, StateProtocol.LockAge) is { } ageSeconds ? SecondsToMilliseconds(ageSeconds) : 0);
        var dateSeconds = ReadLong(headers, StateProtocol.LockDate);
        var dateMilliseconds = dateSeconds is { } seconds ? SecondsToMilliseconds(seconds) : 0;
        if (!StateProtocol.IsLockTime(dateMilliseconds, ageMilliseconds))
        {
            throw Unavailable($"answered a lock date or age out of range ({StateProtocol.LockDate} {dateSeconds}, age {ageMilliseconds} ms)", null);
        }

        var acquiredAt = dateSeconds is null ? default : DateTimeOffset.FromUnixTimeMilliseconds(dateMilliseconds);
        return new SessionLock(lockId, acquiredAt, TimeSpan.FromMilliseconds(ageMilliseconds));
    }

    /// <summary>Seconds as milliseconds, or <see cref="long.MinValue"/> (out of every range) when the product would wrap.</summary>
    private static long SecondsToMilliseconds(long seconds) =>
        seconds is >= long.MinValue / 1000 and <= long.MaxValue / 1000 ? seconds * 1000 : long.MinValue;

    private static long? ReadLong(HttpHeadersNonValidated headers, string name) =>
        headers.TryGetValues(name, out var values) && long.TryParse(values.ToString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value)
            ? value
            : null;

    private static long WholeMinutes(TimeSpan timeout) => Math.Clamp((long)Math.Ceiling(timeout.TotalMinutes), 1, StateProtocol.MaxTimeoutMinutes);

    private static long WholeMilliseconds(TimeSpan value) => (long)Math.Min(Math.Ceiling(value.TotalMilliseconds), int.MaxValue);

    private string TimeoutMinutes(TimeSpan timeout)
    {
        var minutes = WholeMinutes(timeout);
        return _timeoutTexts.TryGetValue(minutes, out var text)
            ? text
            : _timeoutTexts.GetOrAdd(minutes, static m => m.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>The header text of a duration in whole milliseconds; callers repeat the same value, so the last one is kept.</summary>
    private static string Milliseconds(ref NumberText? last, TimeSpan value)
    {
        var milliseconds = WholeMilliseconds(value);
        var cached = Volatile.Read(ref last);
        if (cached is not null && cached.Value == milliseconds)
        {
            return cached.Text;
        }

        var text = milliseconds.ToString(CultureInfo.InvariantCulture);
        Volatile.Write(ref last, new NumberText(milliseconds, text));
        return text;
    }

    private sealed record NumberText(long Value, string Text);

    private static bool IsTransportFailure(Exception error, CancellationToken cancellationToken) =>
        error is HttpRequestException or TimeoutRejectedException or BrokenCircuitException
        || (error is OperationCanceledException && !cancellationToken.IsCancellationRequested);

    /// <summary>What a failed send says about the node: an open circuit, a refused TLS certificate (and why), or <paramref name="otherwise"/>.</summary>
    private string Describe(Exception error, string otherwise)
    {
        if (error is BrokenCircuitException)
        {
            return "has an open circuit";
        }

        for (var inner = error; inner is not null; inner = inner.InnerException)
        {
            if (inner is System.Security.Authentication.AuthenticationException)
            {
                return $"failed TLS authentication: {_certificateCheck?.LastRefusal ?? inner.Message}";
            }
        }

        return otherwise;
    }

    private SessionStoreUnavailableException Unavailable(string what, Exception? inner) =>
        inner is null
            ? new SessionStoreUnavailableException($"State node '{_options.NodeId}' ({_baseText}) {what}.") { NodeId = _options.NodeId }
            : new SessionStoreUnavailableException($"State node '{_options.NodeId}' ({_baseText}) {what}: {inner.Message}", inner) { NodeId = _options.NodeId };

    private static ResiliencePipeline<HttpResponseMessage> BuildCircuitBreakerPipeline(StateServerClientOptions options)
    {
        var nodeId = options.NodeId;
        var onOpened = options.OnCircuitOpened;
        return new ResiliencePipelineBuilder<HttpResponseMessage>()
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions<HttpResponseMessage>
            {
                FailureRatio = options.CircuitBreakerFailureRatio,
                MinimumThroughput = options.CircuitBreakerMinimumThroughput,
                SamplingDuration = options.CircuitBreakerSamplingDuration,
                BreakDuration = options.CircuitBreakerBreakDuration,
                ShouldHandle = static args => new ValueTask<bool>(IsNodeFailure(args.Outcome)),
                OnOpened = args =>
                {
                    onOpened?.Invoke(nodeId, args.Outcome.Exception);
                    return default;
                },
            })
            .Build();
    }

    private static ResiliencePipeline<HttpResponseMessage> BuildProbePipeline(StateServerClientOptions options) =>
        new ResiliencePipelineBuilder<HttpResponseMessage>().AddTimeout(options.ProbeTimeout).Build();

    /// <summary>What counts against the node: no answer, or a server error. Semantic answers (404, 423, 409…) do not.</summary>
    private static bool IsNodeFailure(Outcome<HttpResponseMessage> outcome) =>
        outcome.Exception is not null
            ? outcome.Exception is HttpRequestException or TimeoutRejectedException or IOException
            : (int)outcome.Result!.StatusCode is >= 500 and not StatusCodes507;
}
