using SessionRouter.Core.Configuration;

namespace SessionRouter.Redis.Configuration;

/// <summary>
/// Settings of one Redis state node: a standalone server (with optional replicas) or a whole Redis
/// Cluster, reached through one StackExchange.Redis connection string. <see cref="FromNode"/> builds them
/// from the <c>SessionRouter</c> section of yarp.json; <see cref="RedisStoreOptionsValidator"/> names every
/// faulty setting.
/// </summary>
public sealed class RedisStoreOptions
{
    /// <summary>The node's id in the partition map; carried by <c>SessionStoreUnavailableException.NodeId</c>.</summary>
    public string NodeId { get; set; } = "";

    /// <summary>
    /// A StackExchange.Redis connection string: one or several endpoints, <c>password=</c>, <c>user=</c>,
    /// <c>ssl=true</c>, <c>sslHost=</c>. A Redis Cluster is named by any (preferably all) of its masters.
    /// Timeouts in the string are replaced by <see cref="ConnectTimeout"/> and <see cref="OperationTimeout"/>.
    /// </summary>
    public string ConnectionString { get; set; } = "";

    /// <summary>A lock older than this may be taken over when a request names no lock timeout of its own.</summary>
    public TimeSpan DefaultLockTimeout { get; set; } = TimeSpan.FromSeconds(110);

    /// <summary>The sliding expiry used when a write or create names none (a zero or negative timeout).</summary>
    public TimeSpan DefaultItemTimeout { get; set; } = TimeSpan.FromMinutes(20);

    /// <summary>The largest state blob accepted, in bytes; larger writes get <c>StoreStatus.TooLarge</c> without a round trip.</summary>
    public int MaxItemBytes { get; set; } = 1024 * 1024;

    /// <summary>How many callers of this process may wait for one session's lock at once; more get <c>StoreStatus.QueueFull</c>.</summary>
    public int MaxLockWaiters { get; set; } = 32;

    /// <summary>Prefix of every key and channel this store uses, so that several deployments can share a server.</summary>
    public string KeyPrefix { get; set; } = "sr:";

    /// <summary>How long to wait for a TCP connection (and TLS and AUTH) to a server.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long one operation may take before it fails with <c>SessionStoreUnavailableException</c>.</summary>
    public TimeSpan OperationTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// When true (the default), an operation fails at once while the connection is down instead of being
    /// queued until it returns: the gateway then reroutes the session rather than holding the request.
    /// </summary>
    public bool FailFastWhenDisconnected { get; set; } = true;

    /// <summary>
    /// After each successful save, wait (Redis <c>WAIT</c>, sent to the key's primary) until this many replicas
    /// acknowledged it, at most <see cref="WaitForReplicasTimeout"/>. 0 does not wait.
    /// </summary>
    public int WaitForReplicas { get; set; }

    /// <summary>The longest a save waits for <see cref="WaitForReplicas"/>.</summary>
    public TimeSpan WaitForReplicasTimeout { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>The name of the setting that holds <see cref="ConnectionString"/>, used in error messages.</summary>
    public string SettingPath { get; set; } = "ConnectionString";

    /// <summary>
    /// A CA certificate file (PEM or DER) the servers' TLS certificates must chain to, in place of the
    /// machine's trusted roots (a relative path is taken from the current directory). Certificates of any
    /// other authority are refused. Needs <c>ssl=true</c> in <see cref="ConnectionString"/>.
    /// </summary>
    public string? TlsCaPath { get; set; }

    /// <summary>The name of the setting that holds <see cref="TlsCaPath"/>, used in error messages.</summary>
    public string TlsCaSettingPath { get; set; } = "TlsCaPath";

    /// <summary>
    /// The options of a partition-map node with engine <c>Redis</c>: its id and connection string, and the
    /// lock timeout, state size limit and waiter limit of the whole <c>SessionRouter</c> section.
    /// </summary>
    public static RedisStoreOptions FromNode(StateNodeOptions node, SessionRouterOptions router, int nodeIndex = -1)
    {
        ArgumentNullException.ThrowIfNull(node);
        ArgumentNullException.ThrowIfNull(router);
        return new RedisStoreOptions
        {
            NodeId = node.Id,
            ConnectionString = node.ConnectionString ?? "",
            DefaultLockTimeout = router.LockTimeout,
            DefaultItemTimeout = router.IdleTimeout,
            MaxItemBytes = router.MaxStateBytes,
            MaxLockWaiters = router.MaxLockWaiters,
            WaitForReplicas = node.WaitForReplicas,
            WaitForReplicasTimeout = node.WaitForReplicasTimeout,
            TlsCaPath = string.IsNullOrWhiteSpace(node.TlsCaPath) ? null : node.TlsCaPath,
            SettingPath = NodeSetting(node, nodeIndex, "ConnectionString"),
            TlsCaSettingPath = NodeSetting(node, nodeIndex, "TlsCaPath"),
        };
    }

    private static string NodeSetting(StateNodeOptions node, int nodeIndex, string name) => nodeIndex >= 0
        ? $"{SessionRouterOptions.SectionName}:Nodes:{nodeIndex}:{name}"
        : $"{SessionRouterOptions.SectionName}:Nodes[{node.Id}]:{name}";
}
