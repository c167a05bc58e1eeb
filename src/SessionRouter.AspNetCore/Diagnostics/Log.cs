using Microsoft.Extensions.Logging;

namespace SessionRouter.AspNetCore.Diagnostics;

/// <summary>Every log line of the library, source-generated.</summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Warning,
        "{Method} {Path}: the SessionRouter headers failed verification ({Reason}); the request runs without a session.")]
    public static partial void RequestUnverified(ILogger logger, string method, string path, string reason);

    [LoggerMessage(2, LogLevel.Warning,
        "{Method} {Path}: the SessionRouter headers failed verification ({Reason}); answered 403 (SessionRouter:RejectInvalidRequests).")]
    public static partial void RequestRejected(ILogger logger, string method, string path, string reason);

    [LoggerMessage(3, LogLevel.Error,
        "The state blob of session {SessionIdPrefix}… cannot be read ({Reason}); the request runs without a session and the stored state is left as it is.")]
    public static partial void StateUnreadable(ILogger logger, string sessionIdPrefix, string reason);

    [LoggerMessage(4, LogLevel.Error,
        "Session {SessionIdPrefix}…: the state is {StateBytes} bytes, more than SessionRouter:MaxStateBytes ({MaxStateBytes}); this request's changes are not sent.")]
    public static partial void StateTooLarge(ILogger logger, string sessionIdPrefix, int stateBytes, int maxStateBytes);

    [LoggerMessage(5, LogLevel.Debug, "Session {SessionIdPrefix}…: {StateBytes} bytes of changed state sent to the gateway.")]
    public static partial void StateSent(ILogger logger, string sessionIdPrefix, int stateBytes);

    [LoggerMessage(6, LogLevel.Debug, "Session {SessionIdPrefix}…: abandoned; the gateway removes it and expires the cookie.")]
    public static partial void SessionAbandoned(ILogger logger, string sessionIdPrefix);

    [LoggerMessage(7, LogLevel.Debug, "{Method} {Path}: the gateway had no state node for this request; it runs without a session.")]
    public static partial void NodeUnavailable(ILogger logger, string method, string path);

    [LoggerMessage(8, LogLevel.Error,
        "Session {SessionIdPrefix}…: the response started while the changed state could not be sent; the response status is set to 500.")]
    public static partial void ResponseStartFailed(ILogger logger, string sessionIdPrefix, Exception exception);

    /// <summary>Session ids are bearer secrets: logs show only their first characters.</summary>
    public static string Prefix(string? sessionId)
        => sessionId is null ? "" : sessionId.Length <= 6 ? sessionId : sessionId[..6];
}
