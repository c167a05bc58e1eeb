namespace SessionRouter.Core.Configuration;

/// <summary>
/// The <c>SessionRouter</c> section of yarp.json, beside YARP's own <c>ReverseProxy</c> section.
/// Every setting is documented in docs/configuration.md; <see cref="SessionRouterOptionsValidator"/>
/// names the faulty field of an invalid file.
/// </summary>
public sealed class SessionRouterOptions
{
    public const string SectionName = "SessionRouter";

    /// <summary>The application name: scopes session keys in the stores and the DataProtection purpose.</summary>
    public string ApplicationName { get; set; } = "SessionRouter";

    public SessionCookieOptions Cookie { get; set; } = new();

    /// <summary>Sliding expiry of a session without requests.</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(20);

    /// <summary>A session lock older than this may be taken over; the old holder's save is refused.</summary>
    public TimeSpan LockTimeout { get; set; } = TimeSpan.FromSeconds(110);

    /// <summary>How long a read-write request waits for the session's lock before it gets 503.</summary>
    public TimeSpan LockWaitTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How many requests of one session may wait for its lock at once; more get 503.</summary>
    public int MaxLockWaiters { get; set; } = 32;

    /// <summary>Session mode of routes whose Metadata has no <c>Session</c> entry.</summary>
    public SessionMode DefaultSessionMode { get; set; } = SessionMode.ReadWrite;

    /// <summary>What a request gets when no node of its session's preference list is healthy.</summary>
    public NoHealthyNodeBehavior WhenNoHealthyNode { get; set; } = NoHealthyNodeBehavior.Reject;

    /// <summary>Base64 key (at least 32 bytes) for the request signature shared with the sites.</summary>
    public string? SignatureKey { get; set; }

    /// <summary>The largest state blob a backend may return, in bytes (decoded).</summary>
    public int MaxStateBytes { get; set; } = 64 * 1024;

    /// <summary>How many nodes of a session's preference list hold its state (1 = no replicas).</summary>
    public int ReplicationFactor { get; set; } = 1;

    /// <summary>Whether and how the gateway keeps sessions under a lease in its memory between requests.</summary>
    public LeaseSettings Leases { get; set; } = new();

    public DataProtectionSettings DataProtection { get; set; } = new();

    public HealthCheckSettings HealthChecks { get; set; } = new();

    public AdminSettings Admin { get; set; } = new();

    /// <summary>How the gateway exports its metrics (Prometheus scrape endpoint, OTLP push); read at start-up.</summary>
    public MetricsSettings Metrics { get; set; } = new();

    /// <summary>The partition map: the state nodes sessions are spread over.</summary>
    public List<StateNodeOptions> Nodes { get; set; } = [];
}

public sealed class SessionCookieOptions
{
    public string Name { get; set; } = ".SessionRouter";
    public string Path { get; set; } = "/";
    public string? Domain { get; set; }

    /// <summary>Marks the cookie Secure; turn on whenever clients reach the gateway over HTTPS.</summary>
    public bool Secure { get; set; }
}

public enum SessionMode
{
    ReadWrite,
    ReadOnly,
    None,
}

public enum NoHealthyNodeBehavior
{
    /// <summary>503 with Retry-After and a body that says no state node is available.</summary>
    Reject,

    /// <summary>Forward without a session, marked <c>SessionRouter-Mode: unavailable</c>.</summary>
    ForwardWithoutSession,
}

public enum StateNodeEngine
{
    /// <summary>The built-in engine (SessionRouter.StateServer), over its MS-ASP protocol.</summary>
    Builtin,

    /// <summary>Redis (standalone, Redis Cluster, or any RESP server), over StackExchange.Redis.</summary>
    Redis,
}

public sealed class StateNodeOptions
{
    /// <summary>Stable id: the hash input of the partition map. Renaming a node moves its sessions.</summary>
    public string Id { get; set; } = "";

    public StateNodeEngine Engine { get; set; } = StateNodeEngine.Builtin;

    /// <summary>
    /// Builtin: the engine's base address, e.g. <c>http://127.0.0.1:43424</c>; <c>https://</c> talks TLS to
    /// an engine that serves it (the certificate checked as <see cref="TlsThumbprint"/> or
    /// <see cref="TlsCaPath"/> say, else by the machine's normal validation).
    /// </summary>
    public string? Address { get; set; }

    /// <summary>Redis: a StackExchange.Redis connection string (several endpoints, password, ssl=true).</summary>
    public string? ConnectionString { get; set; }

    /// <summary>Builtin: the engine's access key, required when the engine allows remote connections.</summary>
    public string? AccessKey { get; set; }

    /// <summary>
    /// Builtin: talk HTTP/2 to the engine's HTTP/2 port (e.g. 43424): cleartext with prior knowledge, or
    /// ALPN over TLS. Set false to use HTTP/1.1 against the engine's classic MS-ASP port (e.g. 42424).
    /// </summary>
    public bool Http2 { get; set; } = true;

    /// <summary>
    /// Builtin: requests outstanding at the engine at once (1–1024); operations that arrive beyond them
    /// are coalesced into one batch request when one completes. 0 turns batching off (every operation is
    /// a request of its own, unbounded).
    /// </summary>
    public int MaxRequestsInFlight { get; set; } = 2;

    /// <summary>Relative share of sessions; 0 drains the node (it keeps serving as a fallback only).</summary>
    public double Weight { get; set; } = 1.0;

    /// <summary>
    /// A CA certificate file (PEM or DER) the node's TLS certificate must chain to, in place of the
    /// machine's trusted roots; a relative path is taken from the configuration file's directory. Builtin: with
    /// an <c>https://</c> <see cref="Address"/>, and not together with <see cref="TlsThumbprint"/>. Redis: needs
    /// <c>ssl=true</c> in <see cref="ConnectionString"/>.
    /// </summary>
    public string? TlsCaPath { get; set; }

    /// <summary>
    /// Builtin, <c>https://</c> only: trust exactly the engine certificate whose SHA-256 hash is this (64
    /// hex digits; colons and spaces ignored), self-signed or not.
    /// </summary>
    public string? TlsThumbprint { get; set; }

    /// <summary>
    /// Redis: after each save, wait (Redis <c>WAIT</c>) until this many replicas of the key's primary have the
    /// write, at most <see cref="WaitForReplicasTimeout"/>. 0 (the default) does not wait. It narrows the writes a
    /// Redis failover can lose; it does not make Redis lose none (docs/redis.md).
    /// </summary>
    public int WaitForReplicas { get; set; }

    /// <summary>Redis: how long a save waits for <see cref="WaitForReplicas"/>; a save is answered when it ends, replicated or not.</summary>
    public TimeSpan WaitForReplicasTimeout { get; set; } = TimeSpan.FromMilliseconds(500);
}

public sealed class DataProtectionSettings
{
    /// <summary>A directory shared by every gateway instance for the key ring.</summary>
    public string? KeyRingPath { get; set; }

    /// <summary>Or a Redis connection string whose server holds the key ring.</summary>
    public string? RedisConnectionString { get; set; }

    /// <summary>The Redis key of the key ring.</summary>
    public string RedisKey { get; set; } = "SessionRouter-DataProtection-Keys";

    /// <summary>
    /// A PKCS#12 (.pfx) file whose RSA certificate encrypts the keys at rest (and decrypts them); relative to
    /// the configuration file's directory. Every gateway sharing the key ring needs the same certificate.
    /// </summary>
    public string? CertificatePath { get; set; }

    /// <summary>The password of <see cref="CertificatePath"/>; best given by an environment variable, not the file.</summary>
    public string? CertificatePassword { get; set; }
}

public sealed class HealthCheckSettings
{
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(1);
    public TimeSpan Timeout { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Consecutive failed probes before a node is marked down.</summary>
    public int FailuresToDown { get; set; } = 2;

    /// <summary>Consecutive good probes before a down node is marked up again (hysteresis).</summary>
    public int SuccessesToUp { get; set; } = 3;

    /// <summary>Upper bound on probes in flight at once.</summary>
    public int MaxConcurrentProbes { get; set; } = 8;
}

public sealed class AdminSettings
{
    /// <summary>Serve the admin endpoints (under <see cref="PathPrefix"/>).</summary>
    public bool Enabled { get; set; } = true;

    public string PathPrefix { get; set; } = "/_sessionrouter";

    /// <summary>Answer admin requests from non-loopback addresses (off by default).</summary>
    public bool AllowRemote { get; set; }

    /// <summary>
    /// When set (at least 16 characters), non-loopback callers that present it are answered too:
    /// <c>Authorization: Bearer &lt;key&gt;</c>, or HTTP Basic with the key as password (what a browser
    /// asks for when it opens the status page). Loopback callers never need it.
    /// </summary>
    public string? AccessKey { get; set; }
}
