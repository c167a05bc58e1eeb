using System.Buffers.Text;
using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using SessionRouter.Core.Configuration;
using SessionRouter.Core.HeaderContract;
using SessionRouter.Core.Storage;
using SessionRouter.Gateway.Configuration;
using SessionRouter.Gateway.Cookies;
using SessionRouter.Gateway.Diagnostics;
using SessionRouter.Gateway.Nodes;

namespace SessionRouter.Gateway.Pipeline;

/// <summary>
/// The session half of the proxy pipeline, run after YARP matched a route and before it forwards:
/// strips client-sent contract headers, reads the cookie, resolves the session's node, loads the state
/// (taking the lock on read-write routes) and attaches the signed contract headers. The save happens in
/// <see cref="SessionResponseTransform"/> once the backend's headers arrive; whatever path the request
/// takes, this middleware releases a lock that is still held when the request ends.
/// </summary>
internal sealed partial class SessionMiddleware
{
    private readonly RequestDelegate _next;
    private readonly GatewaySnapshotProvider _snapshots;
    private readonly SessionCookieCodec _cookies;
    private readonly IGatewayNodeHealth _health;
    private readonly GatewayMetrics _metrics;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly StoreCallRecorder _calls;

    public SessionMiddleware(
        RequestDelegate next,
        GatewaySnapshotProvider snapshots,
        SessionCookieCodec cookies,
        IGatewayNodeHealth health,
        GatewayMetrics metrics,
        ILogger<SessionMiddleware> logger,
        TimeProvider time,
        StoreCallRecorder calls)
    {
        _calls = calls;
        _next = next;
        _snapshots = snapshots;
        _cookies = cookies;
        _health = health;
        _metrics = metrics;
        _logger = logger;
        _time = time;
    }

    public Task InvokeAsync(HttpContext context)
    {
        if (ContractHeaders.StripFromRequest(context.Request.Headers))
        {
            _metrics.HeadersStripped();
            Log.ClientContractHeadersStripped(_logger, context.Connection.RemoteIpAddress);
        }

        var mode = RouteSessionMode.Resolve(context, _snapshots.Current.Options.DefaultSessionMode);
        return mode == SessionMode.None ? _next(context) : InvokeWithSessionAsync(context, mode);
    }

    private async Task InvokeWithSessionAsync(HttpContext context, SessionMode mode)
    {
        var snapshot = _snapshots.Acquire();
        var state = new SessionRequestState(snapshot, mode);
        try
        {
            if (await LoadAsync(context, state).ConfigureAwait(false))
            {
                context.Features.Set(state);
                await _next(context).ConfigureAwait(false);
            }
        }
        finally
        {
            if (state.LockHeld)
            {
                // No response reached the transform (backend error or timeout, client gone) or the save
                // was refused before the store was written: give the lock back so the session is not stuck.
                await ReleaseLeftoverLockAsync(state).ConfigureAwait(false);
            }

            snapshot.Exit();
        }
    }

    /// <summary>Loads the session; false when an error response has been written instead.</summary>
    private async ValueTask<bool> LoadAsync(HttpContext context, SessionRequestState state)
    {
        var snapshot = state.Snapshot;
        var sessionId = ReadSessionCookie(context, snapshot);
        if (sessionId is null)
        {
            sessionId = SessionCookieCodec.NewSessionId();
            state.IsNew = true;
            state.CreateOnSave = true;
        }

        state.Key = new SessionKey(snapshot.ApplicationName, sessionId);
        var position = snapshot.SelectHealthy(sessionId, 0, _health, out var nodeIndex);
        ReadOnlyMemory<byte> data = default;
        while (true)
        {
            if (position < 0)
            {
                return await NoHealthyNodeAsync(context, state).ConfigureAwait(false);
            }

            state.Position = position;
            state.NodeIndex = nodeIndex;
            if (state.IsNew)
            {
                // Nobody else knows a freshly minted id: no lock and no read; its first save is create-only.
                break;
            }

            var node = snapshot.Nodes[nodeIndex];
            try
            {
                if (state.Mode == SessionMode.ReadWrite)
                {
                    // Never abandoned halfway, even when the client goes away: the node may already have granted
                    // the lock, and a reply dropped on cancellation would leave the session locked until the lock
                    // timeout. The call is bounded by the attempt timeout plus the lock wait; once it returns, a
                    // gone client's request ends early and the lock is released below.
                    var started = _calls.Starting();
                    var result = await node.Store.GetExclusiveAsync(state.Key, snapshot.ExclusiveRead, CancellationToken.None).ConfigureAwait(false);
                    _calls.Answered(node, started, GatewayMetrics.StoreOperation.Load);
                    if (result.Status == StoreStatus.Ok)
                    {
                        state.LockId = result.Lock.LockId;
                        state.LockHeld = true;
                        data = result.Item?.Data ?? default;
                        if (result.TookOver)
                        {
                            Log.LockTakenOver(_logger, state.Key.SessionId, node.Id);
                        }
                    }
                    else if (result.Status == StoreStatus.NotFound)
                    {
                        // The store did not create the item; the first save creates it (create-only).
                        state.CreateOnSave = true;
                    }
                    else
                    {
                        await RefuseLoadAsync(context, state, node, result.Status).ConfigureAwait(false);
                        return false;
                    }
                }
                else
                {
                    var started = _calls.Starting();
                    var result = await node.Store.GetAsync(state.Key, context.RequestAborted).ConfigureAwait(false);
                    _calls.Answered(node, started, GatewayMetrics.StoreOperation.Read);
                    if (result.Status == StoreStatus.Ok)
                    {
                        data = result.Item?.Data ?? default;
                    }
                }

                break;
            }
            catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
            {
                throw;
            }
#pragma warning disable CA1031 // Any failure of a node's client fails that node over; the request goes on with the next one.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                _calls.Failed(node, ex);
                Log.LoadFailedOver(_logger, state.Key.SessionId, node.Id, ex.Message);
                position = snapshot.SelectHealthy(sessionId, position + 1, _health, out nodeIndex);
            }
        }

        AttachRequestHeaders(context.Request.Headers, state, data.Span, state.Mode == SessionMode.ReadWrite ? SessionModeValues.ReadWrite : SessionModeValues.ReadOnly);
        return true;
    }

    private string? ReadSessionCookie(HttpContext context, GatewaySnapshot snapshot)
    {
        var value = context.Request.Cookies[snapshot.Options.Cookie.Name];
        if (value is null)
        {
            return null;
        }

        if (_cookies.TryUnprotect(value, out var sessionId))
        {
            return sessionId;
        }

        _metrics.CookieRejected();
        Log.CookieRejected(_logger, context.Connection.RemoteIpAddress, value.Length);
        return null;
    }

    private async ValueTask<bool> NoHealthyNodeAsync(HttpContext context, SessionRequestState state)
    {
        _metrics.NoHealthyNode();
        var snapshot = state.Snapshot;
        Log.NoHealthyNode(_logger, state.Key.SessionId, snapshot.Options.WhenNoHealthyNode);
        if (snapshot.Options.WhenNoHealthyNode == NoHealthyNodeBehavior.ForwardWithoutSession)
        {
            state.Unavailable = true;
            state.NodeIndex = -1;
            AttachRequestHeaders(context.Request.Headers, state, default, SessionModeValues.Unavailable);
            return true;
        }

        await GatewayResponses.WriteAsync(context.Response, StatusCodes.Status503ServiceUnavailable, GatewayResponses.NoHealthyNode, snapshot.RetryAfterSeconds).ConfigureAwait(false);
        return false;
    }

    private async ValueTask RefuseLoadAsync(HttpContext context, SessionRequestState state, StateNodeHandle node, StoreStatus status)
    {
        var snapshot = state.Snapshot;
        if (status is StoreStatus.Locked or StoreStatus.WaitTimeout or StoreStatus.QueueFull)
        {
            _metrics.LockRefused();
            Log.LockBusy(_logger, state.Key.SessionId, node.Id, status);
            await GatewayResponses.WriteAsync(context.Response, StatusCodes.Status503ServiceUnavailable, GatewayResponses.LockBusy, 1).ConfigureAwait(false);
            return;
        }

        _metrics.SaveRefused();
        Log.LoadRefused(_logger, state.Key.SessionId, node.Id, status);
        if (status == StoreStatus.CapacityExceeded)
        {
            await GatewayResponses.WriteAsync(context.Response, StatusCodes.Status503ServiceUnavailable, GatewayResponses.StoreFull, snapshot.RetryAfterSeconds).ConfigureAwait(false);
            return;
        }

        await GatewayResponses.WriteAsync(context.Response, StatusCodes.Status502BadGateway, GatewayResponses.StoreRefused).ConfigureAwait(false);
    }

    private void AttachRequestHeaders(IHeaderDictionary headers, SessionRequestState state, ReadOnlySpan<byte> data, string mode)
    {
        var sessionId = state.Unavailable ? "" : state.Key.SessionId;
        string? encoded = data.IsEmpty ? null : Base64Url.EncodeToString(data);
        var timestamp = _time.GetUtcNow().ToUnixTimeSeconds();
        if (sessionId.Length > 0)
        {
            headers[SessionHeaders.Id] = sessionId;
        }

        headers[SessionHeaders.Mode] = mode;
        if (encoded is not null)
        {
            headers[SessionHeaders.State] = encoded;
        }

        headers[SessionHeaders.Timestamp] = timestamp.ToString(CultureInfo.InvariantCulture);
        headers[SessionHeaders.Signature] = state.Snapshot.Signature.Sign(sessionId, mode, timestamp, encoded);
    }

    private async ValueTask ReleaseLeftoverLockAsync(SessionRequestState state)
    {
        state.LockHeld = false;
        var node = state.Snapshot.Nodes[state.NodeIndex];
        try
        {
            var started = _calls.Starting();
            var result = await node.Store.ReleaseAsync(state.Key, state.LockId, CancellationToken.None).ConfigureAwait(false);
            _calls.Answered(node, started, GatewayMetrics.StoreOperation.Release);
            Log.LockReleasedWithoutResponse(_logger, state.Key.SessionId, node.Id, result.Status);
        }
#pragma warning disable CA1031 // The node is failing; its lock expires with the lock timeout. Never fail the request's end for it.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            _calls.Failed(node, ex);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 100, Level = LogLevel.Information, Message = "Removed SessionRouter-* headers sent by client {RemoteAddress}; only the gateway sets them.")]
        public static partial void ClientContractHeadersStripped(ILogger logger, System.Net.IPAddress? remoteAddress);

        [LoggerMessage(EventId = 101, Level = LogLevel.Information, Message = "Session cookie from {RemoteAddress} ({Length} chars) is garbled, tampered with or protected with an unknown key; starting a new session.")]
        public static partial void CookieRejected(ILogger logger, System.Net.IPAddress? remoteAddress, int length);

        [LoggerMessage(EventId = 102, Level = LogLevel.Warning, Message = "No healthy state node for session {SessionId}; behaviour: {Behavior}.")]
        public static partial void NoHealthyNode(ILogger logger, string sessionId, NoHealthyNodeBehavior behavior);

        [LoggerMessage(EventId = 103, Level = LogLevel.Warning, Message = "Session {SessionId} lock on node {NodeId} not obtained ({Status}); answered 503.")]
        public static partial void LockBusy(ILogger logger, string sessionId, string nodeId, StoreStatus status);

        [LoggerMessage(EventId = 104, Level = LogLevel.Warning, Message = "Node {NodeId} refused to load session {SessionId}: {Status}.")]
        public static partial void LoadRefused(ILogger logger, string sessionId, string nodeId, StoreStatus status);

        [LoggerMessage(EventId = 105, Level = LogLevel.Warning, Message = "Loading session {SessionId} from node {NodeId} failed ({Error}); trying the next healthy node of its list.")]
        public static partial void LoadFailedOver(ILogger logger, string sessionId, string nodeId, string error);

        [LoggerMessage(EventId = 106, Level = LogLevel.Warning, Message = "Session {SessionId} on node {NodeId}: took over a lock older than the lock timeout; the old holder's save will be refused.")]
        public static partial void LockTakenOver(ILogger logger, string sessionId, string nodeId);

        [LoggerMessage(EventId = 107, Level = LogLevel.Information, Message = "Session {SessionId} on node {NodeId}: released the lock of a request that got no usable response ({Status}).")]
        public static partial void LockReleasedWithoutResponse(ILogger logger, string sessionId, string nodeId, StoreStatus status);
    }
}
