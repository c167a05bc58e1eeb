namespace SessionRouter.StateServer.Client;

/// <summary>
/// How a <see cref="StateServerClient"/> reaches one engine node. The client's constructor checks them
/// and names every faulty setting at once.
/// </summary>
public sealed class StateServerClientOptions
{
    /// <summary>The node's id in the partition map (carried by <c>SessionStoreUnavailableException.NodeId</c>).</summary>
    public string NodeId { get; set; } = string.Empty;

    /// <summary>
    /// The node's address, e.g. <c>http://127.0.0.1:43424/</c>. With <see cref="UseHttp2"/> (the default)
    /// this is the node's HTTP/2 port (<c>StateServerRunner.BaseAddress</c>); otherwise its MS-ASP port.
    /// <c>https://</c> talks TLS to a node that serves it (HTTP/2 then negotiated by ALPN).
    /// </summary>
    public Uri? BaseAddress { get; set; }

    /// <summary>The node's access key, sent as <c>X-SR-Access-Key</c> when set.</summary>
    public string? AccessKey { get; set; }

    /// <summary>
    /// With an <c>https://</c> <see cref="BaseAddress"/>: accept only the node certificate whose SHA-256
    /// hash (64 hex digits; colons and spaces are ignored) is this, whoever issued it (a self-signed
    /// certificate works). Without it, and without <see cref="TlsCaPath"/>, the certificate must pass the
    /// machine's normal chain and name validation.
    /// </summary>
    public string? TlsThumbprint { get; set; }

    /// <summary>
    /// With an <c>https://</c> <see cref="BaseAddress"/>: a CA certificate file (PEM or DER); the node's
    /// certificate must chain to it (and to nothing else) and name the address's host. Revocation is not
    /// checked: a private CA rarely publishes a revocation list.
    /// </summary>
    public string? TlsCaPath { get; set; }

    /// <summary>Talk HTTP/2 (cleartext with prior knowledge, or ALPN over TLS; one multiplexed connection per node); false uses HTTP/1.1.</summary>
    public bool UseHttp2 { get; set; } = true;

    /// <summary>How long one call may take (a lock wait is added on top for exclusive reads that wait).</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long a health probe may take.</summary>
    public TimeSpan ProbeTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Wrap calls in a Polly circuit breaker (default). A caller that already takes a node down on its
    /// first failed call (the gateway's passive health) may turn it off; it then saves a few percent of
    /// throughput (see docs/engine.md). The attempt timeout always applies.
    /// </summary>
    public bool EnableCircuitBreaker { get; set; } = true;

    /// <summary>
    /// Coalesce operations into batches under load (default): at most <see cref="MaxRequestsInFlight"/>
    /// requests are outstanding at the node; operations that arrive meanwhile are sent together in one
    /// request (the engine's <c>POST /batch</c> extension) as soon as one completes. Off, every operation
    /// is a request of its own with no bound. See docs/engine.md for the measured effect.
    /// </summary>
    public bool EnableBatching { get; set; } = true;

    /// <summary>With batching on, the requests (single operations or batches) outstanding at the node at once (1–1024).</summary>
    public int MaxRequestsInFlight { get; set; } = 2;

    /// <summary>Tests only: every operation goes through a batch, even alone (exercises the batch path on every call).</summary>
    internal bool BatchEveryOperation { get; set; }

    /// <summary>The share of failed calls within <see cref="CircuitBreakerSamplingDuration"/> that opens the circuit.</summary>
    public double CircuitBreakerFailureRatio { get; set; } = 0.5;

    /// <summary>The fewest calls in the sampling window before the ratio counts (at least 2).</summary>
    public int CircuitBreakerMinimumThroughput { get; set; } = 4;

    /// <summary>The window in which failures are counted (at least 0.5 s).</summary>
    public TimeSpan CircuitBreakerSamplingDuration { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long an open circuit fails calls at once before letting one through (at least 0.5 s).</summary>
    public TimeSpan CircuitBreakerBreakDuration { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Called with the node id and the last failure when the circuit opens (feed it to passive health).</summary>
    public Action<string, Exception?>? OnCircuitOpened { get; set; }
}
