using System.Diagnostics.Metrics;
using Microsoft.Extensions.Time.Testing;
using SessionRouter.Core.Configuration;
using SessionRouter.Core.Health;

namespace SessionRouter.Core.Tests.Health;

public sealed class NodeHealthMonitorTests
{
    /// <summary>Guards against a hang only; no test measures time.</summary>
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(30);

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 24, 12, 0, 0, TimeSpan.Zero));

    private static HealthCheckSettings Settings(int failuresToDown = 2, int successesToUp = 3, int maxConcurrent = 8) => new()
    {
        Interval = TimeSpan.FromSeconds(1),
        Timeout = TimeSpan.FromMilliseconds(500),
        FailuresToDown = failuresToDown,
        SuccessesToUp = successesToUp,
        MaxConcurrentProbes = maxConcurrent,
    };

    [Fact]
    public async Task NodesStartHealthy_AndUnknownNodesAreHealthy()
    {
        await using var monitor = new NodeHealthMonitor(Settings(), Probes(("a", new FakeProbe()), ("b", new FakeProbe())), _time);
        Assert.True(monitor.IsHealthy("a"));
        Assert.True(monitor.IsHealthy("b"));
        Assert.True(monitor.IsHealthy("never-heard-of"));
        Assert.All(monitor.GetSnapshot(), s => Assert.Equal(NodeHealthState.Healthy, s.State));
        Assert.Equal(["a", "b"], monitor.GetSnapshot().Select(s => s.NodeId));
    }

    [Fact]
    public async Task FailedProbes_MarkANodeDownOnlyAfterFailuresToDown()
    {
        var probe = new FakeProbe { Fails = true };
        await using var monitor = new NodeHealthMonitor(Settings(failuresToDown: 3), Probes(("a", probe)), _time);

        await monitor.ProbeAllAsync(CancellationToken.None);
        await monitor.ProbeAllAsync(CancellationToken.None);
        Assert.True(monitor.IsHealthy("a"));
        Assert.Equal(2, monitor.GetSnapshot("a")!.ConsecutiveFailures);

        await monitor.ProbeAllAsync(CancellationToken.None);
        Assert.False(monitor.IsHealthy("a"));
        var status = monitor.GetSnapshot("a")!;
        Assert.Equal(NodeHealthState.Unhealthy, status.State);
        Assert.Equal(_time.GetUtcNow(), status.Since);
        Assert.Contains("probe failed on purpose", status.LastError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AGoodProbe_ResetsTheFailureCount()
    {
        var probe = new FakeProbe { Fails = true };
        await using var monitor = new NodeHealthMonitor(Settings(failuresToDown: 2), Probes(("a", probe)), _time);
        await monitor.ProbeAllAsync(CancellationToken.None);
        probe.Fails = false;
        await monitor.ProbeAllAsync(CancellationToken.None);
        probe.Fails = true;
        await monitor.ProbeAllAsync(CancellationToken.None);
        Assert.True(monitor.IsHealthy("a"));
    }

    [Fact]
    public async Task ADownNode_ComesBackOnlyAfterSuccessesToUpInARow()
    {
        var probe = new FakeProbe();
        await using var monitor = new NodeHealthMonitor(Settings(successesToUp: 3), Probes(("a", probe)), _time);
        monitor.ReportFailure("a", new IOException("connection refused"));
        Assert.False(monitor.IsHealthy("a"));

        await monitor.ProbeAllAsync(CancellationToken.None);
        await monitor.ProbeAllAsync(CancellationToken.None);
        Assert.False(monitor.IsHealthy("a"));
        Assert.Equal(2, monitor.GetSnapshot("a")!.ConsecutiveSuccesses);

        // A failure in between starts the count again: a flapping node stays out.
        probe.Fails = true;
        await monitor.ProbeAllAsync(CancellationToken.None);
        probe.Fails = false;
        await monitor.ProbeAllAsync(CancellationToken.None);
        await monitor.ProbeAllAsync(CancellationToken.None);
        Assert.False(monitor.IsHealthy("a"));

        _time.Advance(TimeSpan.FromSeconds(5));
        await monitor.ProbeAllAsync(CancellationToken.None);
        Assert.True(monitor.IsHealthy("a"));
        Assert.Equal(_time.GetUtcNow(), monitor.GetSnapshot("a")!.Since);
    }

    [Fact]
    public async Task ReportFailure_MarksDownAtOnce_AndReportSuccessDoesNotBringItBack()
    {
        await using var monitor = new NodeHealthMonitor(Settings(failuresToDown: 5), Probes(("a", new FakeProbe()), ("b", new FakeProbe())), _time);
        monitor.ReportFailure("a", new TimeoutException("store call timed out"));
        Assert.False(monitor.IsHealthy("a"));
        Assert.True(monitor.IsHealthy("b"));
        Assert.Contains("store call timed out", monitor.GetSnapshot("a")!.LastError, StringComparison.Ordinal);

        monitor.ReportSuccess("a");
        Assert.False(monitor.IsHealthy("a"));

        // Unknown nodes are ignored rather than failing the caller.
        monitor.ReportFailure("unknown", null);
        monitor.ReportSuccess("unknown");
    }

    [Fact]
    public async Task ReportSuccess_ClearsProbeFailuresOfAHealthyNode()
    {
        var probe = new FakeProbe { Fails = true };
        await using var monitor = new NodeHealthMonitor(Settings(failuresToDown: 2), Probes(("a", probe)), _time);
        await monitor.ProbeAllAsync(CancellationToken.None);
        monitor.ReportSuccess("a");
        await monitor.ProbeAllAsync(CancellationToken.None);
        Assert.True(monitor.IsHealthy("a"));
    }

    [Fact]
    public async Task AProbeThatDoesNotAnswer_FailsAtTheTimeout()
    {
        var probe = new FakeProbe { Hangs = true };
        await using var monitor = new NodeHealthMonitor(Settings(failuresToDown: 1), Probes(("a", probe), ("b", new FakeProbe())), _time);
        var round = monitor.ProbeAllAsync(CancellationToken.None);
        Assert.False(round.IsCompleted);

        _time.Advance(TimeSpan.FromMilliseconds(499));
        Assert.True(monitor.IsHealthy("a"));
        _time.Advance(TimeSpan.FromMilliseconds(1));
        await round.WaitAsync(HangGuard);

        Assert.False(monitor.IsHealthy("a"));
        Assert.Contains("timed out", monitor.GetSnapshot("a")!.LastError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AProbeThatIgnoresCancellation_StillFailsAtTheTimeout()
    {
        var probe = new FakeProbe { HangsIgnoringCancellation = true };
        await using var monitor = new NodeHealthMonitor(Settings(failuresToDown: 1), Probes(("a", probe), ("b", new FakeProbe())), _time);
        var round = monitor.ProbeAllAsync(CancellationToken.None);
        _time.Advance(TimeSpan.FromMilliseconds(500));
        await round.WaitAsync(HangGuard);
        Assert.False(monitor.IsHealthy("a"));
        probe.Release();
    }

    [Fact]
    public async Task ARoundWhereEveryProbeTimesOut_IsNotCounted()
    {
        // A gateway too starved to see any answer in time must not mark every node down at once.
        var probes = new[] { new FakeProbe { Hangs = true }, new FakeProbe { Hangs = true }, new FakeProbe { Hangs = true } };
        await using var monitor = new NodeHealthMonitor(Settings(failuresToDown: 1), Probes(("a", probes[0]), ("b", probes[1]), ("c", probes[2])), _time);

        for (var round = 0; round < 3; round++)
        {
            var probing = monitor.ProbeAllAsync(CancellationToken.None);
            _time.Advance(TimeSpan.FromMilliseconds(500));
            await probing.WaitAsync(HangGuard);
        }

        Assert.All(monitor.GetSnapshot(), s =>
        {
            Assert.Equal(NodeHealthState.Healthy, s.State);
            Assert.Equal(0, s.ConsecutiveFailures);
        });
        Assert.All(probes, p => Assert.Equal(3, p.Calls));
    }

    [Fact]
    public async Task ASingleNodeThatDoesNotAnswer_IsTakenOutByARealCall_NotByProbes()
    {
        var probe = new FakeProbe { Hangs = true };
        await using var monitor = new NodeHealthMonitor(Settings(failuresToDown: 1, successesToUp: 1), Probes(("a", probe)), _time);
        var probing = monitor.ProbeAllAsync(CancellationToken.None);
        _time.Advance(TimeSpan.FromMilliseconds(500));
        await probing.WaitAsync(HangGuard);
        Assert.True(monitor.IsHealthy("a"));

        monitor.ReportFailure("a", new TimeoutException("store call timed out"));
        Assert.False(monitor.IsHealthy("a"));

        // Still hanging: timed-out probes do not bring it back either.
        probing = monitor.ProbeAllAsync(CancellationToken.None);
        _time.Advance(TimeSpan.FromMilliseconds(500));
        await probing.WaitAsync(HangGuard);
        Assert.False(monitor.IsHealthy("a"));

        probe.Hangs = false;
        await monitor.ProbeAllAsync(CancellationToken.None);
        Assert.True(monitor.IsHealthy("a"));
    }

    [Fact]
    public async Task TimeoutsCount_WhenAnotherNodeAnswersInTheSameRound()
    {
        await using var monitor = new NodeHealthMonitor(Settings(failuresToDown: 1), Probes(("a", new FakeProbe { Hangs = true }), ("b", new FakeProbe { Hangs = true }), ("c", new FakeProbe())), _time);
        var probing = monitor.ProbeAllAsync(CancellationToken.None);
        _time.Advance(TimeSpan.FromMilliseconds(500));
        await probing.WaitAsync(HangGuard);

        Assert.False(monitor.IsHealthy("a"));
        Assert.False(monitor.IsHealthy("b"));
        Assert.True(monitor.IsHealthy("c"));
        Assert.Contains("timed out", monitor.GetSnapshot("a")!.LastError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TimeoutsCount_WhenAnotherNodeFailsFast()
    {
        // A refused connection is an answer: the round is counted, the hung node too.
        await using var monitor = new NodeHealthMonitor(Settings(failuresToDown: 1), Probes(("a", new FakeProbe { Hangs = true }), ("b", new FakeProbe { Fails = true })), _time);
        var probing = monitor.ProbeAllAsync(CancellationToken.None);
        _time.Advance(TimeSpan.FromMilliseconds(500));
        await probing.WaitAsync(HangGuard);

        Assert.False(monitor.IsHealthy("a"));
        Assert.False(monitor.IsHealthy("b"));
    }

    [Fact]
    public async Task Probes_RunWithBoundedConcurrency()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var tracker = new ConcurrencyTracker();
        var probes = Enumerable.Range(0, 10).Select(i => ($"n{i}", (IStateNodeProbe)new FakeProbe { Gate = gate.Task, Tracker = tracker })).ToArray();
        await using var monitor = new NodeHealthMonitor(Settings(maxConcurrent: 3), Probes(probes), _time);

        var round = monitor.ProbeAllAsync(CancellationToken.None);
        Assert.Equal(3, tracker.InFlight);
        Assert.Equal(3, tracker.Started);

        gate.SetResult();
        await round.WaitAsync(HangGuard);
        Assert.Equal(10, tracker.Started);
        Assert.Equal(3, tracker.MaxInFlight);
        Assert.All(monitor.GetSnapshot(), s => Assert.Equal(NodeHealthState.Healthy, s.State));
    }

    [Fact]
    public async Task UpdateNodes_KeepsTheStateOfNodesThatStay()
    {
        var oldProbe = new FakeProbe();
        await using var monitor = new NodeHealthMonitor(Settings(successesToUp: 1), Probes(("a", oldProbe), ("b", new FakeProbe())), _time);
        monitor.ReportFailure("a", null);

        var newProbe = new FakeProbe { Fails = true };
        monitor.UpdateNodes(Probes(("a", newProbe), ("c", new FakeProbe())));
        Assert.False(monitor.IsHealthy("a"));
        Assert.True(monitor.IsHealthy("c"));
        Assert.Null(monitor.GetSnapshot("b"));
        Assert.Equal(["a", "c"], monitor.GetSnapshot().Select(s => s.NodeId));

        await monitor.ProbeAllAsync(CancellationToken.None);
        Assert.Equal(0, oldProbe.Calls);
        Assert.Equal(1, newProbe.Calls);
        Assert.False(monitor.IsHealthy("a"));
    }

    [Fact]
    public async Task BackgroundProbing_RunsARoundAtStartAndOnePerInterval()
    {
        var probe = new FakeProbe { Fails = true };
        await using var monitor = new NodeHealthMonitor(Settings(failuresToDown: 2), Probes(("a", probe)), _time);
        var rounds = new SemaphoreSlim(0);
        monitor.ProbeRoundCompleted += (_, _) => rounds.Release();

        await monitor.StartAsync(CancellationToken.None);
        Assert.True(await rounds.WaitAsync(HangGuard));
        Assert.Equal(1, probe.Calls);
        Assert.True(monitor.IsHealthy("a"));

        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(await rounds.WaitAsync(HangGuard));
        Assert.Equal(2, probe.Calls);
        Assert.False(monitor.IsHealthy("a"));

        await monitor.StopAsync(CancellationToken.None);
        _time.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(2, probe.Calls);
    }

    [Fact]
    public async Task Transitions_AreCounted()
    {
        var node = $"metered-{Guid.NewGuid():N}";
        var seen = new List<string>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == NodeHealthMonitor.MeterName && instrument.Name == "sessionrouter.node.health.transitions")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            var tagList = tags.ToArray();
            if (tagList.Any(t => t.Key == "node" && (string?)t.Value == node))
            {
                lock (seen)
                {
                    seen.Add((string)tagList.Single(t => t.Key == "state").Value!);
                }
            }
        });
        listener.Start();

        await using var monitor = new NodeHealthMonitor(Settings(successesToUp: 1), Probes((node, new FakeProbe())), _time);
        monitor.ReportFailure(node, null);
        monitor.ReportFailure(node, null);
        await monitor.ProbeAllAsync(CancellationToken.None);
        await monitor.ProbeAllAsync(CancellationToken.None);

        Assert.Equal(["down", "up"], seen);
    }

    [Fact]
    public async Task RecentTransitions_ListDownAndUpAgain_NewestFirst_WithTheirCause()
    {
        var probe = new FakeProbe();
        await using var monitor = new NodeHealthMonitor(Settings(successesToUp: 1), Probes(("a", probe), ("b", new FakeProbe())), _time);
        Assert.Empty(monitor.GetRecentTransitions());

        monitor.ReportFailure("a", new InvalidOperationException("connection refused"));
        _time.Advance(TimeSpan.FromSeconds(1));
        await monitor.ProbeAllAsync(CancellationToken.None);

        var transitions = monitor.GetRecentTransitions();
        Assert.Equal(2, transitions.Count);
        Assert.Equal(("a", true), (transitions[0].NodeId, transitions[0].Healthy));
        Assert.Equal(("a", false), (transitions[1].NodeId, transitions[1].Healthy));
        Assert.Contains("connection refused", transitions[1].Cause, StringComparison.Ordinal);
        Assert.Equal(_time.GetUtcNow(), transitions[0].At);
        Assert.Equal(_time.GetUtcNow() - TimeSpan.FromSeconds(1), transitions[1].At);
    }

    [Fact]
    public async Task RecentTransitions_AreBounded()
    {
        await using var monitor = new NodeHealthMonitor(Settings(successesToUp: 1), Probes(("a", new FakeProbe())), _time);
        for (var i = 0; i < 30; i++)
        {
            monitor.ReportFailure("a", null);
            await monitor.ProbeAllAsync(CancellationToken.None);
        }

        Assert.Equal(20, monitor.GetRecentTransitions().Count);
    }

    private static Dictionary<string, IStateNodeProbe> Probes(params (string Id, IStateNodeProbe Probe)[] probes)
        => probes.ToDictionary(p => p.Id, p => p.Probe);

    private sealed class ConcurrencyTracker
    {
        private int _inFlight;
        private int _maxInFlight;
        private int _started;

        public int InFlight => Volatile.Read(ref _inFlight);

        public int MaxInFlight => Volatile.Read(ref _maxInFlight);

        public int Started => Volatile.Read(ref _started);

        public void Enter()
        {
            Interlocked.Increment(ref _started);
            var now = Interlocked.Increment(ref _inFlight);
            int max;
            while (now > (max = Volatile.Read(ref _maxInFlight)) && Interlocked.CompareExchange(ref _maxInFlight, now, max) != max)
            {
            }
        }

        public void Exit() => Interlocked.Decrement(ref _inFlight);
    }

    private sealed class FakeProbe : IStateNodeProbe
    {
        private readonly TaskCompletionSource _ignoring = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _calls;

        public bool Fails { get; set; }

        public bool Hangs { get; set; }

        public bool HangsIgnoringCancellation { get; set; }

        public Task? Gate { get; set; }

        public ConcurrencyTracker? Tracker { get; set; }

        public int Calls => Volatile.Read(ref _calls);

        public void Release() => _ignoring.TrySetResult();

        public async ValueTask ProbeAsync(CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _calls);
            Tracker?.Enter();
            try
            {
                if (Gate is not null)
                {
                    await Gate;
                }

                if (Hangs)
                {
                    await Task.Delay(Timeout.Infinite, cancellationToken);
                }

                if (HangsIgnoringCancellation)
                {
                    await _ignoring.Task;
                }

                if (Fails)
                {
                    throw new IOException("probe failed on purpose");
                }
            }
            finally
            {
                Tracker?.Exit();
            }
        }
    }
}
