using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using SessionRouter.Core.Configuration;
using SessionRouter.Core.Health;
using SessionRouter.Core.Partitioning;

namespace SessionRouter.Benchmarks.Partitioning;

/// <summary>
/// A quick side-by-side of lookup cost (including the hash of a 22-character id) for every instruction
/// width of the resolver, at N = 3, 10, 100, 1000. Each figure is the fastest and the median of 101 rounds
/// of 10,000 lookups: on a shared machine the fastest round is the one least disturbed by other work, so
/// it is the figure to compare; <see cref="PartitionLookupBenchmarks"/> is the full BenchmarkDotNet run.
/// Run: <c>dotnet run -c Release --project tests/SessionRouter.Benchmarks -- partition-lookup [--sizes 3,10,100,1000] [--paths Vector512,Vector256,Vector128,Scalar]</c>.
/// </summary>
internal sealed class PartitionLookupScenario : IBenchmarkScenario
{
    private const int Rounds = 101;
    private const int LookupsPerRound = 10_000;

    public string Name => "partition-lookup";

    public string Description => "Partition lookup cost per instruction width (fastest / median of 101 rounds), N = 3..1000";

    public async Task<int> RunAsync(string[] args, CancellationToken cancellationToken)
    {
        var i = Array.IndexOf(args, "--sizes");
        var sizes = i >= 0 && i + 1 < args.Length ? args[i + 1].Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray() : [3, 10, 100, 1000];
        var keys = MakeKeys(1024);

        // The instruction width is internal to the resolver (the product always takes the widest the CPU
        // accelerates); reflection reaches the factory the tests use to compare the paths.
        var pathType = typeof(PartitionResolver).Assembly.GetType("SessionRouter.Core.Partitioning.RendezvousPath", throwOnError: true)!;
        var create = typeof(PartitionResolver).GetMethod("Create", BindingFlags.NonPublic | BindingFlags.Static, [typeof(IEnumerable<PartitionNode>), pathType])!;
        var j = Array.IndexOf(args, "--paths");
        var paths = j >= 0 && j + 1 < args.Length ? args[j + 1].Split(',') : Enum.GetNames(pathType).Reverse().ToArray();

        var defaultPath = typeof(PartitionResolver).GetProperty("Path", BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(PartitionResolver.Create([new("a")]));
        Console.WriteLine($"partition-lookup: ns per lookup incl. XxHash3 of a 22-char id, fastest / median of {Rounds} rounds x {LookupsPerRound:N0} (through a delegate); default path {defaultPath}");
        Console.WriteLine($"{"N",5} {"path",-10} {"weights",-8} {"primary",16} {"primary+2",16} {"gateway choice",16} {"failover",16}");
        foreach (var n in sizes)
        {
            var ids = Enumerable.Range(0, n).Select(x => $"node-{x:D4}").ToArray();
            await using var monitor = new NodeHealthMonitor(new HealthCheckSettings(), ids.ToDictionary(id => id, _ => (IStateNodeProbe)new NoProbe()));
            foreach (var weighted in new[] { false, true })
            {
                var nodes = ids.Select((id, x) => new PartitionNode(id, weighted ? 1 + (x % 4) : 1)).ToArray();
                foreach (var path in paths)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    var map = (PartitionResolver)create.Invoke(null, [nodes, Enum.Parse(pathType, path)])!;
                    var list = new int[3];
                    var primary = Measure(keys, k => map.GetPrimary(k));
                    var three = Measure(keys, k => map.GetPreferenceList(k, list));
                    // What the gateway runs per request (FirstHealthy), and after its first node failed.
                    var healthy1 = Measure(keys, k => map.FirstHealthy(k, monitor));
                    var healthy2 = Measure(keys, k => map.FirstHealthy(k, monitor, [map.GetPrimary(k)]));
                    Console.WriteLine($"{n,5} {path,-10} {(weighted ? "1..4" : "equal"),-8} {primary,16} {three,16} {healthy1,16} {healthy2,16}");
                }
            }
        }

        return 0;
    }

    private static string Measure(string[] keys, Func<string, int> lookup)
    {
        // Warm up for 300 ms so the tiered JIT has replaced the first code with the optimised one.
        var sink = 0;
        var warmup = Stopwatch.StartNew();
        for (var k = 0; warmup.ElapsedMilliseconds < 300; k++)
        {
            sink += lookup(keys[k & 1023]);
        }

        var rounds = new double[Rounds];
        for (var round = 0; round < Rounds; round++)
        {
            var start = Stopwatch.GetTimestamp();
            for (var k = 0; k < LookupsPerRound; k++)
            {
                sink += lookup(keys[k & 1023]);
            }

            rounds[round] = Stopwatch.GetElapsedTime(start).TotalNanoseconds / LookupsPerRound;
        }

        GC.KeepAlive(sink);
        Array.Sort(rounds);
        return string.Create(CultureInfo.InvariantCulture, $"{rounds[0],6:0.0} / {rounds[Rounds / 2],6:0.0}");
    }

    private static string[] MakeKeys(int count)
    {
        var random = new Random(1);
        var bytes = new byte[16];
        return Enumerable.Range(0, count).Select(_ =>
        {
            random.NextBytes(bytes);
            return Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        }).ToArray();
    }

    private sealed class NoProbe : IStateNodeProbe
    {
        public ValueTask ProbeAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }
}
