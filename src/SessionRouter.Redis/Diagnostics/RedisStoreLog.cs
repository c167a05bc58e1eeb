using System.Net;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace SessionRouter.Redis.Diagnostics;

/// <summary>
/// Every log line of the Redis backend, source-generated, with its event id. Ids are unique within the
/// assembly: 1–99 the store (category <c>SessionRouter.Redis.RedisSessionStore</c>). No line carries a
/// session id or a key: failures are logged by node and operation.
/// </summary>
internal static partial class RedisStoreLog
{
    // The store: 1–99.

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Redis node {NodeId}: connecting to {Endpoints} endpoint(s).")]
    public static partial void Connecting(ILogger logger, string nodeId, int endpoints);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "Redis node {NodeId}: connection to {Endpoint} failed ({FailureType}).")]
    public static partial void ConnectionFailed(ILogger logger, string nodeId, EndPoint? endpoint, ConnectionFailureType failureType, Exception? exception);

    [LoggerMessage(EventId = 3, Level = LogLevel.Information, Message = "Redis node {NodeId}: connection to {Endpoint} restored.")]
    public static partial void ConnectionRestored(ILogger logger, string nodeId, EndPoint? endpoint);

    [LoggerMessage(EventId = 4, Level = LogLevel.Information, Message = "Redis node {NodeId}: script {Script} was not in the server's cache (restart or SCRIPT FLUSH); sent it again.")]
    public static partial void ScriptReloaded(ILogger logger, string nodeId, string script);

    [LoggerMessage(EventId = 5, Level = LogLevel.Warning, Message = "Redis node {NodeId}: {Operation} failed; the node is reported unavailable.")]
    public static partial void OperationFailed(ILogger logger, string nodeId, string operation, Exception exception);

    [LoggerMessage(EventId = 6, Level = LogLevel.Debug, Message = "Redis node {NodeId}: could not preload the scripts on {Endpoint}; they load on first use.")]
    public static partial void PreloadFailed(ILogger logger, string nodeId, EndPoint endpoint, Exception exception);

    [LoggerMessage(EventId = 7, Level = LogLevel.Warning, Message = "Redis node {NodeId}: memory limit reached (OOM); {Operation} refused with CapacityExceeded.")]
    public static partial void OutOfMemory(ILogger logger, string nodeId, string operation);

    [LoggerMessage(EventId = 8, Level = LogLevel.Warning, Message = "Redis node {NodeId}: a save was acknowledged by {Acknowledged} of the {Wanted} replicas WaitForReplicas asks for within {Timeout}; a failover now could lose it.")]
    public static partial void Unreplicated(ILogger logger, string nodeId, long acknowledged, int wanted, TimeSpan timeout);

    [LoggerMessage(EventId = 9, Level = LogLevel.Warning, Message = "Redis node {NodeId}: waiting for replicas after a save failed ({Error}); the save itself was applied.")]
    public static partial void WaitFailed(ILogger logger, string nodeId, string error);

    [LoggerMessage(EventId = 10, Level = LogLevel.Debug, Message = "Redis node {NodeId}: a contention announcement could not be published ({Error}); the holder keeps its lease until it ends on its own.")]
    public static partial void ContentionNotPublished(ILogger logger, string nodeId, string error);

    [LoggerMessage(EventId = 11, Level = LogLevel.Warning, Message = "Redis node {NodeId}: a message on the contention channel is not a contention announcement; ignored. Does another program publish on it?")]
    public static partial void MalformedContention(ILogger logger, string nodeId);
}
