using System.Buffers.Text;
using SessionRouter.Core.Configuration;
using SessionRouter.Core.HeaderContract;
using SessionRouter.Core.Partitioning;
using SessionRouter.Core.Storage;
using SessionRouter.Gateway.Nodes;

namespace SessionRouter.Gateway.Configuration;

/// <summary>
/// One immutable, validated configuration in force: the options, the resolver built from its map, the
/// node stores (index-aligned with <see cref="IPartitionResolver.Nodes"/>) and values derived once for
/// the hot path. A request takes the snapshot current when it starts and keeps it to the end, so an
/// edit applies atomically to new requests only. Reference counted: a retired snapshot releases its
/// node stores after its last request has finished.
/// </summary>
internal sealed class GatewaySnapshot
{
    // 1 = the provider's own reference while the snapshot is current; each request adds one.
    private int _references = 1;
    private Action<GatewaySnapshot>? _drained;

    public GatewaySnapshot(
        SessionRouterOptions options,
        long revision,
        string fingerprint,
        IPartitionResolver resolver,
        StateNodeHandle[] nodes,
        DateTimeOffset appliedAt,
        IReadOnlyList<MapHandover> handovers)
    {
        Handovers = handovers;
        Options = options;
        Revision = revision;
        Fingerprint = fingerprint;
        Resolver = resolver;
        Nodes = nodes;
        AppliedAt = appliedAt;
        ApplicationName = options.ApplicationName;
        Signature = new SessionSignature(Convert.FromBase64String(options.SignatureKey!));
        LockTakeoverAge = options.Leases.LockTakeoverAge(options.LockTimeout);
        ExclusiveRead = new LockRequest(options.LockWaitTimeout, LockTakeoverAge, CreateIfMissing: true, ItemTimeout: options.IdleTimeout);
        HandoverRead = ExclusiveRead with { CreateIfMissing = false };
        MaxEncodedStateChars = Base64Url.GetEncodedLength(options.MaxStateBytes);
        RetryAfterSeconds = Math.Max(1, (int)Math.Ceiling(options.HealthChecks.Interval.TotalSeconds));
    }

    public SessionRouterOptions Options { get; }

    /// <summary>The age past which a session's lock may be taken over: the lease time while leases are on, else the lock timeout.</summary>
    public TimeSpan LockTakeoverAge { get; }

    /// <summary>Rises by one on every applied edit of the <c>SessionRouter</c> section.</summary>
    public long Revision { get; }

    /// <summary>The canonical text of the section this snapshot was built from.</summary>
    public string Fingerprint { get; }

    public DateTimeOffset AppliedAt { get; }

    public IPartitionResolver Resolver { get; }

    /// <summary>The node stores, index-aligned with the resolver's nodes.</summary>
    public StateNodeHandle[] Nodes { get; }

    /// <summary>Maps earlier edits replaced whose sessions are still handed over, newest first; empty when none.</summary>
    public IReadOnlyList<MapHandover> Handovers { get; }

    /// <summary>Every node handle this snapshot holds a reference on: its own nodes, then those of its handovers.</summary>
    public IEnumerable<StateNodeHandle> HeldNodes => Nodes.Concat(Handovers.SelectMany(h => h.Nodes));

    public string ApplicationName { get; }

    public SessionSignature Signature { get; }

    /// <summary>The lock request of a read-write route (wait timeout, lock timeout, create if missing).</summary>
    public LockRequest ExclusiveRead { get; }

    /// <summary>The lock request on a session's node in a replaced map: like <see cref="ExclusiveRead"/>, but never creates the item there.</summary>
    public LockRequest HandoverRead { get; }

    /// <summary>The longest state header accepted from a backend (base64url of <c>MaxStateBytes</c>).</summary>
    public int MaxEncodedStateChars { get; }

    public int RetryAfterSeconds { get; }

    /// <summary>Takes a reference for one request; false when the snapshot has already drained.</summary>
    public bool TryEnter()
    {
        while (true)
        {
            var current = Volatile.Read(ref _references);
            if (current == 0)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref _references, current + 1, current) == current)
            {
                return true;
            }
        }
    }

    public void Exit()
    {
        if (Interlocked.Decrement(ref _references) == 0)
        {
            _drained?.Invoke(this);
        }
    }

    /// <summary>Called by the provider once a newer snapshot is current; <paramref name="drained"/> runs after the last request.</summary>
    public void Retire(Action<GatewaySnapshot> drained)
    {
        _drained = drained;
        Exit();
    }
}
