using System.Net;
using Microsoft.Extensions.Logging;

namespace SessionRouter.StateServer.Diagnostics;

/// <summary>
/// Every log line of the engine, source-generated, with its event id. Ids are unique within the assembly
/// and grouped by the part that logs: 1–99 hosting (<c>StateServerRunner</c>), 100–199 the protocol
/// handler (<c>StateServerRequestHandler</c>), 200–299 the store (<c>InMemorySessionStore</c>), 300–399 the connection
/// guard (<c>ConnectionGuard</c>). No line carries a session id: requests are logged by
/// their fault, never by their key.
/// </summary>
internal static partial class StateServerLog
{
    // Hosting: 1–99.

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "State server listening on {ClassicAddress} (MS-ASP, HTTP/1.1) and {Http2Address} (HTTP/2); remote connections allowed: {AllowRemote}; access key required: {KeyRequired}")]
    public static partial void Started(ILogger logger, Uri classicAddress, Uri? http2Address, bool allowRemote, bool keyRequired);

    [LoggerMessage(EventId = 3, Level = LogLevel.Warning, Message = "Remote connections are allowed without TLS: the access key and the sessions' state cross the network in cleartext. Set StateServer:TlsCertificatePath unless the network between gateways and node is trusted")]
    public static partial void RemoteWithoutTls(ILogger logger);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "State server {ClassicAddress} shutting down: letting requests in flight finish")]
    public static partial void Stopping(ILogger logger, Uri classicAddress);

    // Protocol: 100–199.

    [LoggerMessage(EventId = 100, Level = LogLevel.Debug, Message = "Bad request: {Reason}")]
    public static partial void BadRequest(ILogger logger, string reason);

    [LoggerMessage(EventId = 101, Level = LogLevel.Warning, Message = "Request without a valid access key from {RemoteAddress} refused")]
    public static partial void Unauthorized(ILogger logger, IPAddress? remoteAddress);

    [LoggerMessage(EventId = 102, Level = LogLevel.Debug, Message = "Contention watch from {RemoteAddress} opened")]
    public static partial void ContentionWatchOpened(ILogger logger, IPAddress? remoteAddress);

    [LoggerMessage(EventId = 103, Level = LogLevel.Debug, Message = "Contention watch from {RemoteAddress} closed after {Sent} announcements (node stopping: {Stopping})")]
    public static partial void ContentionWatchClosed(ILogger logger, IPAddress? remoteAddress, long sent, bool stopping);

    // Store: 200–299. One line per change of the memory level, never per request.

    [LoggerMessage(EventId = 200, Level = LogLevel.Warning, Message = "Memory held is {BytesHeld} bytes, {Percent}% of the cap of {CapBytes} bytes (warning level {WarningPercent}%): add memory or nodes before new sessions are refused")]
    public static partial void MemoryWarning(ILogger logger, long bytesHeld, long capBytes, double percent, double warningPercent);

    [LoggerMessage(EventId = 201, Level = LogLevel.Error, Message = "Memory cap of {CapBytes} bytes reached ({BytesHeld} bytes held): new sessions are refused (CapacityExceeded); stored sessions are kept and stay writable")]
    public static partial void MemoryFull(ILogger logger, long bytesHeld, long capBytes);

    [LoggerMessage(EventId = 202, Level = LogLevel.Information, Message = "Memory held is down to {BytesHeld} bytes, {Percent}% of the cap of {CapBytes} bytes; the {PreviousLevel} level is over")]
    public static partial void MemoryRelieved(ILogger logger, long bytesHeld, long capBytes, double percent, Storage.StoreMemoryLevel previousLevel);

    // Connections: 300–399.

    [LoggerMessage(EventId = 300, Level = LogLevel.Warning, Message = "Connections from {RemoteAddress} refused: its {Open} open connections reach StateServer:MaxConnectionsPerAddress ({Limit}); further refusals from it are logged at Debug level until one is accepted again")]
    public static partial void AddressLimitReached(ILogger logger, IPAddress remoteAddress, int open, int limit);

    [LoggerMessage(EventId = 301, Level = LogLevel.Debug, Message = "Connection from {RemoteAddress} refused: {Open} open connections from that address")]
    public static partial void AddressConnectionRefused(ILogger logger, IPAddress remoteAddress, int open);

    [LoggerMessage(EventId = 302, Level = LogLevel.Debug, Message = "Connection from {RemoteEndPoint} closed: no request with a valid access key within StateServer:FirstRequestTimeout ({Timeout})")]
    public static partial void ConnectionNotAdmitted(ILogger logger, EndPoint? remoteEndPoint, TimeSpan timeout);
}
