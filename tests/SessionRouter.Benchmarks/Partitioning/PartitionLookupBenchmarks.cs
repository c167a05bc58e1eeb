using BenchmarkDotNet.Attributes;
using SessionRouter.Core.Configuration;
using SessionRouter.Core.Health;
using SessionRouter.Core.Partitioning;

namespace SessionRouter.Benchmarks.Partitioning;

/// <summary>
/// Cost of one lookup including the hash of a 22-character session id, at N = 3, 10, 100, 1000, beside
/// a ketama ring lookup (MD5 of the key + binary search over 160 points per node). The resolver ranks
/// every node per lookup (weighted rendezvous, vectorised), so its cost grows with N.
/// Run: <c>dotnet run -c Release --project tests/SessionRouter.Benchmarks -- --filter '*PartitionLookup*'</c>.
/// </summary>
[MemoryDiagnoser]
public class PartitionLookupBenchmarks
{
    private readonly int[] _list = new int[3];
    private string[] _keys = [];
    private PartitionResolver _resolver = null!;
    private PartitionResolver _weighted = null!;
    private KetamaRing _ring = null!;
    private NodeHealthMonitor _monitor = null!;
    private int _next;

    [Params(3, 10, 100, 1000)]
    public int Nodes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var ids = Enumerable.Range(0, Nodes).Select(i => $"node-{i:D4}").ToArray();
        _resolver = PartitionResolver.Create(ids.Select(id => new PartitionNode(id)));
        _weighted = PartitionResolver.Create(ids.Select((id, i) => new PartitionNode(id, 1 + (i % 4))));
        _ring = new KetamaRing(ids);
        _monitor = new NodeHealthMonitor(new HealthCheckSettings(), ids.ToDictionary(id => id, _ => (IStateNodeProbe)new NoProbe()));
        var random = new Random(1);
        var bytes = new byte[16];
        _keys = Enumerable.Range(0, 1024).Select(_ =>
        {
            random.NextBytes(bytes);
            return Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        }).ToArray();
    }

    [GlobalCleanup]
    public void Cleanup() => _monitor.DisposeAsync().AsTask().GetAwaiter().GetResult();

    [Benchmark(Description = "primary (hash + rendezvous)")]
    public int Primary() => _resolver.GetPreferenceList(NextKey(), _list.AsSpan(0, 1));

    [Benchmark(Description = "primary + 2 successors")]
    public int PreferenceList3() => _resolver.GetPreferenceList(NextKey(), _list);

    /// <summary>The gateway's node choice per request (<see cref="HealthyNodeChoice.FirstHealthy"/>), health from the monitor.</summary>
    [Benchmark(Description = "gateway choice (FirstHealthy), monitor")]
    public int GatewayChoice() => _resolver.FirstHealthy(NextKey(), _monitor);

    /// <summary>The gateway's choice after the session's first node failed during the request.</summary>
    [Benchmark(Description = "failover choice (first node tried), monitor")]
    public int FailoverChoice()
    {
        var key = NextKey();
        _list[0] = _resolver.GetPrimary(key);
        return _resolver.FirstHealthy(key, _monitor, _list.AsSpan(0, 1));
    }

    [Benchmark(Description = "primary, weights 1..4")]
    public int WeightedPrimary() => _weighted.GetPreferenceList(NextKey(), _list.AsSpan(0, 1));

    [Benchmark(Description = "primary + 2, weights 1..4")]
    public int WeightedPreferenceList3() => _weighted.GetPreferenceList(NextKey(), _list);

    [Benchmark(Description = "ketama 160 (MD5 + search)")]
    public int Ketama() => _ring.Lookup(KetamaRing.HashKey(NextKey()));

    private string NextKey() => _keys[_next++ & 1023];

    private sealed class NoProbe : IStateNodeProbe
    {
        public ValueTask ProbeAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }
}
