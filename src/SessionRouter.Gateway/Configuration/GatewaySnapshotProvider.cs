using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;
using SessionRouter.Core.Configuration;
using SessionRouter.Core.Health;
using SessionRouter.Core.Partitioning;
using SessionRouter.Gateway.Diagnostics;
using SessionRouter.Gateway.Nodes;

namespace SessionRouter.Gateway.Configuration;

/// <summary>
/// Holds the configuration snapshot in force and replaces it when yarp.json changes: a valid edit of the
/// <c>SessionRouter</c> section builds a new snapshot (the resolver only when the map changed; stores of
/// unchanged nodes reused) and swaps it in one step; an invalid edit is logged with the faulty field and
/// the last good snapshot stays.
/// </summary>
internal sealed class GatewaySnapshotProvider : IAsyncDisposable
{
    private readonly IConfiguration _configuration;
    private readonly IStateNodeConnector _connector;
    private readonly IGatewayNodeHealth _health;
    private readonly StoreCallRecorder _recorder;
    private readonly GatewayMetrics _metrics;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly string _source;
    private readonly SemaphoreSlim _reloadGate = new(1, 1);
    private readonly ConfigFileProvider? _configFile;
    private IDisposable? _changeRegistration;
    private ITimer? _handoverTimer;
    private GatewaySnapshot _current;
    private string? _lastRejectedFingerprint;

    public GatewaySnapshotProvider(
        IConfiguration configuration,
        ConfigFileProvider? configFile,
        SessionRouterOptions initialOptions,
        string source,
        IStateNodeConnector connector,
        IGatewayNodeHealth health,
        StoreCallRecorder recorder,
        GatewayMetrics metrics,
        ILogger<GatewaySnapshotProvider> logger,
        TimeProvider time)
    {
        _configuration = configuration;
        _connector = connector;
        _health = health;
        _recorder = recorder;
        _metrics = metrics;
        _logger = logger;
        _time = time;
        _source = source;
        var fingerprint = SessionRouterConfigReader.Fingerprint(configuration);
        _current = BuildAsync(initialOptions, fingerprint, revision: 1, previous: null, CancellationToken.None).AsTask().GetAwaiter().GetResult();
        _health.UpdateNodes(Probes(_current));
        _changeRegistration = ChangeToken.OnChange(_configuration.GetReloadToken, OnConfigurationChanged);
        _configFile = configFile;
        if (configFile is not null)
        {
            configFile.EditRefused += OnMalformedEdit;
        }
    }

    /// <summary>The snapshot in force (for reading settings; requests use <see cref="Acquire"/>).</summary>
    public GatewaySnapshot Current => Volatile.Read(ref _current);

    /// <summary>Takes the current snapshot for one request; the caller must call <see cref="GatewaySnapshot.Exit"/>.</summary>
    public GatewaySnapshot Acquire()
    {
        while (true)
        {
            var snapshot = Volatile.Read(ref _current);
            if (snapshot.TryEnter())
            {
                return snapshot;
            }
        }
    }

    /// <summary>The outcomes of the last edits of the section.</summary>
    public ReloadHistory Reloads { get; } = new();

    /// <summary>The file could not be parsed: nothing changed (YARP's section neither); say so like any refused edit.</summary>
    private void OnMalformedEdit(string reason)
    {
        _metrics.ConfigurationRejected();
        var current = Current;
        GatewayLog.UnreadableEditRefused(_logger, _source, reason, current.Revision);
        Reloads.Record(new ReloadOutcome(_time.GetUtcNow(), Applied: false, current.Revision, [reason]));
    }

    private void OnConfigurationChanged()
    {
        // The change token fires on a thread-pool thread; the reload itself may connect to new nodes.
        _ = ReloadAsync();
    }

    /// <summary>Reads the section again and applies it when it changed and is valid.</summary>
    public async Task ReloadAsync()
    {
        await _reloadGate.WaitAsync().ConfigureAwait(false);
        try
        {
            var fingerprint = SessionRouterConfigReader.Fingerprint(_configuration);
            var current = Current;
            if (string.Equals(fingerprint, current.Fingerprint, StringComparison.Ordinal)
                || string.Equals(fingerprint, _lastRejectedFingerprint, StringComparison.Ordinal))
            {
                return;
            }

            var options = SessionRouterConfigReader.Read(_configuration, _source, out var errors);
            if (errors.Count > 0)
            {
                _lastRejectedFingerprint = fingerprint;
                _metrics.ConfigurationRejected();
                GatewayLog.EditRefused(_logger, _source, current.Revision, string.Join(" | ", errors));
                Reloads.Record(new ReloadOutcome(_time.GetUtcNow(), Applied: false, current.Revision, errors));
                return;
            }

            _lastRejectedFingerprint = null;
            var next = await BuildAsync(options, fingerprint, current.Revision + 1, current, CancellationToken.None).ConfigureAwait(false);
            var mapRebuilt = !ReferenceEquals(next.Resolver, current.Resolver);
            _health.UpdateNodes(Probes(next));
            _health.UpdateSettings(options.HealthChecks);
            Swap(current, next);
            _metrics.ConfigurationApplied();
            GatewayLog.EditApplied(_logger, _source, next.Revision, next.Nodes.Length, mapRebuilt);
            Reloads.Record(new ReloadOutcome(next.AppliedAt, Applied: true, next.Revision, []));
        }
#pragma warning disable CA1031 // A failed reload must never take the gateway down: the last good snapshot stays.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            _metrics.ConfigurationRejected();
            GatewayLog.ReloadFailed(_logger, _source, ex);
            Reloads.Record(new ReloadOutcome(_time.GetUtcNow(), Applied: false, Current.Revision, [ex.Message]));
        }
        finally
        {
            _reloadGate.Release();
        }
    }

    private async ValueTask<GatewaySnapshot> BuildAsync(SessionRouterOptions options, string fingerprint, long revision, GatewaySnapshot? previous, CancellationToken cancellationToken)
    {
        var resolver = previous is not null && SameMap(previous.Options, options)
            ? previous.Resolver
            : PartitionResolver.Create(ToPartitionNodes(options));

        var handles = new StateNodeHandle[resolver.Nodes.Count];
        var created = new List<StateNodeHandle>();
        try
        {
            for (var i = 0; i < handles.Length; i++)
            {
                var nodeOptions = FindNode(options, resolver.Nodes[i].Id);
                var reused = previous is null ? null : FindReusable(previous, nodeOptions);
                if (reused is not null)
                {
                    reused.AddReference();
                    handles[i] = reused;
                    continue;
                }

                var connection = await _connector.ConnectAsync(nodeOptions, options, cancellationToken).ConfigureAwait(false);
                var handle = new StateNodeHandle(nodeOptions, connection, _recorder);
                created.Add(handle);
                handles[i] = handle;
            }
        }
        catch
        {
            foreach (var handle in created)
            {
                await handle.ReleaseAsync().ConfigureAwait(false);
            }

            for (var i = 0; i < handles.Length; i++)
            {
                if (handles[i] is { } h && !created.Contains(h))
                {
                    await h.ReleaseAsync().ConfigureAwait(false);
                }
            }

            throw;
        }

        var now = _time.GetUtcNow();
        var handovers = previous is null ? [] : HandoversAfter(previous, resolver, handles, now);
        foreach (var handover in handovers)
        {
            foreach (var handle in handover.Nodes)
            {
                handle.AddReference();
            }
        }

        return new GatewaySnapshot(options, revision, fingerprint, resolver, handles, now, handovers);
    }

    /// <summary>
    /// The handovers a snapshot built after <paramref name="previous"/> keeps: the previous map when the edit
    /// moves sessions (other nodes, weights or connections), and the previous snapshot's handovers not yet ended.
    /// </summary>
    private static List<MapHandover> HandoversAfter(GatewaySnapshot previous, IPartitionResolver resolver, StateNodeHandle[] handles, DateTimeOffset now)
    {
        var handovers = new List<MapHandover>(previous.Handovers.Count + 1);
        if (!ReferenceEquals(resolver, previous.Resolver) || !previous.Nodes.AsSpan().SequenceEqual(handles))
        {
            handovers.Add(new MapHandover(previous.Revision, previous.Resolver, previous.Nodes, now + previous.Options.IdleTimeout));
        }

        foreach (var handover in previous.Handovers)
        {
            if (handover.Until > now)
            {
                handovers.Add(handover);
            }
        }

        return handovers;
    }

    /// <summary>Makes <paramref name="next"/> current, retires <paramref name="current"/> and plans the end of the next handover.</summary>
    private void Swap(GatewaySnapshot current, GatewaySnapshot next)
    {
        Volatile.Write(ref _current, next);
        current.Retire(OnDrained);
        PlanHandoverEnd(next);
    }

    private void PlanHandoverEnd(GatewaySnapshot snapshot)
    {
        _handoverTimer?.Dispose();
        _handoverTimer = null;
        if (snapshot.Handovers.Count > 0)
        {
            var due = snapshot.Handovers.Min(h => h.Until) - _time.GetUtcNow();
            _handoverTimer = _time.CreateTimer(static state => _ = ((GatewaySnapshotProvider)state!).EndHandoversAsync(), this, due < TimeSpan.Zero ? TimeSpan.Zero : due, Timeout.InfiniteTimeSpan);
        }
    }

    /// <summary>
    /// Drops the handovers that have ended (their sessions have expired), so a removed node's client is disposed
    /// once its last session could have been handed over. Same configuration and revision, fewer old maps.
    /// </summary>
    private async Task EndHandoversAsync()
    {
        await _reloadGate.WaitAsync().ConfigureAwait(false);
        try
        {
            var current = Current;
            var now = _time.GetUtcNow();
            var kept = current.Handovers.Where(h => h.Until > now).ToList();
            if (kept.Count == current.Handovers.Count)
            {
                PlanHandoverEnd(current);
                return;
            }

            foreach (var handle in current.Nodes.Concat(kept.SelectMany(h => h.Nodes)))
            {
                handle.AddReference();
            }

            var next = new GatewaySnapshot(current.Options, current.Revision, current.Fingerprint, current.Resolver, current.Nodes, current.AppliedAt, kept);
            Swap(current, next);
            GatewayLog.HandoversEnded(_logger, current.Handovers.Count - kept.Count, current.Revision);
        }
        finally
        {
            _reloadGate.Release();
        }
    }

    private static StateNodeHandle? FindReusable(GatewaySnapshot previous, StateNodeOptions options)
    {
        foreach (var handle in previous.HeldNodes)
        {
            if (handle.SameConnection(options))
            {
                return handle;
            }
        }

        return null;
    }

    private static StateNodeOptions FindNode(SessionRouterOptions options, string id)
    {
        foreach (var node in options.Nodes)
        {
            if (string.Equals(node.Id, id, StringComparison.Ordinal))
            {
                return node;
            }
        }

        throw new InvalidOperationException($"The resolver returned node '{id}', which the map does not list.");
    }

    private static bool SameMap(SessionRouterOptions a, SessionRouterOptions b)
    {
        if (a.Nodes.Count != b.Nodes.Count)
        {
            return false;
        }

        foreach (var node in b.Nodes)
        {
            var match = false;
            foreach (var old in a.Nodes)
            {
                if (string.Equals(old.Id, node.Id, StringComparison.Ordinal) && old.Weight.Equals(node.Weight))
                {
                    match = true;
                    break;
                }
            }

            if (!match)
            {
                return false;
            }
        }

        return true;
    }

    private static List<PartitionNode> ToPartitionNodes(SessionRouterOptions options)
    {
        var nodes = new List<PartitionNode>(options.Nodes.Count);
        foreach (var node in options.Nodes)
        {
            nodes.Add(new PartitionNode(node.Id, node.Weight));
        }

        return nodes;
    }

    private static Dictionary<string, IStateNodeProbe> Probes(GatewaySnapshot snapshot)
    {
        var probes = new Dictionary<string, IStateNodeProbe>(StringComparer.Ordinal);
        foreach (var node in snapshot.Nodes)
        {
            probes[node.Id] = node.Probe;
        }

        return probes;
    }

    private void OnDrained(GatewaySnapshot retired)
    {
        _ = ReleaseNodesAsync(retired);
    }

    private async Task ReleaseNodesAsync(GatewaySnapshot retired)
    {
        foreach (var node in retired.HeldNodes)
        {
            try
            {
                await node.ReleaseAsync().ConfigureAwait(false);
            }
#pragma warning disable CA1031 // Disposing a removed node's client must not disturb the running gateway.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                GatewayLog.NodeDisposeFailed(_logger, node.Id, ex);
            }
        }
    }

    public ValueTask DisposeAsync()
    {
        var registration = Interlocked.Exchange(ref _changeRegistration, null);
        if (registration is null)
        {
            return ValueTask.CompletedTask;
        }

        registration.Dispose();
        _handoverTimer?.Dispose();
        if (_configFile is not null)
        {
            _configFile.EditRefused -= OnMalformedEdit;
        }

        Volatile.Read(ref _current).Retire(OnDrained);
        return ValueTask.CompletedTask;
    }
}
