using System.Buffers;
using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;
using SessionRouter.Core.Storage;
using SessionRouter.StateServer.Connections;
using SessionRouter.StateServer.Diagnostics;
using SessionRouter.StateServer.Storage;
using SessionRouter.StateServer.Wire;

namespace SessionRouter.StateServer.Protocol;

/// <summary>
/// The engine's whole HTTP surface in one request delegate (no routing, no MVC): MS-ASP on
/// <c>/&lt;application&gt;/&lt;id&gt;</c> plus the <c>X-SR-*</c> extensions, the batch and contention
/// endpoints and the health endpoint.
/// </summary>
internal sealed class StateServerRequestHandler
{
    private static readonly StringValues AspNetVersionValue = new(StateProtocol.AspNetVersionValue);
    private static readonly StringValues One = new("1");
    private static readonly StringValues TextPlain = new("text/plain; charset=utf-8");
    private static readonly StringValues Close = new("close");
    // Indexed by status value: StoreStatus's explicit values run from 0 without gaps.
    private static readonly StringValues[] StatusValues = Enum.GetValues<StoreStatus>().Select(s => new StringValues(s.ToString())).ToArray();

    /// <summary>Header texts of small numbers (timeouts in minutes, lock ages in seconds): formatted once, not per response.</summary>
    private static readonly StringValues[] SmallNumbers = Enumerable.Range(0, 1441).Select(i => new StringValues(i.ToString(CultureInfo.InvariantCulture))).ToArray();

    /// <summary>Bodies up to this size are written without a flush of their own.</summary>
    private const int UnflushedBodyLimit = 64 * 1024;

    private readonly InMemorySessionStore _store;
    private readonly AccessKeyGate _accessKey;
    private readonly int _maxItemBytes;
    private readonly ILogger _logger;
    private readonly BatchRequestHandler _batch;
    private readonly ContentionStreamHandler _contention;

    /// <param name="stopping">Cancelled when the node begins to stop: it ends the contention streams, which never end on their own.</param>
    public StateServerRequestHandler(InMemorySessionStore store, string? accessKey, ILogger logger, CancellationToken stopping = default)
    {
        _store = store;
        _batch = new BatchRequestHandler(store, Math.Max(store.Options.MaxItemBytes + (64L * 1024), StateProtocol.MinBatchLimitBytes));
        _contention = new ContentionStreamHandler(store, logger, stopping);
        _accessKey = new AccessKeyGate(accessKey);
        _maxItemBytes = store.Options.MaxItemBytes;
        _logger = logger;
    }

    public async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var response = context.Response;
        response.Headers[StateProtocol.AspNetVersion] = AspNetVersionValue;
        try
        {
            if (!_accessKey.Admit(context))
            {
                StateServerLog.Unauthorized(_logger, context.Connection.RemoteIpAddress);

                // A peer without the key gets its answer and loses the connection: it cannot keep a slot
                // open by sending one refused request after another.
                await WriteMessageAsync(response, StatusCodes.Status401Unauthorized, $"A valid {StateProtocol.AccessKey} header is required.");
                return;
            }

            var target = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? request.Path.Value ?? string.Empty;
            if (IsHealthTarget(target))
            {
                await WriteHealthAsync(request, response);
                return;
            }

            if (IsTarget(target, StateProtocol.BatchPath))
            {
                await BatchAsync(context);
                return;
            }

            if (IsTarget(target, StateProtocol.ContentionPath))
            {
                var (status, message) = await _contention.HandleAsync(context);
                if (message is not null)
                {
                    await WriteMessageAsync(response, status, message);
                }

                return;
            }

            if (!TryParseKey(target, out var key, out var keyError))
            {
                await BadRequestAsync(response, keyError);
                return;
            }

            var aborted = context.RequestAborted;
            switch (request.Method)
            {
                case "GET" or "DELETE" or "HEAD" when request.Headers.ContainsKey(StateProtocol.KeepLock):
                    // Only a write keeps its lock: a release or removal that silently dropped it would leave the
                    // caller believing it still holds the session.
                    await BadRequestAsync(response, $"{StateProtocol.KeepLock} belongs on a PUT only.");
                    break;
                case "GET":
                    await GetAsync(request, response, key, aborted);
                    break;
                case "PUT":
                    await PutAsync(request, response, key, aborted);
                    break;
                case "DELETE":
                    await DeleteAsync(request, response, key, aborted);
                    break;
                case "HEAD":
                    await WriteResultAsync(response, await _store.TouchAsync(key, aborted));
                    break;
                default:
                    response.Headers.Allow = "GET, PUT, DELETE, HEAD";
                    await WriteMessageAsync(response, StatusCodes.Status405MethodNotAllowed, $"Method {request.Method} is not part of the protocol.");
                    break;
            }
        }
        catch (BadHttpRequestException error)
        {
            if (!response.HasStarted)
            {
                response.Headers.Connection = Close;
                await WriteMessageAsync(response, error.StatusCode, error.Message);
            }
        }
        catch (IOException error) when (!context.RequestAborted.IsCancellationRequested && !response.HasStarted)
        {
            // Kestrel reports some malformed bodies as a plain IOException rather than a bad request (a chunk size
            // past what an int holds: "Bad chunk size data"); the body cannot be read, so it is the caller's error.
            response.Headers.Connection = Close;
            await WriteMessageAsync(response, StatusCodes.Status400BadRequest, $"The request body could not be read: {error.Message}");
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The caller went away (or the node is stopping): nothing to answer.
        }
    }

    private async Task BatchAsync(HttpContext context)
    {
        var (status, message) = await _batch.HandleAsync(context, context.RequestAborted);
        if (message is null)
        {
            return;
        }

        if (status == StatusCodes.Status400BadRequest)
        {
            await BadRequestAsync(context.Response, message);
            return;
        }

        if (status == StatusCodes.Status413PayloadTooLarge)
        {
            context.Response.Headers.Connection = Close;
        }

        await WriteMessageAsync(context.Response, status, message);
    }

    private async Task GetAsync(HttpRequest request, HttpResponse response, SessionKey key, CancellationToken aborted)
    {
        var headers = request.Headers;
        var exclusive = headers[StateProtocol.Exclusive];
        if (StringValues.IsNullOrEmpty(exclusive))
        {
            var read = await _store.GetAsync(key, aborted);
            if (read.Status == StoreStatus.Ok && read.Lock.IsHeld && !IsOne(headers[StateProtocol.ReadCommitted]))
            {
                // A classic non-exclusive read of a locked item answers 423.
                await WriteLockedAsync(response, StatusCodes.Status423Locked, StoreStatus.Locked, read.Lock);
                return;
            }

            await WriteReadAsync(response, read, withLock: read.Lock.IsHeld);
            return;
        }

        var mode = exclusive.ToString();
        if (mode.Equals("acquire", StringComparison.OrdinalIgnoreCase))
        {
            if (!TryReadMilliseconds(headers, StateProtocol.LockWait, out var wait, out var error)
                || !TryReadMilliseconds(headers, StateProtocol.LockTimeout, out var lockTimeout, out error)
                || !TryReadTimeout(headers, out var itemTimeout, out error)
                || !TryReadLong(headers, StateProtocol.LockId, out var proposedLockId, out error))
            {
                await BadRequestAsync(response, error);
                return;
            }

            if (proposedLockId is <= 0)
            {
                await BadRequestAsync(response, $"{StateProtocol.LockId} on an acquire must be a positive number (the lock id the caller proposes).");
                return;
            }

            var lockRequest = new LockRequest(wait ?? TimeSpan.Zero, lockTimeout, IsOne(headers[StateProtocol.CreateIfMissing]), itemTimeout, proposedLockId ?? 0);
            await WriteReadAsync(response, await _store.GetExclusiveAsync(key, lockRequest, aborted), withLock: true);
            return;
        }

        if (mode.Equals("release", StringComparison.OrdinalIgnoreCase))
        {
            if (!TryReadLock(headers, out var lockId, out var strict, out var error))
            {
                await BadRequestAsync(response, error);
                return;
            }

            if (lockId is null)
            {
                await BadRequestAsync(response, $"A release needs {StateProtocol.LockCookie}.");
                return;
            }

            var result = await _store.ReleaseAsync(key, lockId.Value, aborted);
            if (!strict && result.Status == StoreStatus.LockMismatch && !result.Lock.IsHeld)
            {
                // Classic clients release after a failed request; an item nobody holds needs nothing.
                result = new SessionWriteResult(StoreStatus.Ok);
            }

            await WriteResultAsync(response, result);
            return;
        }

        await BadRequestAsync(response, $"{StateProtocol.Exclusive} must be 'acquire' or 'release'.");
    }

    private async Task PutAsync(HttpRequest request, HttpResponse response, SessionKey key, CancellationToken aborted)
    {
        var headers = request.Headers;
        if (!TryReadTimeout(headers, out var timeout, out var error)
            || !TryReadLock(headers, out var lockId, out var strict, out error)
            || !TryReadFlags(headers, out var uninitialized, out error)
            || !TryReadLong(headers, StateProtocol.ExpectedVersion, out var expectedVersion, out error)
            || !TryReadVersion(headers, expectedVersion, uninitialized, out var version, out error)
            || !TryReadKeepLock(headers, strict, uninitialized, out var keepLock, out error))
        {
            await BadRequestAsync(response, error);
            return;
        }

        var contentLength = request.ContentLength;
        if (contentLength > _maxItemBytes)
        {
            await TooLargeAsync(response, contentLength.Value);
            return;
        }

        // The store copies the blob into its own exact-size array, so the body only needs a pooled buffer.
        using var body = await RequestBody.ReadAsync(request.BodyReader, _maxItemBytes, aborted);
        if (body.IsTooLarge)
        {
            await TooLargeAsync(response, null);
            return;
        }

        SessionWriteResult result;
        if (uninitialized)
        {
            result = await _store.CreateUninitializedAsync(key, body.Memory, timeout, aborted);
        }
        else
        {
            result = await _store.SetAsync(key, new SessionWrite(body.Memory, timeout, lockId, expectedVersion, version, keepLock), aborted);
            if (!strict && lockId is not null && result.Status == StoreStatus.LockMismatch && !result.Lock.IsHeld)
            {
                // Classic clients send their cookie with every PUT, also for a new or unlocked item: aspnet_state writes then.
                result = await _store.SetAsync(key, new SessionWrite(body.Memory, timeout, null, expectedVersion, version), aborted);
            }
        }

        if (result.Status == StoreStatus.AlreadyExists && uninitialized)
        {
            // ExtraFlags 1 never overwrites; a classic client expects success either way.
            response.Headers[StateProtocol.Status] = StatusValues[(int)StoreStatus.AlreadyExists];
            await WriteEmptyAsync(response, StatusCodes.Status200OK);
            return;
        }

        await WriteResultAsync(response, result);
    }

    private async Task DeleteAsync(HttpRequest request, HttpResponse response, SessionKey key, CancellationToken aborted)
    {
        if (!TryReadLock(request.Headers, out var lockId, out var strict, out var error))
        {
            await BadRequestAsync(response, error);
            return;
        }

        var result = await _store.RemoveAsync(key, lockId, aborted);
        if (!strict && lockId is not null && result.Status == StoreStatus.LockMismatch && !result.Lock.IsHeld)
        {
            result = await _store.RemoveAsync(key, null, aborted);
        }

        await WriteResultAsync(response, result);
    }

    private static Task WriteReadAsync(HttpResponse response, SessionReadResult read, bool withLock)
    {
        switch (read.Status)
        {
            case StoreStatus.Ok:
                var item = read.Item!;
                var headers = response.Headers;
                headers[StateProtocol.Timeout] = NumberText(ToMinutes(item.Timeout));
                if (item.IsUninitialized)
                {
                    headers[StateProtocol.ActionFlags] = One;
                }

                if (withLock && read.Lock.IsHeld)
                {
                    WriteLockHeaders(headers, read.Lock);
                }

                if (read.TookOver)
                {
                    headers[StateProtocol.TookOver] = One;
                }

                headers[StateProtocol.Version] = item.Version.ToString(CultureInfo.InvariantCulture);
                response.StatusCode = StatusCodes.Status200OK;
                response.ContentLength = item.Data.Length;
                if (item.Data.Length <= UnflushedBodyLimit)
                {
                    // Left in the pipe unflushed: Kestrel sends headers, data and the end of the stream in
                    // one write when the handler returns, instead of a flush now and another at the end.
                    response.BodyWriter.Write(item.Data.Span);
                    return Task.CompletedTask;
                }

                return response.Body.WriteAsync(item.Data).AsTask();
            case StoreStatus.NotFound:
                return WriteEmptyAsync(response, StatusCodes.Status404NotFound);
            case StoreStatus.Locked:
            case StoreStatus.WaitTimeout:
                return WriteLockedAsync(response, StatusCodes.Status423Locked, read.Status, read.Lock);
            case StoreStatus.QueueFull:
                return WriteLockedAsync(response, StatusCodes.Status429TooManyRequests, read.Status, read.Lock);
            case StoreStatus.CapacityExceeded:
                response.Headers[StateProtocol.Status] = StatusValues[(int)read.Status];
                return WriteMessageAsync(response, StatusCodes.Status507InsufficientStorage, "The state server's memory cap is reached: new sessions are refused until memory is freed.");
            default:
                response.Headers[StateProtocol.Status] = StatusValues[(int)read.Status];
                return WriteEmptyAsync(response, StatusCodes.Status500InternalServerError);
        }
    }

    private Task WriteResultAsync(HttpResponse response, SessionWriteResult result)
    {
        var headers = response.Headers;
        if (result.Version > 0)
        {
            headers[StateProtocol.Version] = result.Version.ToString(CultureInfo.InvariantCulture);
        }

        switch (result.Status)
        {
            case StoreStatus.Ok:
                return WriteEmptyAsync(response, StatusCodes.Status200OK);
            case StoreStatus.NotFound:
                return WriteEmptyAsync(response, StatusCodes.Status404NotFound);
            case StoreStatus.Locked:
            case StoreStatus.LockMismatch:
                return WriteLockedAsync(response, StatusCodes.Status423Locked, result.Status, result.Lock);
            case StoreStatus.VersionConflict:
            case StoreStatus.AlreadyExists:
                headers[StateProtocol.Status] = StatusValues[(int)result.Status];
                return WriteEmptyAsync(response, StatusCodes.Status409Conflict);
            case StoreStatus.TooLarge:
                return TooLargeAsync(response, null);
            case StoreStatus.CapacityExceeded:
                headers[StateProtocol.Status] = StatusValues[(int)result.Status];
                return WriteMessageAsync(response, StatusCodes.Status507InsufficientStorage, "The state server's memory cap is reached: new sessions are refused until memory is freed.");
            default:
                headers[StateProtocol.Status] = StatusValues[(int)result.Status];
                return WriteEmptyAsync(response, StatusCodes.Status500InternalServerError);
        }
    }

    private static Task WriteLockedAsync(HttpResponse response, int statusCode, StoreStatus status, SessionLock holder)
    {
        var headers = response.Headers;
        if (status != StoreStatus.Locked)
        {
            headers[StateProtocol.Status] = StatusValues[(int)status];
        }

        if (holder.IsHeld)
        {
            WriteLockHeaders(headers, holder);
        }

        return WriteEmptyAsync(response, statusCode);
    }

    private static void WriteLockHeaders(IHeaderDictionary headers, SessionLock holder)
    {
        headers[StateProtocol.LockCookie] = holder.LockId.ToString(CultureInfo.InvariantCulture);
        headers[StateProtocol.LockAge] = NumberText((long)holder.Age.TotalSeconds);
        headers[StateProtocol.LockDate] = holder.AcquiredAt.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        headers[StateProtocol.LockAgeMilliseconds] = NumberText((long)holder.Age.TotalMilliseconds);
    }

    private static Task WriteEmptyAsync(HttpResponse response, int statusCode)
    {
        response.StatusCode = statusCode;
        response.ContentLength = 0;
        return Task.CompletedTask;
    }

    private Task TooLargeAsync(HttpResponse response, long? length)
    {
        response.Headers[StateProtocol.Status] = StatusValues[(int)StoreStatus.TooLarge];
        response.Headers.Connection = Close;
        var size = length is { } known ? $"{known} bytes" : "more bytes";
        return WriteMessageAsync(response, StatusCodes.Status413PayloadTooLarge, $"The session item ({size}) exceeds the state server's MaxItemBytes of {_maxItemBytes} bytes.");
    }

    private Task BadRequestAsync(HttpResponse response, string message)
    {
        StateServerLog.BadRequest(_logger, message);
        return WriteMessageAsync(response, StatusCodes.Status400BadRequest, message);
    }

    private static Task WriteMessageAsync(HttpResponse response, int statusCode, string message)
    {
        var bytes = Encoding.UTF8.GetBytes(message);
        response.StatusCode = statusCode;
        response.ContentType = TextPlain;
        response.ContentLength = bytes.Length;
        return HttpMethods.IsHead(response.HttpContext.Request.Method) ? Task.CompletedTask : response.Body.WriteAsync(bytes).AsTask();
    }

    private Task WriteHealthAsync(HttpRequest request, HttpResponse response)
    {
        if (!HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method))
        {
            response.Headers.Allow = "GET, HEAD";
            return WriteMessageAsync(response, StatusCodes.Status405MethodNotAllowed, "The health endpoint answers GET and HEAD.");
        }

        var statistics = _store.GetStatistics();
        var json = string.Create(CultureInfo.InvariantCulture, $"{{\"status\":\"healthy\",\"sessions\":{statistics.ActiveSessions},\"bytes\":{statistics.BytesHeld}}}");
        var bytes = Encoding.UTF8.GetBytes(json);
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/json";
        response.ContentLength = bytes.Length;
        return HttpMethods.IsHead(request.Method) ? Task.CompletedTask : response.Body.WriteAsync(bytes).AsTask();
    }

    private static bool IsHealthTarget(string target) => IsTarget(target, StateProtocol.HealthPath);

    private static bool IsTarget(string target, string path) =>
        target.StartsWith(path, StringComparison.Ordinal)
        && (target.Length == path.Length || target[path.Length] == '?');

    /// <summary>
    /// MS-ASP's unique identifier is the whole path; classic clients escape the slash before the session
    /// id (<c>%2f</c>), so the raw target is unescaped first and split at its last slash.
    /// </summary>
    internal static bool TryParseKey(string target, out SessionKey key, out string error)
    {
        key = default;
        var query = target.IndexOf('?', StringComparison.Ordinal);
        var path = query >= 0 ? target[..query] : target;
        if (path.Length < 4 || path[0] != '/')
        {
            error = "The path must be /<application>/<session id>.";
            return false;
        }

        string decoded;
        try
        {
            decoded = path.Contains('%', StringComparison.Ordinal) ? Uri.UnescapeDataString(path) : path;
        }
        catch (UriFormatException)
        {
            error = "The path is not validly escaped.";
            return false;
        }

        var lastSlash = decoded.LastIndexOf('/');
        if (lastSlash <= 1 || lastSlash == decoded.Length - 1)
        {
            error = "The path must be /<application>/<session id>, both parts non-empty.";
            return false;
        }

        var id = decoded[(lastSlash + 1)..];
        if (Encoding.UTF8.GetByteCount(id) > StateProtocol.MaxSessionIdBytes)
        {
            error = $"The session id is longer than {StateProtocol.MaxSessionIdBytes} bytes.";
            return false;
        }

        key = new SessionKey(decoded[1..lastSlash], id);
        error = string.Empty;
        return true;
    }

    private static bool TryReadTimeout(IHeaderDictionary headers, out TimeSpan timeout, out string error)
    {
        timeout = TimeSpan.Zero;
        if (!TryReadLong(headers, StateProtocol.Timeout, out var minutes, out error))
        {
            return false;
        }

        if (minutes is null)
        {
            return true;
        }

        if (minutes is < 0 or > StateProtocol.MaxTimeoutMinutes)
        {
            error = $"{StateProtocol.Timeout} must be between 0 and {StateProtocol.MaxTimeoutMinutes} minutes.";
            return false;
        }

        timeout = TimeSpan.FromMinutes(minutes.Value);
        return true;
    }

    private static bool TryReadMilliseconds(IHeaderDictionary headers, string name, out TimeSpan? value, out string error)
    {
        value = null;
        if (!TryReadLong(headers, name, out var milliseconds, out error))
        {
            return false;
        }

        if (milliseconds is null)
        {
            return true;
        }

        if (milliseconds is < 0 or > int.MaxValue)
        {
            error = $"{name} must be between 0 and {int.MaxValue} milliseconds.";
            return false;
        }

        value = TimeSpan.FromMilliseconds(milliseconds.Value);
        return true;
    }

    /// <summary>
    /// The writer-assigned version of a PUT (<see cref="StateProtocol.Version"/>): positive, and neither with an
    /// expected version (the contract refuses a write that asks for both) nor on a create-uninitialized.
    /// </summary>
    private static bool TryReadVersion(IHeaderDictionary headers, long? expectedVersion, bool uninitialized, out long? version, out string error)
    {
        if (!TryReadLong(headers, StateProtocol.Version, out version, out error))
        {
            return false;
        }

        if (version is null)
        {
            return true;
        }

        if (version == 0)
        {
            error = $"{StateProtocol.Version} on a PUT must be a positive number (the version the writer assigns).";
            return false;
        }

        if (expectedVersion is not null)
        {
            error = $"A PUT carries {StateProtocol.Version} (the version the writer assigns) or {StateProtocol.ExpectedVersion} (a conditional write), never both.";
            return false;
        }

        if (uninitialized)
        {
            error = $"{StateProtocol.Version} cannot be combined with {StateProtocol.ExtraFlags}: 1 (create-uninitialized assigns no version).";
            return false;
        }

        return true;
    }

    /// <summary>
    /// <see cref="StateProtocol.KeepLock"/> on a PUT: exactly <c>1</c>, and only with the strict
    /// <see cref="StateProtocol.LockId"/> (a classic cookie's refused write is retried without a lock, which has
    /// no lock to keep) and never on a create-uninitialized.
    /// </summary>
    private static bool TryReadKeepLock(IHeaderDictionary headers, bool strictLock, bool uninitialized, out bool keepLock, out string error)
    {
        keepLock = false;
        error = string.Empty;
        if (!headers.TryGetValue(StateProtocol.KeepLock, out var raw))
        {
            return true;
        }

        if (!IsOne(raw))
        {
            error = $"{StateProtocol.KeepLock} must be 1.";
            return false;
        }

        if (!strictLock)
        {
            error = $"{StateProtocol.KeepLock} keeps the writer's lock: the PUT needs {StateProtocol.LockId}.";
            return false;
        }

        if (uninitialized)
        {
            error = $"{StateProtocol.KeepLock} cannot be combined with {StateProtocol.ExtraFlags}: 1 (create-uninitialized holds no lock).";
            return false;
        }

        keepLock = true;
        return true;
    }

    private static bool TryReadFlags(IHeaderDictionary headers, out bool uninitialized, out string error)
    {
        uninitialized = false;
        if (!TryReadLong(headers, StateProtocol.ExtraFlags, out var flags, out error))
        {
            return false;
        }

        if (flags is null or 0)
        {
            return true;
        }

        if (flags == 1)
        {
            uninitialized = true;
            return true;
        }

        error = $"{StateProtocol.ExtraFlags} must be 0 or 1.";
        return false;
    }

    /// <summary>Reads the strict extension lock id, else the classic cookie (either spelling).</summary>
    private static bool TryReadLock(IHeaderDictionary headers, out long? lockId, out bool strict, out string error)
    {
        if (!TryReadLong(headers, StateProtocol.LockId, out lockId, out error))
        {
            strict = true;
            return false;
        }

        strict = lockId is not null;
        if (strict)
        {
            return true;
        }

        if (!TryReadLong(headers, StateProtocol.LockCookie, out lockId, out error))
        {
            return false;
        }

        return lockId is not null || TryReadLong(headers, StateProtocol.LockCookieHyphenated, out lockId, out error);
    }

    private static bool TryReadLong(IHeaderDictionary headers, string name, out long? value, out string error)
    {
        value = null;
        error = string.Empty;
        if (!headers.TryGetValue(name, out var raw) || raw.Count == 0)
        {
            return true;
        }

        if (raw.Count == 1 && long.TryParse(raw[0].AsSpan().Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var parsed))
        {
            value = parsed;
            return true;
        }

        error = $"{name} must be one non-negative integer.";
        return false;
    }

    private static StringValues NumberText(long value) =>
        (ulong)value < (ulong)SmallNumbers.Length ? SmallNumbers[value] : new StringValues(value.ToString(CultureInfo.InvariantCulture));

    private static bool IsOne(StringValues value) => value.Count == 1 && value[0] == "1";

    private static long ToMinutes(TimeSpan timeout) => (long)Math.Ceiling(timeout.TotalMinutes);
}
