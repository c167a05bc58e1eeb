using System.Net;
using Microsoft.Extensions.Logging;
using SessionRouter.Core.Configuration;
using SessionRouter.Core.Storage;

namespace SessionRouter.Gateway.Diagnostics;

/// <summary>
/// Every log message of the gateway, with its event id: 10–19 configuration, 100–119 a session's exchange
/// with its nodes, 120–129 headers, 130–139 leases. Session ids are secrets (a cookie's content): messages carry only what
/// <see cref="Core.Diagnostics.SessionIdText.Redact"/> shows of them, as the sites' logs do.
/// </summary>
internal static partial class GatewayLog
{
    // Configuration.

    [LoggerMessage(10, LogLevel.Information, "Applied the SessionRouter section of {Source}: revision {Revision}, {NodeCount} nodes, partition map rebuilt: {MapRebuilt}.")]
    public static partial void EditApplied(ILogger logger, string source, long revision, int nodeCount, bool mapRebuilt);

    [LoggerMessage(11, LogLevel.Error, "Refused the edit of {Source}; revision {Revision} stays in force. Invalid settings: {Errors}")]
    public static partial void EditRefused(ILogger logger, string source, long revision, string errors);

    [LoggerMessage(12, LogLevel.Error, "Could not apply the edit of {Source}; the last good configuration stays in force.")]
    public static partial void ReloadFailed(ILogger logger, string source, Exception error);

    [LoggerMessage(13, LogLevel.Warning, "Disposing the client of removed state node {NodeId} failed.")]
    public static partial void NodeDisposeFailed(ILogger logger, string nodeId, Exception error);

    [LoggerMessage(14, LogLevel.Information, "Ended the handover of {Count} replaced partition map(s) (revision {Revision} in force): sessions they held have expired; nodes no longer in the map are disconnected.")]
    public static partial void HandoversEnded(ILogger logger, int count, long revision);

    [LoggerMessage(15, LogLevel.Error, "Refused the edit of {Source}, which cannot be read: {Reason}. Revision {Revision} and YARP's routes stay in force; the next valid save applies.")]
    public static partial void UnreadableEditRefused(ILogger logger, string source, string reason, long revision);

    // A session's exchange with its nodes: one line per outcome that matters.

    [LoggerMessage(100, LogLevel.Information, "Session cookie from {RemoteAddress} ({Length} chars) is garbled, tampered with or protected with an unknown key; starting a new session.")]
    public static partial void CookieRejected(ILogger logger, IPAddress? remoteAddress, int length);

    [LoggerMessage(101, LogLevel.Warning, "Session {SessionIdPrefix}: no healthy state node; behaviour: {Behavior}.")]
    public static partial void NoHealthyNode(ILogger logger, string sessionIdPrefix, NoHealthyNodeBehavior behavior);

    [LoggerMessage(102, LogLevel.Warning, "Session {SessionIdPrefix} on node {NodeId}: lock not obtained ({Status}); answered 503.")]
    public static partial void LockBusy(ILogger logger, string sessionIdPrefix, string nodeId, StoreStatus status);

    [LoggerMessage(103, LogLevel.Warning, "Session {SessionIdPrefix} on node {NodeId}: took over a lock older than the lock timeout; the old holder's save will be refused.")]
    public static partial void LockTakenOver(ILogger logger, string sessionIdPrefix, string nodeId);

    [LoggerMessage(104, LogLevel.Warning, "Session {SessionIdPrefix}: {Operation} on node {NodeId} failed ({Error}); trying node {NextNodeId}, the next healthy node of its list.")]
    public static partial void FailedOver(ILogger logger, string sessionIdPrefix, string operation, string nodeId, string error, string nextNodeId);

    [LoggerMessage(105, LogLevel.Warning, "Session {SessionIdPrefix} on node {NodeId}: {Operation} refused ({Status}); answered {StatusCode}, the stored state is kept.")]
    public static partial void Refused(ILogger logger, string sessionIdPrefix, string nodeId, string operation, StoreStatus status, int statusCode);

    [LoggerMessage(106, LogLevel.Warning, "Session {SessionIdPrefix} on node {NodeId}: save refused because the lock was taken over (held longer than LockTimeout {LockTimeout}); the late write was not applied, answered 409.")]
    public static partial void LateSaveRefused(ILogger logger, string sessionIdPrefix, string nodeId, TimeSpan lockTimeout);

    [LoggerMessage(107, LogLevel.Error, "Session {SessionIdPrefix}: {Operation} on node {NodeId} failed ({Error}) and no other node can take it; answered {StatusCode}, the request's session changes were not saved.")]
    public static partial void NodesFailed(ILogger logger, string sessionIdPrefix, string operation, string nodeId, string error, int statusCode);

    [LoggerMessage(108, LogLevel.Error, "Session {SessionIdPrefix}: the backend returned {Bytes} bytes of state, above MaxStateBytes ({Limit}); answered 502, the stored state is kept.")]
    public static partial void StateTooLarge(ILogger logger, string sessionIdPrefix, int bytes, int limit);

    [LoggerMessage(109, LogLevel.Error, "Session {SessionIdPrefix}: the backend's state header is not base64url; answered 502, the stored state is kept.")]
    public static partial void StateInvalid(ILogger logger, string sessionIdPrefix);

    [LoggerMessage(110, LogLevel.Warning, "Session {SessionIdPrefix}: the response of {Path} on a {Mode} request carried new state or an abandon marker; ignored (only read-write routes save).")]
    public static partial void StateIgnored(ILogger logger, string sessionIdPrefix, string mode, string? path);

    [LoggerMessage(111, LogLevel.Information, "Session {SessionIdPrefix} on node {NodeId}: no response from the backend reached the gateway (backend error or timeout, or the client went away); released the lock ({Status}), nothing was saved.")]
    public static partial void ReleasedWithoutResponse(ILogger logger, string sessionIdPrefix, string nodeId, StoreStatus status);

    [LoggerMessage(112, LogLevel.Information, "Session {SessionIdPrefix} on node {NodeId}: the lock had been taken over before this request released it.")]
    public static partial void ReleaseAfterTakeover(ILogger logger, string sessionIdPrefix, string nodeId);

    [LoggerMessage(113, LogLevel.Information, "Session {SessionIdPrefix}: found on node {FromNodeId}, its node in revision {Revision} of the map; handed over to node {NodeId}.")]
    public static partial void HandedOver(ILogger logger, string sessionIdPrefix, string fromNodeId, long revision, string nodeId);

    [LoggerMessage(114, LogLevel.Warning, "Session {SessionIdPrefix}: reading it from node {FromNodeId}, its node in revision {Revision} of the map, failed ({Error}); it goes on without that node's state.")]
    public static partial void HandoverReadFailed(ILogger logger, string sessionIdPrefix, string fromNodeId, long revision, string error);

    [LoggerMessage(115, LogLevel.Warning, "Session {SessionIdPrefix}: removing the handed-over copy from node {FromNodeId} failed ({Status}); it expires there with the idle timeout.")]
    public static partial void HandoverCleanupFailed(ILogger logger, string sessionIdPrefix, string fromNodeId, string status);

    [LoggerMessage(116, LogLevel.Information, "Session {SessionIdPrefix} on node {NodeId}: released a lock the node granted after the gateway had given up on the read (timeout or hung node).")]
    public static partial void OrphanedLockReleased(ILogger logger, string sessionIdPrefix, string nodeId);

    [LoggerMessage(117, LogLevel.Warning, "Session {SessionIdPrefix}: {Operation} needs {Majority} replicas of its set and fewer answered; last failure on node {NodeId}: {Error}.")]
    public static partial void QuorumNotReached(ILogger logger, string sessionIdPrefix, string operation, int majority, string nodeId, string error);

    [LoggerMessage(118, LogLevel.Information, "Session {SessionIdPrefix}: {Count} replica(s) were behind version {Version} (restarted, or missed writes while down) and were written back.")]
    public static partial void ReplicasRepaired(ILogger logger, string sessionIdPrefix, int count, long version);

    // Headers.

    [LoggerMessage(120, LogLevel.Information, "Removed SessionRouter-* headers sent by client {RemoteAddress}; only the gateway sets them.")]
    public static partial void ClientContractHeadersStripped(ILogger logger, IPAddress? remoteAddress);

    [LoggerMessage(121, LogLevel.Warning, "Response of {Path} carried SessionRouter-* headers on a route without session; removed.")]
    public static partial void ContractHeadersOnSessionlessRoute(ILogger logger, string? path);

    [LoggerMessage(122, LogLevel.Information, "Refused a request from {RemoteAddress} to {Path}: header {HeaderName} has characters its cluster's HttpClient cannot encode ({Encoding}); answered 400. To forward such headers set the cluster's HttpClient:RequestHeaderEncoding (e.g. utf-8) and make its web servers accept that encoding.")]
    public static partial void UnencodableHeader(ILogger logger, IPAddress? remoteAddress, string headerName, string? path, string encoding);

    [LoggerMessage(130, LogLevel.Debug, "Session {SessionIdPrefix}: a request elsewhere waits for its lock; the lease is given up.")]
    public static partial void LeaseRevoked(ILogger logger, string sessionIdPrefix);

    [LoggerMessage(131, LogLevel.Warning, "Watching node {NodeId} for requests waiting on leased sessions failed: {Error}. Retrying; until then its leases end when they expire.")]
    public static partial void ContentionWatchFailed(ILogger logger, string nodeId, string error);

    [LoggerMessage(132, LogLevel.Information, "Watching node {NodeId} for requests waiting on leased sessions again.")]
    public static partial void ContentionWatchRestored(ILogger logger, string nodeId);

    [LoggerMessage(133, LogLevel.Information, "Gave up {Count} leased session(s) at shutdown.")]
    public static partial void LeasesEndedAtShutdown(ILogger logger, int count);
}
