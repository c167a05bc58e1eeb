using System.Globalization;
using Xunit;
using Xunit.Abstractions;

namespace SessionRouter.Gateway.Tests.Chaos;

/// <summary>
/// Runs alone: its load and its engine processes take the machine's cores, and other tests' timing must not decide
/// whether its faults settle in time (nor its faults theirs).
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ChaosCollection
{
    public const string Name = "Chaos";
}

/// <summary>
/// The acceptance test of replication (R = 2 in the test run; SESSIONROUTER_CHAOS_REPLICAS=3 in longer runs): engine nodes as OS processes behind two gateways, sessions incrementing
/// counters through either gateway, while a driver crashes a node and restarts it empty, hangs one and lets it go on,
/// adds a node to the map and removes one. No acknowledged increment may be lost, no read may go back, and at the end
/// every session answers. Requests may fail only while a fault is active. The figures of each phase go to the test
/// output. scripts/chaos/run.sh runs it longer and wider (<see cref="ChaosSettings"/>).
/// </summary>
[Collection(ChaosCollection.Name)]
public sealed class ChaosTests(ITestOutputHelper output)
{
    private enum Fault
    {
        Crash,
        Hang,
        AddNode,
        RemoveNode,
    }

    // Each kind of fault in turn, again while the schedule lasts.
    private static readonly Fault[] Cycle = [Fault.Crash, Fault.Hang, Fault.AddNode, Fault.RemoveNode];

    [Fact]
    public async Task CrashesHangsAndMapEdits_UnderLoad_LoseNoAcknowledgedWrite_AndLeaveNoSessionStuck()
    {
        var settings = ChaosSettings.FromEnvironment();
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"chaos: {settings.Sessions} sessions, R = {settings.ReplicationFactor}, leases {(settings.Leases ? "on" : "off")}, faults for {settings.ScheduleSeconds} s, seed {settings.Seed} ({ChaosSettings.SeedVariable} replays the fault choices)"));
        using var overall = new CancellationTokenSource(settings.OverallBound);
        var cancellationToken = overall.Token;
        var book = new PhaseBook($"start: {settings.Sessions} sessions");
        using var leaseCounters = new LeaseCounters();
        IReadOnlyList<int> stuck = [];
        var sessionsWithViolations = 0;
        var finished = false;
        try
        {
            await using var farm = await ChaosFarm.StartAsync(book, settings.ReplicationFactor, settings.Leases, cancellationToken);
            await using var load = new ChaosLoad(farm.Gateways, book, settings.Sessions, settings.Seed);
            try
            {
                await load.StartSessionsAsync(cancellationToken);
                load.Run(cancellationToken);
                book.Begin("steady", isFault: false);
                await Task.Delay(ChaosSettings.QuietFor, cancellationToken);

                await RunScheduleAsync(farm, book, settings, cancellationToken);

                await load.StopAsync();
                book.Begin("final: every session increments and reads", isFault: false);
                stuck = await load.CheckEverySessionAnswersAsync(cancellationToken);
                sessionsWithViolations = load.SessionsWithViolations;
                finished = true;
            }
            catch (OperationCanceledException) when (overall.IsCancellationRequested)
            {
                throw new TimeoutException($"the chaos run took longer than its bound of {settings.OverallBound.TotalSeconds} s\n{farm.NodeOutput()}");
            }
        }
        finally
        {
            book.Note(finished ? "done" : "stopped by the error below");
            output.WriteLine(book.Describe());
        }

        var total = book.Total();
        var verdict = string.Create(CultureInfo.InvariantCulture,
            $"lost {total.Lost}, stale {total.Stale}, stuck {stuck.Count}, counts ahead {total.Ahead}, answers under a new session id {total.NewIds}, failures outside faults {total.Unexpected}; {sessionsWithViolations} of {settings.Sessions} sessions affected (seed {settings.Seed})");
        if (stuck.Count > 0)
        {
            verdict += $"; stuck sessions (by index): {string.Join(", ", stuck)}";
        }

        output.WriteLine(verdict);
        output.WriteLine(leaseCounters.Describe());
        Assert.True(
            total.Lost == 0 && total.Stale == 0 && stuck.Count == 0 && total.Ahead == 0 && total.NewIds == 0 && total.Unexpected == 0,
            verdict + "\n" + book.Describe());
    }

    /// <summary>Faults in turn, each followed by a quiet time, while the schedule lasts; a fault is over when the farm settled.</summary>
    private static async Task RunScheduleAsync(ChaosFarm farm, PhaseBook book, ChaosSettings settings, CancellationToken cancellationToken)
    {
        var random = new Random(settings.Seed);
        var end = book.Elapsed + TimeSpan.FromSeconds(settings.ScheduleSeconds);
        for (var step = 0; book.Elapsed < end; step++)
        {
            var victim = farm.MapNodes[random.Next(farm.MapNodes.Count)];
            switch (Cycle[step % Cycle.Length])
            {
                case Fault.Crash:
                    book.Begin($"crash {victim.Id}: SIGKILL, restart empty after {ChaosSettings.CrashDownFor.TotalSeconds} s", isFault: true);
                    await victim.KillAsync();
                    book.Note($"killed {victim.Id}");
                    await Task.Delay(ChaosSettings.CrashDownFor, cancellationToken);
                    await victim.RestartAsync(cancellationToken);
                    book.Note($"restarted {victim.Id} empty (pid {victim.ProcessId})");
                    break;
                case Fault.Hang:
                    book.Begin($"hang {victim.Id}: SIGSTOP {ChaosSettings.HangFor.TotalSeconds} s, SIGCONT", isFault: true);
                    victim.Suspend();
                    try
                    {
                        await Task.Delay(ChaosSettings.HangFor, cancellationToken);
                    }
                    finally
                    {
                        victim.Resume();
                    }

                    book.Note($"resumed {victim.Id}");
                    break;
                case Fault.AddNode:
                    book.Begin("map edit: add a node", isFault: true);
                    await farm.AddNodeAsync(cancellationToken);
                    break;
                case Fault.RemoveNode:
                    // The node that has been in the map longest: it holds the most sessions' history.
                    var removed = farm.MapNodes[0];
                    book.Begin($"map edit: remove {removed.Id}", isFault: true);
                    await farm.RemoveNodeAsync(removed, cancellationToken);
                    break;
            }

            await farm.WaitUntilSettledAsync(cancellationToken);
            book.Begin("quiet", isFault: false);
            await Task.Delay(ChaosSettings.QuietFor, cancellationToken);
            await farm.StopDrainedNodesAsync();
        }
    }

    /// <summary>Sums the gateways' lease counters over the run (both gateways run in this process), for the run's figures.</summary>
    private sealed class LeaseCounters : IDisposable
    {
        private const string Prefix = "sessionrouter.gateway.leases.";
        private readonly System.Collections.Concurrent.ConcurrentDictionary<string, long> _totals = new();
        private readonly System.Diagnostics.Metrics.MeterListener _listener = new();

        public LeaseCounters()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Name.StartsWith(Prefix, StringComparison.Ordinal) && instrument is System.Diagnostics.Metrics.Counter<long>)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((instrument, value, _, _) => _totals.AddOrUpdate(instrument.Name[Prefix.Length..], value, (_, sum) => sum + value));
            _listener.Start();
        }

        public string Describe() => "leases: " + (_totals.IsEmpty
            ? "none counted"
            : string.Join(", ", _totals.OrderBy(t => t.Key, StringComparer.Ordinal).Select(t => string.Create(CultureInfo.InvariantCulture, $"{t.Key} {t.Value}"))));

        public void Dispose() => _listener.Dispose();
    }
}
