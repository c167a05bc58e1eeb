using SessionRouter.Core.Configuration;
using SessionRouter.StateServer.Storage;

namespace SessionRouter.StateServer.Hosting;

/// <summary>
/// Settings of one engine node (section <c>StateServer</c> of the host's configuration).
/// <see cref="StateServerOptionsValidator"/> names every faulty setting.
/// </summary>
public sealed class StateServerOptions
{
    /// <summary>The configuration section the host binds.</summary>
    public const string SectionName = "StateServer";

    /// <summary>The MS-ASP port (HTTP/1.x, what classic clients use). 0 picks a free port.</summary>
    public int Port { get; set; } = 42424;

    /// <summary>
    /// The HTTP/2 cleartext (prior knowledge) port the gateway's client uses: Kestrel cannot offer h2c
    /// next to HTTP/1.1 on one cleartext port. 0 picks a free port; -1 opens none.
    /// </summary>
    public int Http2Port { get; set; }

    /// <summary>Listen on other addresses than loopback. Requires <see cref="AccessKey"/>.</summary>
    public bool AllowRemoteConnections { get; set; }

    /// <summary>With <see cref="AllowRemoteConnections"/>: the address to bind (default: every address).</summary>
    public string? BindAddress { get; set; }

    /// <summary>When set, every request must carry it in <c>X-SR-Access-Key</c> (401 otherwise).</summary>
    public string? AccessKey { get; set; }

    /// <summary>
    /// Serve TLS on both ports with this certificate: a PKCS#12 (.pfx) file, or a PEM certificate when
    /// <see cref="TlsKeyPath"/> is set. Without it the node speaks cleartext, and the access key and the
    /// sessions' state cross the network readable by anyone on the path.
    /// </summary>
    public string? TlsCertificatePath { get; set; }

    /// <summary>The password of the PKCS#12 file, or of an encrypted PEM key.</summary>
    public string? TlsCertificatePassword { get; set; }

    /// <summary>The PEM private key of a PEM <see cref="TlsCertificatePath"/>.</summary>
    public string? TlsKeyPath { get; set; }

    /// <summary>The store's memory cap in bytes (0: none). New sessions are refused once it is reached.</summary>
    public long MemoryCapBytes { get; set; }

    /// <summary>The share of <see cref="MemoryCapBytes"/> past which the node logs a warning and reports Degraded on <c>/health</c>.</summary>
    public double MemoryWarningFraction { get; set; } = 0.8;

    /// <summary>How the node exports its metrics: Prometheus at <c>/metrics</c> on its ports, optionally OTLP.</summary>
    public MetricsSettings Metrics { get; set; } = new();

    /// <summary>Answer <c>/metrics</c> from other machines too (with the access key when one is set); loopback only by default.</summary>
    public bool MetricsAllowRemote { get; set; }

    /// <summary>The largest session blob accepted (413 above it).</summary>
    public int MaxItemBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>A lock older than this may be taken over when a request does not name its own lock timeout.</summary>
    public TimeSpan DefaultLockTimeout { get; set; } = TimeSpan.FromSeconds(110);

    /// <summary>The sliding expiry of an item created without a <c>Timeout</c>.</summary>
    public TimeSpan DefaultItemTimeout { get; set; } = TimeSpan.FromMinutes(20);

    /// <summary>How many requests may wait for one session's lock (429 with <c>X-SR-Status: QueueFull</c> above it).</summary>
    public int MaxWaitersPerSession { get; set; } = 64;

    /// <summary>The most bytes of request headers accepted (431 above it).</summary>
    public int MaxRequestHeaderBytes { get; set; } = 16 * 1024;

    /// <summary>
    /// The most open connections per listening port (Kestrel counts each port on its own); a further
    /// connection is closed at once without an answer. 0: no limit.
    /// </summary>
    public long MaxConnections { get; set; } = 10_000;

    /// <summary>
    /// The most connections one remote address may hold open on this node (both ports together); a
    /// further one is closed at once without an answer, so one client cannot take every slot of
    /// <see cref="MaxConnections"/>. 0: no limit. A gateway uses one or two HTTP/2 connections per node,
    /// or up to 256 over HTTP/1.1.
    /// </summary>
    public int MaxConnectionsPerAddress { get; set; } = 512;

    /// <summary>
    /// How long a new connection may take to present its first request with a valid access key (any
    /// request when no key is set), its TLS handshake included; otherwise it is closed. A connection whose
    /// request fails the access key is closed after its 401 as well.
    /// </summary>
    public TimeSpan FirstRequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long an admitted connection may stay idle (HTTP/1.1 between requests, HTTP/2 without open
    /// streams) before the node closes it: Kestrel's <c>KeepAliveTimeout</c>. Longer than the client's
    /// two-minute pool idle time, so a gateway closes its idle connections first.
    /// </summary>
    public TimeSpan IdleConnectionTimeout { get; set; } = TimeSpan.FromSeconds(130);

    /// <summary>How long the node waits for a request's headers once they start: Kestrel's <c>RequestHeadersTimeout</c>.</summary>
    public TimeSpan RequestHeadersTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// After this long without a frame from an HTTP/2 peer, the node sends a PING; a peer that does not
    /// answer within <see cref="Http2KeepAlivePingTimeout"/> is disconnected. Finds dead gateways that
    /// still hold a stream open (a lock wait), which the idle timeout never closes.
    /// </summary>
    public TimeSpan Http2KeepAlivePingDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long an HTTP/2 peer has to answer the node's PING.</summary>
    public TimeSpan Http2KeepAlivePingTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>
    /// The slowest request body accepted, in bytes per second after a 5-second grace period: Kestrel's
    /// <c>MinRequestBodyDataRate</c> (a body trickled byte by byte is cut off). 0: no minimum.
    /// </summary>
    public double MinRequestBodyBytesPerSecond { get; set; } = 240;

    /// <summary>Concurrent HTTP/2 streams per connection (the gateway multiplexes its calls over few connections).</summary>
    public int MaxHttp2StreamsPerConnection { get; set; } = 1024;

    /// <summary>How long a graceful shutdown lets in-flight requests finish.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The store's share of these settings.</summary>
    public InMemorySessionStoreOptions ToStoreOptions() => new()
    {
        MemoryCapBytes = MemoryCapBytes,
        MemoryWarningFraction = MemoryWarningFraction,
        MaxItemBytes = MaxItemBytes,
        DefaultLockTimeout = DefaultLockTimeout,
        DefaultItemTimeout = DefaultItemTimeout,
        MaxWaitersPerSession = MaxWaitersPerSession,
    };
}
