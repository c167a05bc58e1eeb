using System.Collections.Frozen;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SessionRouter.Core.Configuration;
using SessionRouter.Core.Diagnostics;

namespace SessionRouter.Core.Health;

/// <summary>
/// Tracks the health of the state nodes of the partition map. Active: every <see cref="HealthCheckSettings.Interval"/>
/// each node is probed (at most <see cref="HealthCheckSettings.MaxConcurrentProbes"/> at once, each bounded by
/// <see cref="HealthCheckSettings.Timeout"/>); <see cref="HealthCheckSettings.FailuresToDown"/> failures in a row
/// mark a node down and <see cref="HealthCheckSettings.SuccessesToUp"/> good probes in a row bring it back, so a
/// flapping node does not bounce sessions. A round in which every node's probe timed out is not counted (see
/// <see cref="ProbeAllAsync"/>): it says more about the gateway than about the nodes. Passive: <see cref="ReportFailure"/> (a real store call failed, a
/// circuit opened) marks a node down at once; only probes bring it back. A node starts healthy, so a gateway
/// serves at once and the first probe round corrects it. <see cref="IsHealthy"/> is a lock-free read.
/// </summary>
public sealed class NodeHealthMonitor : INodeHealthView, INodeHealthReporter, IHostedService, IAsyncDisposable
{
    /// <summary>Name of the <see cref="Meter"/> the monitor reports on.</summary>
    public const string MeterName = "SessionRouter.Health";

    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly MeterScope _meter;
    private readonly Counter<long> _transitions;
    private readonly Lock _membershipGate = new();
    private readonly TransitionHistory _history = new();
    private volatile FrozenDictionary<string, NodeEntry> _nodes;
    private volatile HealthCheckSettings _settings;
    private CancellationTokenSource? _stopping;
    private Task? _loop;

    public NodeHealthMonitor(
        HealthCheckSettings settings,
        IReadOnlyDictionary<string, IStateNodeProbe> probes,
        TimeProvider? timeProvider = null,
        ILogger<NodeHealthMonitor>? logger = null,
        IMeterFactory? meterFactory = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(probes);
        _settings = settings;
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? NullLogger<NodeHealthMonitor>.Instance;
        var now = _time.GetUtcNow();
        _nodes = probes.ToFrozenDictionary(p => p.Key, p => new NodeEntry(p.Key, p.Value, now), StringComparer.Ordinal);
        _meter = new MeterScope(meterFactory, MeterName);
        _transitions = _meter.Meter.CreateCounter<long>(
            "sessionrouter.node.health.transitions",
            unit: "{transition}",
            description: "State nodes marked down or up again.");
        _meter.Meter.CreateObservableGauge(
            "sessionrouter.node.healthy",
            () => _nodes.Values.Select(n => new Measurement<int>(n.Healthy ? 1 : 0, new KeyValuePair<string, object?>(MetricTags.Node, n.Id))),
            unit: "{node}",
            description: "1 while a state node takes sessions, 0 while it is skipped.");
    }

    /// <summary>Raised after every probe round (tests wait on it instead of on time).</summary>
    internal event EventHandler? ProbeRoundCompleted;

    /// <summary>The settings of the next probe round.</summary>
    public HealthCheckSettings Settings => _settings;

    /// <summary>True unless the node is marked down. A node the monitor does not know is reported healthy.</summary>
    public bool IsHealthy(string nodeId)
        => nodeId is null || !_nodes.TryGetValue(nodeId, out var entry) || entry.Healthy;

    /// <inheritdoc />
    public void ReportFailure(string nodeId, Exception? error)
    {
        if (nodeId is not null && _nodes.TryGetValue(nodeId, out var entry))
        {
            RecordFailure(entry, Describe(error), passive: true);
        }
    }

    /// <inheritdoc />
    public void ReportSuccess(string nodeId)
    {
        if (nodeId is not null && _nodes.TryGetValue(nodeId, out var entry))
        {
            // A real call succeeded: forget earlier probe failures. A down node still needs its probes to come back.
            lock (entry.Gate)
            {
                if (entry.Healthy)
                {
                    entry.ConsecutiveFailures = 0;
                }
            }
        }
    }

    /// <summary>
    /// Replaces the set of probed nodes after a map edit. Nodes that stay (same id) keep their state and
    /// counters and use their new probe; new nodes start healthy; removed nodes are forgotten.
    /// </summary>
    public void UpdateNodes(IReadOnlyDictionary<string, IStateNodeProbe> probes)
    {
        ArgumentNullException.ThrowIfNull(probes);
        lock (_membershipGate)
        {
            var current = _nodes;
            var now = _time.GetUtcNow();
            var next = new Dictionary<string, NodeEntry>(StringComparer.Ordinal);
            foreach (var (id, probe) in probes)
            {
                if (current.TryGetValue(id, out var kept))
                {
                    kept.Probe = probe;
                    next[id] = kept;
                }
                else
                {
                    next[id] = new NodeEntry(id, probe, now);
                    CoreLog.NodeAdded(_logger, id);
                }
            }

            foreach (var id in current.Keys)
            {
                if (!next.ContainsKey(id))
                {
                    CoreLog.NodeRemoved(_logger, id);
                }
            }

            _nodes = next.ToFrozenDictionary(StringComparer.Ordinal);
        }
    }

    /// <summary>Replaces the probe settings; the next round uses them.</summary>
    public void UpdateSettings(HealthCheckSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _settings = settings;
    }

    /// <summary>The status of every node, by id.</summary>
    public IReadOnlyList<NodeHealthSnapshot> GetSnapshot()
        => _nodes.Values.OrderBy(n => n.Id, StringComparer.Ordinal).Select(n => n.Snapshot()).ToArray();

    /// <summary>The last transitions of any node (down or up again), newest first, for an operator's status page.</summary>
    public IReadOnlyList<NodeHealthTransition> GetRecentTransitions() => _history.Recent();

    /// <summary>The status of one node, or null when the monitor does not know it.</summary>
    public NodeHealthSnapshot? GetSnapshot(string nodeId)
        => _nodes.TryGetValue(nodeId, out var entry) ? entry.Snapshot() : null;

    /// <summary>Starts background probing: one round now, then one per interval.</summary>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (_loop is null)
        {
            _stopping = new CancellationTokenSource();
            _loop = RunAsync(_stopping.Token);
        }

        return Task.CompletedTask;
    }

    /// <summary>Stops background probing and waits for the running round to end.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_loop is null || _stopping is null)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            await _loop.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Shutting down: the loop ends on its own.
        }

        _stopping.Dispose();
        _stopping = null;
        _loop = null;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        _meter.Dispose();
    }

    /// <summary>Probes every node once (bounded concurrency) and applies the results.</summary>
    /// <remarks>
    /// A round in which the probe of every node timed out is not counted: when no node at all answers in time,
    /// the gateway itself (a starved CPU, a stalled thread pool, its own network) is the likelier cause, and
    /// marking every node down would turn a slow moment into an outage. A real outage is still seen: real store
    /// calls fail and report the node down at once (and such a node comes back only through good probes), and
    /// any round where one node answers or one fails fast (refused, an error status) counts as usual. With a
    /// single node this means a node that hangs is taken out by the first real call that fails, not by probes.
    /// </remarks>
    public async Task ProbeAllAsync(CancellationToken cancellationToken)
    {
        var settings = _settings;
        var nodes = _nodes.Values;
        using var slots = new SemaphoreSlim(settings.MaxConcurrentProbes);
        var probes = new Task<ProbeOutcome>[nodes.Length];
        for (var i = 0; i < nodes.Length; i++)
        {
            probes[i] = ProbeOneAsync(nodes[i], slots, settings, cancellationToken);
        }

        var outcomes = await Task.WhenAll(probes).ConfigureAwait(false);
        if (outcomes.Length > 0 && Array.TrueForAll(outcomes, o => o.TimedOut))
        {
            CoreLog.ProbeRoundInconclusive(_logger, outcomes.Length, settings.Timeout.TotalMilliseconds);
        }
        else
        {
            for (var i = 0; i < nodes.Length; i++)
            {
                if (outcomes[i].Failure is { } failure)
                {
                    RecordFailure(nodes[i], failure, passive: false, settings);
                }
                else
                {
                    RecordProbeSuccess(nodes[i], settings);
                }
            }
        }

        ProbeRoundCompleted?.Invoke(this, EventArgs.Empty);
    }

    private async Task RunAsync(CancellationToken stopping)
    {
        var period = _settings.Interval;
        using var timer = new PeriodicTimer(period, _time);
        try
        {
            do
            {
                try
                {
                    await ProbeAllAsync(stopping).ConfigureAwait(false);
                }
                catch (Exception error) when (!stopping.IsCancellationRequested)
                {
                    CoreLog.ProbeRoundFailed(_logger, error);
                }

                if (_settings.Interval != period)
                {
                    period = _settings.Interval;
                    timer.Period = period;
                }
            }
            while (await timer.WaitForNextTickAsync(stopping).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Stopped.
        }
    }

    private async Task<ProbeOutcome> ProbeOneAsync(NodeEntry entry, SemaphoreSlim slots, HealthCheckSettings settings, CancellationToken cancellationToken)
    {
        await slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var timeout = new CancellationTokenSource(settings.Timeout, _time);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
            try
            {
                // WaitAsync bounds the wait even for a probe that ignores its token.
                await entry.Probe.ProbeAsync(linked.Token).AsTask()
                    .WaitAsync(settings.Timeout, _time, cancellationToken).ConfigureAwait(false);
                return ProbeOutcome.Success;
            }
            catch (Exception error) when (!cancellationToken.IsCancellationRequested)
            {
                return error is TimeoutException || (error is OperationCanceledException && timeout.IsCancellationRequested)
                    ? new ProbeOutcome($"probe timed out after {settings.Timeout.TotalMilliseconds:0} ms", TimedOut: true)
                    : new ProbeOutcome(Describe(error), TimedOut: false);
            }
        }
        finally
        {
            slots.Release();
        }
    }

    private void RecordProbeSuccess(NodeEntry entry, HealthCheckSettings settings)
    {
        var cameBack = false;
        lock (entry.Gate)
        {
            var now = _time.GetUtcNow();
            entry.LastProbe = now;
            entry.ConsecutiveFailures = 0;
            if (!entry.Healthy)
            {
                entry.ConsecutiveSuccesses++;
                if (entry.ConsecutiveSuccesses >= settings.SuccessesToUp)
                {
                    entry.ConsecutiveSuccesses = 0;
                    entry.Since = now;
                    entry.Healthy = true;
                    cameBack = true;
                }
            }
        }

        if (cameBack)
        {
            _history.Add(new NodeHealthTransition(entry.Id, Healthy: true, _time.GetUtcNow(), $"{settings.SuccessesToUp} good probe(s) in a row"));
            CoreLog.NodeUp(_logger, entry.Id, settings.SuccessesToUp);
            _transitions.Add(1, new KeyValuePair<string, object?>(MetricTags.Node, entry.Id), new KeyValuePair<string, object?>(MetricTags.State, "up"));
        }
    }

    private void RecordFailure(NodeEntry entry, string reason, bool passive, HealthCheckSettings? settings = null)
    {
        var wentDown = false;
        int failures;
        lock (entry.Gate)
        {
            var now = _time.GetUtcNow();
            if (!passive)
            {
                entry.LastProbe = now;
            }

            entry.LastError = reason;
            entry.ConsecutiveSuccesses = 0;
            failures = ++entry.ConsecutiveFailures;
            if (entry.Healthy && (passive || failures >= settings!.FailuresToDown))
            {
                entry.Healthy = false;
                entry.Since = now;
                wentDown = true;
            }
        }

        if (wentDown)
        {
            _history.Add(new NodeHealthTransition(entry.Id, Healthy: false, _time.GetUtcNow(), reason));
            CoreLog.NodeDown(_logger, entry.Id, passive ? "a store call failed" : "probes failed", failures, reason);
            _transitions.Add(1, new KeyValuePair<string, object?>(MetricTags.Node, entry.Id), new KeyValuePair<string, object?>(MetricTags.State, "down"));
        }
        else if (!passive)
        {
            CoreLog.ProbeFailed(_logger, entry.Id, failures, reason);
        }
    }

    private static string Describe(Exception? error) => error switch
    {
        null => "failure reported without an exception",
        _ => $"{error.GetType().Name}: {error.Message}",
    };

    /// <summary>A bounded list of the latest transitions: enough to explain the last minutes, never growing.</summary>
    private sealed class TransitionHistory
    {
        private const int Capacity = 20;
        private readonly Lock _gate = new();
        private readonly Queue<NodeHealthTransition> _items = new();

        public void Add(NodeHealthTransition transition)
        {
            lock (_gate)
            {
                _items.Enqueue(transition);
                if (_items.Count > Capacity)
                {
                    _items.Dequeue();
                }
            }
        }

        public NodeHealthTransition[] Recent()
        {
            lock (_gate)
            {
                var recent = _items.ToArray();
                Array.Reverse(recent);
                return recent;
            }
        }
    }

    /// <summary>What one probe found: null <paramref name="Failure"/> when the node answered healthy.</summary>
    private readonly record struct ProbeOutcome(string? Failure, bool TimedOut)
    {
        public static ProbeOutcome Success => default;
    }

    /// <summary>One node's state. Only <see cref="Healthy"/> is read without the gate.</summary>
    private sealed class NodeEntry(string id, IStateNodeProbe probe, DateTimeOffset since)
    {
        private volatile bool _healthy = true;
        private volatile IStateNodeProbe _probe = probe;

        public string Id { get; } = id;

        public Lock Gate { get; } = new();

        public IStateNodeProbe Probe
        {
            get => _probe;
            set => _probe = value;
        }

        public bool Healthy
        {
            get => _healthy;
            set => _healthy = value;
        }

        public DateTimeOffset Since { get; set; } = since;

        public int ConsecutiveFailures { get; set; }

        public int ConsecutiveSuccesses { get; set; }

        public string? LastError { get; set; }

        public DateTimeOffset? LastProbe { get; set; }

        public NodeHealthSnapshot Snapshot()
        {
            lock (Gate)
            {
                return new NodeHealthSnapshot(
                    Id,
                    Healthy ? NodeHealthState.Healthy : NodeHealthState.Unhealthy,
                    Since,
                    ConsecutiveFailures,
                    ConsecutiveSuccesses,
                    LastError,
                    LastProbe);
            }
        }
    }
}
