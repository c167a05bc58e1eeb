using System.Buffers.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using SessionRouter.Core.Configuration;
using SessionRouter.Core.HeaderContract;
using SessionRouter.Core.Storage;
using SessionRouter.Gateway.Cookies;
using SessionRouter.Gateway.Diagnostics;
using SessionRouter.Gateway.Nodes;
using Yarp.ReverseProxy.Transforms;

namespace SessionRouter.Gateway.Pipeline;

/// <summary>
/// Runs when the backend's response headers have arrived and before anything is sent to the client:
/// removes every contract header from the response, then saves the new state with the request's lock
/// (set-and-release), removes an abandoned session, or releases the lock. Because the save completes
/// before the client sees the response, the client's next request always sees the write.
/// </summary>
internal sealed partial class SessionResponseTransform : ResponseTransform
{
    private readonly SessionCookieCodec _cookies;
    private readonly IGatewayNodeHealth _health;
    private readonly GatewayMetrics _metrics;
    private readonly ILogger _logger;
    private readonly StoreCallRecorder _calls;

    public SessionResponseTransform(SessionCookieCodec cookies, IGatewayNodeHealth health, GatewayMetrics metrics, ILogger<SessionResponseTransform> logger, StoreCallRecorder calls)
    {
        _calls = calls;
        _cookies = cookies;
        _health = health;
        _metrics = metrics;
        _logger = logger;
    }

    public override ValueTask ApplyAsync(ResponseTransformContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var proxyResponse = context.ProxyResponse;
        if (proxyResponse is null)
        {
            // The backend did not answer; YARP writes its 502/504 and the middleware releases the lock.
            return default;
        }

        var http = context.HttpContext;
        string? newState = null;
        var abandon = false;
        var any = false;
        foreach (var header in proxyResponse.Headers.NonValidated)
        {
            if (!SessionHeaders.IsContractHeader(header.Key))
            {
                continue;
            }

            any = true;
            if (string.Equals(header.Key, SessionHeaders.State, StringComparison.OrdinalIgnoreCase))
            {
                newState = header.Value.ToString();
            }
            else if (string.Equals(header.Key, SessionHeaders.Abandon, StringComparison.OrdinalIgnoreCase))
            {
                abandon = true;
            }

            http.Response.Headers.Remove(header.Key);
        }

        var state = http.Features.Get<SessionRequestState>();
        if (state is null)
        {
            if (any)
            {
                Log.ContractHeadersOnSessionlessRoute(_logger, http.Request.Path.Value);
            }

            return default;
        }

        if (state.Mode != SessionMode.ReadWrite || state.Unavailable)
        {
            if (newState is not null || abandon)
            {
                Log.StateIgnored(_logger, state.Key.SessionId, state.Unavailable ? SessionModeValues.Unavailable : SessionModeValues.ReadOnly, http.Request.Path.Value);
            }

            return default;
        }

        if (abandon)
        {
            return AbandonAsync(context, state);
        }

        if (newState is not null)
        {
            return SaveAsync(context, state, newState);
        }

        return state.LockHeld ? ReleaseAsync(state) : default;
    }

    private async ValueTask SaveAsync(ResponseTransformContext context, SessionRequestState state, string encoded)
    {
        var snapshot = state.Snapshot;
        if (encoded.Length > snapshot.MaxEncodedStateChars)
        {
            _metrics.StateRejected();
            Log.StateTooLarge(_logger, state.Key.SessionId, Base64Url.GetMaxDecodedLength(encoded.Length), snapshot.Options.MaxStateBytes);
            await RespondAsync(context, StatusCodes.Status502BadGateway, GatewayResponses.StateTooLarge).ConfigureAwait(false);
            return;
        }

        var buffer = new byte[Base64Url.GetMaxDecodedLength(encoded.Length)];
        // The OperationStatus overload reports bad characters instead of throwing.
        if (Base64Url.DecodeFromChars(encoded, buffer, out _, out var length) != System.Buffers.OperationStatus.Done)
        {
            _metrics.StateRejected();
            Log.StateInvalid(_logger, state.Key.SessionId);
            await RespondAsync(context, StatusCodes.Status502BadGateway, GatewayResponses.StateInvalid).ConfigureAwait(false);
            return;
        }

        var data = new ReadOnlyMemory<byte>(buffer, 0, length);
        var timeout = snapshot.Options.IdleTimeout;
        var write = new SessionWrite(data, timeout, state.LockHeld ? state.LockId : null, state.CreateOnSave ? 0 : null);
        var node = snapshot.Nodes[state.NodeIndex];
        SessionWriteResult result;
        try
        {
            var started = _calls.Starting();
            result = await node.Store.SetAsync(state.Key, write, CancellationToken.None).ConfigureAwait(false);
            _calls.Answered(node, started, GatewayMetrics.StoreOperation.Save);
        }
#pragma warning disable CA1031 // A failing node's save goes to the next node of the session's list.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            // The failed node's lock is unreachable now; it expires there with the lock timeout.
            state.LockHeld = false;
            _calls.Failed(node, ex);
            var saved = await SaveToNextNodeAsync(state, data, timeout, ex).ConfigureAwait(false);
            if (saved is null)
            {
                await RespondAsync(context, StatusCodes.Status503ServiceUnavailable, GatewayResponses.StoreFailed, snapshot.RetryAfterSeconds).ConfigureAwait(false);
                return;
            }

            result = saved.Value;
        }

        switch (result.Status)
        {
            case StoreStatus.Ok:
                state.LockHeld = false;
                if (state.IsNew)
                {
                    IssueCookie(context.HttpContext, state);
                }

                return;
            case StoreStatus.LockMismatch:
                // Our lock was taken over after the lock timeout: the store refused the late write.
                state.LockHeld = false;
                _metrics.SaveRefused();
                Log.LateSaveRefused(_logger, state.Key.SessionId, node.Id, snapshot.Options.LockTimeout);
                await RespondAsync(context, StatusCodes.Status409Conflict, GatewayResponses.LockLost).ConfigureAwait(false);
                return;
            case StoreStatus.TooLarge:
                _metrics.SaveRefused();
                Log.SaveRefused(_logger, state.Key.SessionId, node.Id, result.Status);
                await RespondAsync(context, StatusCodes.Status502BadGateway, GatewayResponses.StateTooLarge).ConfigureAwait(false);
                return;
            case StoreStatus.CapacityExceeded:
            case StoreStatus.Locked:
                _metrics.SaveRefused();
                Log.SaveRefused(_logger, state.Key.SessionId, node.Id, result.Status);
                await RespondAsync(context, StatusCodes.Status503ServiceUnavailable, result.Status == StoreStatus.Locked ? GatewayResponses.LockBusy : GatewayResponses.StoreFull, snapshot.RetryAfterSeconds).ConfigureAwait(false);
                return;
            default:
                _metrics.SaveRefused();
                Log.SaveRefused(_logger, state.Key.SessionId, node.Id, result.Status);
                await RespondAsync(context, StatusCodes.Status502BadGateway, GatewayResponses.StoreRefused).ConfigureAwait(false);
                return;
        }
    }

    /// <summary>The session's node failed between load and save: write to the next healthy node of its list.</summary>
    private async ValueTask<SessionWriteResult?> SaveToNextNodeAsync(SessionRequestState state, ReadOnlyMemory<byte> data, TimeSpan timeout, Exception firstError)
    {
        var snapshot = state.Snapshot;
        var position = snapshot.SelectHealthy(state.Key.SessionId, state.Position + 1, _health, out var nodeIndex);
        while (position >= 0)
        {
            var node = snapshot.Nodes[nodeIndex];
            try
            {
                var started = _calls.Starting();
                var result = await node.Store.SetAsync(state.Key, new SessionWrite(data, timeout, null, state.IsNew ? 0 : null), CancellationToken.None).ConfigureAwait(false);
                _calls.Answered(node, started, GatewayMetrics.StoreOperation.Save);
                _metrics.FailoverSave();
                Log.SavedToNextNode(_logger, state.Key.SessionId, snapshot.Nodes[state.NodeIndex].Id, node.Id, firstError.Message, result.Status);
                state.NodeIndex = nodeIndex;
                state.Position = position;
                return result;
            }
#pragma warning disable CA1031 // Each failing node is reported and skipped; the caller answers 503 when none is left.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                _calls.Failed(node, ex);
                position = snapshot.SelectHealthy(state.Key.SessionId, position + 1, _health, out nodeIndex);
            }
        }

        Log.SaveLost(_logger, state.Key.SessionId, firstError.Message);
        return null;
    }

    private async ValueTask AbandonAsync(ResponseTransformContext context, SessionRequestState state)
    {
        ExpireCookie(context.HttpContext, state);
        if (state.IsNew)
        {
            return;
        }

        var node = state.Snapshot.Nodes[state.NodeIndex];
        try
        {
            var started = _calls.Starting();
            var result = await node.Store.RemoveAsync(state.Key, state.LockHeld ? state.LockId : null, CancellationToken.None).ConfigureAwait(false);
            _calls.Answered(node, started, GatewayMetrics.StoreOperation.Remove);
            state.LockHeld = false;
            if (result.Status is not (StoreStatus.Ok or StoreStatus.NotFound))
            {
                _metrics.SaveRefused();
                Log.SaveRefused(_logger, state.Key.SessionId, node.Id, result.Status);
                await RespondAsync(context, StatusCodes.Status409Conflict, GatewayResponses.LockLost).ConfigureAwait(false);
            }
        }
#pragma warning disable CA1031 // The removal did not happen: say so rather than pretend the session is gone.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            state.LockHeld = false;
            _calls.Failed(node, ex);
            await RespondAsync(context, StatusCodes.Status503ServiceUnavailable, GatewayResponses.StoreFailed, state.Snapshot.RetryAfterSeconds).ConfigureAwait(false);
        }
    }

    private async ValueTask ReleaseAsync(SessionRequestState state)
    {
        state.LockHeld = false;
        var node = state.Snapshot.Nodes[state.NodeIndex];
        try
        {
            var started = _calls.Starting();
            var result = await node.Store.ReleaseAsync(state.Key, state.LockId, CancellationToken.None).ConfigureAwait(false);
            _calls.Answered(node, started, GatewayMetrics.StoreOperation.Release);
            if (result.Status == StoreStatus.LockMismatch)
            {
                Log.ReleaseAfterTakeover(_logger, state.Key.SessionId, node.Id);
            }
        }
#pragma warning disable CA1031 // Nothing was to be written; a failed release expires with the lock timeout.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            _calls.Failed(node, ex);
        }
    }

    private void IssueCookie(HttpContext http, SessionRequestState state)
    {
        _metrics.SessionCreated();
        var cookie = state.Snapshot.Options.Cookie;
        http.Response.Cookies.Append(cookie.Name, _cookies.Protect(state.Key.SessionId), CookieOptionsFor(cookie));
    }

    private static void ExpireCookie(HttpContext http, SessionRequestState state)
    {
        var cookie = state.Snapshot.Options.Cookie;
        http.Response.Cookies.Delete(cookie.Name, CookieOptionsFor(cookie));
    }

    private static CookieOptions CookieOptionsFor(SessionCookieOptions cookie) => new()
    {
        Path = cookie.Path,
        Domain = cookie.Domain,
        Secure = cookie.Secure,
        HttpOnly = true,
        SameSite = SameSiteMode.Lax,
        IsEssential = true,
    };

    private static async ValueTask RespondAsync(ResponseTransformContext context, int statusCode, string message, int retryAfterSeconds = 0)
    {
        // Replace the backend's response entirely: its body is not sent, its headers do not apply.
        context.SuppressResponseBody = true;
        var response = context.HttpContext.Response;
        response.Headers.Clear();
        await GatewayResponses.WriteAsync(response, statusCode, message, retryAfterSeconds).ConfigureAwait(false);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 200, Level = LogLevel.Warning, Message = "Response of {Path} carried SessionRouter-* headers on a route without session; removed.")]
        public static partial void ContractHeadersOnSessionlessRoute(ILogger logger, string? path);

        [LoggerMessage(EventId = 201, Level = LogLevel.Warning, Message = "Session {SessionId}: the response of {Path} on a {Mode} request carried new state or an abandon marker; ignored (only read-write routes save).")]
        public static partial void StateIgnored(ILogger logger, string sessionId, string mode, string? path);

        [LoggerMessage(EventId = 202, Level = LogLevel.Error, Message = "Session {SessionId}: the backend returned {Bytes} bytes of state, above MaxStateBytes ({Limit}); answered 502, the stored state is kept.")]
        public static partial void StateTooLarge(ILogger logger, string sessionId, int bytes, int limit);

        [LoggerMessage(EventId = 203, Level = LogLevel.Error, Message = "Session {SessionId}: the backend's state header is not base64url; answered 502, the stored state is kept.")]
        public static partial void StateInvalid(ILogger logger, string sessionId);

        [LoggerMessage(EventId = 204, Level = LogLevel.Warning, Message = "Session {SessionId} on node {NodeId}: save refused because the lock was taken over (held longer than LockTimeout {LockTimeout}); the late write was not applied.")]
        public static partial void LateSaveRefused(ILogger logger, string sessionId, string nodeId, TimeSpan lockTimeout);

        [LoggerMessage(EventId = 205, Level = LogLevel.Warning, Message = "Session {SessionId} on node {NodeId}: save refused ({Status}).")]
        public static partial void SaveRefused(ILogger logger, string sessionId, string nodeId, StoreStatus status);

        [LoggerMessage(EventId = 206, Level = LogLevel.Warning, Message = "Session {SessionId}: node {FailedNodeId} failed at save ({Error}); saved to node {NodeId} instead ({Status}).")]
        public static partial void SavedToNextNode(ILogger logger, string sessionId, string failedNodeId, string nodeId, string error, StoreStatus status);

        [LoggerMessage(EventId = 207, Level = LogLevel.Error, Message = "Session {SessionId}: no node could take the save ({Error}); answered 503, the changes were not saved.")]
        public static partial void SaveLost(ILogger logger, string sessionId, string error);

        [LoggerMessage(EventId = 208, Level = LogLevel.Information, Message = "Session {SessionId} on node {NodeId}: the lock had been taken over before this request released it.")]
        public static partial void ReleaseAfterTakeover(ILogger logger, string sessionId, string nodeId);
    }
}
