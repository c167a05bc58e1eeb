using Microsoft.Extensions.Logging;

namespace SessionRouter.AspNetCore.Diagnostics;

/// <summary>
/// Every log line of the library, source-generated, with its event id (category
/// <c>SessionRouter.AspNetCore.Session.SessionRouterSessionMiddleware</c>). Ids are unique within the
/// assembly: 1–99 the session middleware and the session it hands the application. A session id appears
/// only as <see cref="Core.Diagnostics.SessionIdText.Redact"/> makes it.
/// </summary>
internal static partial class Log
{
    // Session middleware and session: 1–99.

    [LoggerMessage(EventId = 1, Level = LogLevel.Warning,
        Message = "{Method} {Path}: the SessionRouter headers failed verification ({Reason}); the request runs without a session.")]
    public static partial void RequestUnverified(ILogger logger, string method, string path, string reason);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning,
        Message = "{Method} {Path}: the SessionRouter headers failed verification ({Reason}); answered 403 (SessionRouter:RejectInvalidRequests).")]
    public static partial void RequestRejected(ILogger logger, string method, string path, string reason);

    [LoggerMessage(EventId = 3, Level = LogLevel.Error,
        Message = "The state blob of session {SessionIdPrefix} cannot be read ({Reason}); the request runs without a session and the stored state is left as it is.")]
    public static partial void StateUnreadable(ILogger logger, string sessionIdPrefix, string reason);

    [LoggerMessage(EventId = 4, Level = LogLevel.Error,
        Message = "Session {SessionIdPrefix}: the state is {StateBytes} bytes, more than SessionRouter:MaxStateBytes ({MaxStateBytes}); this request's changes are not sent.")]
    public static partial void StateTooLarge(ILogger logger, string sessionIdPrefix, int stateBytes, int maxStateBytes);

    [LoggerMessage(EventId = 5, Level = LogLevel.Debug, Message = "Session {SessionIdPrefix}: {StateBytes} bytes of changed state sent to the gateway.")]
    public static partial void StateSent(ILogger logger, string sessionIdPrefix, int stateBytes);

    [LoggerMessage(EventId = 6, Level = LogLevel.Debug, Message = "Session {SessionIdPrefix}: abandoned; the gateway removes it and expires the cookie.")]
    public static partial void SessionAbandoned(ILogger logger, string sessionIdPrefix);

    [LoggerMessage(EventId = 7, Level = LogLevel.Debug, Message = "{Method} {Path}: the gateway had no state node for this request; it runs without a session.")]
    public static partial void NodeUnavailable(ILogger logger, string method, string path);

    [LoggerMessage(EventId = 8, Level = LogLevel.Error,
        Message = "Session {SessionIdPrefix}: the response started while the changed state could not be sent; the response status is set to 500.")]
    public static partial void ResponseStartFailed(ILogger logger, string sessionIdPrefix, Exception exception);
}
