using System.Diagnostics;
using System.Globalization;
using System.IO.Hashing;
using System.Text;
using SessionRouter.Core.Health;
using SessionRouter.Core.Partitioning;

namespace SessionRouter.Benchmarks.Partitioning;

/// <summary>
/// Balance, movement and failover spread of the partition map for 1M session ids at N = 3, 10, 100, 1000,
/// side by side with a ketama ring (160 MD5 points per node) and an unbalanced rendezvous slot table,
/// all computed in the same run. Hash-space figures are exact (slot counts, ring arcs); key figures count
/// real 22-character ids and so include sampling noise.
/// Run: <c>dotnet run -c Release --project tests/SessionRouter.Benchmarks -- partition-sim [--keys 1000000] [--sizes 3,10,100,1000] [--slot-bits 18]</c>.
/// </summary>
internal sealed class PartitionSimulationScenario : IBenchmarkScenario
{
    public string Name => "partition-sim";

    public string Description => "Partition map balance, movement and failover spread vs a ketama ring (1M keys)";

    public Task<int> RunAsync(string[] args, CancellationToken cancellationToken)
    {
        var keyCount = IntOption(args, "--keys", 1_000_000);
        var slotBits = IntOption(args, "--slot-bits", PartitionResolver.DefaultSlotBits);
        var sizes = Option(args, "--sizes")?.Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray() ?? [3, 10, 100, 1000];
        var keys = MakeKeys(keyCount);
        Console.WriteLine($"partition-sim: {keyCount:N0} keys (22-char base64url, fixed seed), slot table 2^{slotBits} = {1 << slotBits:N0} slots");
        Console.WriteLine();

        foreach (var n in sizes)
        {
            cancellationToken.ThrowIfCancellationRequested();
            RunSize(n, slotBits, keys);
        }

        RunWeights(slotBits, keys);
        return Task.FromResult(0);
    }

    private static void RunSize(int n, int slotBits, string[] keys)
    {
        var ids = Enumerable.Range(0, n).Select(i => $"node-{i:D4}").ToArray();
        var nodes = ids.Select(id => new PartitionNode(id)).ToArray();
        var watch = Stopwatch.StartNew();
        var map = PartitionResolver.Create(nodes, slotBits);
        var buildMs = watch.Elapsed.TotalMilliseconds;
        var removed = ids[n / 2];
        var removedIndex = map.IndexOf(removed);

        Console.WriteLine($"== N = {n} (build {buildMs:0} ms) ==");
        Console.WriteLine($"{"figure",-46} {"balanced slots",16} {"plain rendezvous",16} {"ketama 160",16}");

        // Balance.
        var shares = Enumerable.Range(0, n).Select(map.GetShare).ToArray();
        var keyCounts = new int[n];
        Span<int> list = stackalloc int[2];
        foreach (var key in keys)
        {
            map.GetPreferenceList(key, list[..1]);
            keyCounts[list[0]]++;
        }

        var plain = new PlainRendezvousSlots(ids, slotBits);
        var plainShares = plain.Shares();
        var plainKeyCounts = new int[n];
        foreach (var key in keys)
        {
            plainKeyCounts[plain.Primary(map.GetSlot(key))]++;
        }

        var ring = new KetamaRing(ids);
        var ringShares = ring.Shares();
        var ringKeyCounts = new int[n];
        foreach (var key in keys)
        {
            ringKeyCounts[ring.Lookup(KetamaRing.HashKey(key))]++;
        }

        Row("hash-space peak-to-mean", PeakToMean(shares), PeakToMean(plainShares), PeakToMean(ringShares));
        Row("hash-space min-to-mean", shares.Min() * n, plainShares.Min() * n, ringShares.Min() * n);
        Row("1M-key peak-to-mean", PeakToMean(keyCounts), PeakToMean(plainKeyCounts), PeakToMean(ringKeyCounts));

        // Removal of one node and addition of one: exact over the hash space.
        var without = PartitionResolver.Create(nodes.Where(x => x.Id != removed), slotBits);
        var removal = PartitionMapDiff.Compare(map, without);
        var fromSurvivors = removal.Moves.Where(m => m.From != removed).Sum(m => m.Fraction);
        var withExtra = PartitionResolver.Create(nodes.Append(new PartitionNode($"node-{n:D4}")), slotBits);
        var addition = PartitionMapDiff.Compare(map, withExtra);
        var betweenOld = addition.Moves.Where(m => m.To != $"node-{n:D4}").Sum(m => m.Fraction);
        Row("remove: moved x N (hash space)", removal.MovedFraction * n, plainShares[removedIndex] * n, ringShares[removedIndex] * n);
        Row("remove: moved between survivors (%)", fromSurvivors * 100, 0, 0);
        Row("add: moved x (N+1) (hash space)", addition.MovedFraction * (n + 1), double.NaN, double.NaN);
        Row("add: moved between old nodes (%)", betweenOld * 100, 0, 0);
        var keyMoves = keys.Count(k => Primary(map, k) is var a && map.Nodes[a].Id != without.Nodes[Primary(without, k)].Id);
        Row("remove: 1M-key moved x N", (double)keyMoves / keys.Length * n, double.NaN, double.NaN);

        // Failover: where the slots of a failed node go (its second column), worst node of the map.
        if (n >= 3)
        {
            var (worst, mean) = FailoverSpread(map, n);
            var (plainWorst, plainMean) = plain.FailoverSpread();
            var ringWorst = Enumerable.Range(0, Math.Min(n, 100)).Max(x => ring.FailoverShares(x).Max() * (n - 1));
            Row("failover: largest receiver / fair (worst)", worst, plainWorst, ringWorst);
            Row("failover: largest receiver / fair (mean)", mean, plainMean, double.NaN);

            // Same with real keys: the removed node's sessions with it marked down.
            var health = new DownSet(removed);
            var receivers = new int[n];
            var failedKeys = 0;
            foreach (var key in keys)
            {
                if (Primary(map, key) == removedIndex)
                {
                    failedKeys++;
                    map.ResolveHealthy(key, health, list[..1]);
                    receivers[list[0]]++;
                }
            }

            Row("failover: 1M-key largest receiver / fair", receivers.Max() / ((double)failedKeys / (n - 1)), double.NaN, double.NaN);

            // After the node is also removed from the map, how many of its sessions stay on the failover node.
            var same = 0;
            var total = 0;
            Span<int> row = stackalloc int[2];
            for (var slot = 0; slot < map.SlotCount; slot++)
            {
                map.GetSlotPreferenceList(slot, row);
                if (row[0] == removedIndex)
                {
                    total++;
                    same += without.Nodes[without.GetSlotPrimary(slot)].Id == map.Nodes[row[1]].Id ? 1 : 0;
                }
            }

            Row("remove after failover: same node (%)", 100.0 * same / total, 100, 100);
        }

        // Unchanged and reordered maps.
        var reordered = PartitionResolver.Create(nodes.Reverse(), slotBits);
        Row("reload reordered: moved (%)", PartitionMapDiff.Compare(map, reordered).MovedFraction * 100, 0, 0);
        Console.WriteLine();
    }

    private static void RunWeights(int slotBits, string[] keys)
    {
        var nodes = Enumerable.Range(1, 10).Select(i => new PartitionNode($"node-{i:D4}", i)).ToArray();
        var map = PartitionResolver.Create(nodes, slotBits);
        var total = nodes.Sum(x => x.Weight);
        var worst = 0.0;
        var worstKeys = 0.0;
        var counts = new int[nodes.Length];
        foreach (var key in keys)
        {
            counts[Primary(map, key)]++;
        }

        for (var i = 0; i < map.Nodes.Count; i++)
        {
            var expected = map.Nodes[i].Weight / total;
            worst = Math.Max(worst, Math.Abs((map.GetShare(i) / expected) - 1));
            worstKeys = Math.Max(worstKeys, Math.Abs(((double)counts[i] / keys.Length / expected) - 1));
        }

        Console.WriteLine("== weights 1..10 (N = 10) ==");
        Console.WriteLine($"largest |share / weight share - 1|: hash space {worst * 100:0.000}%, 1M keys {worstKeys * 100:0.000}%");
    }

    private static (double Worst, double Mean) FailoverSpread(PartitionResolver map, int n)
    {
        var matrix = new int[n * n];
        var owned = new int[n];
        Span<int> row = stackalloc int[2];
        for (var slot = 0; slot < map.SlotCount; slot++)
        {
            map.GetSlotPreferenceList(slot, row);
            matrix[(row[0] * n) + row[1]]++;
            owned[row[0]]++;
        }

        var ratios = Enumerable.Range(0, n).Select(x => matrix.AsSpan(x * n, n).ToArray().Max() / ((double)owned[x] / (n - 1))).ToArray();
        return (ratios.Max(), ratios.Average());
    }

    private static int Primary(PartitionResolver map, string key)
    {
        Span<int> one = stackalloc int[1];
        map.GetPreferenceList(key, one);
        return one[0];
    }

    private static double PeakToMean(double[] shares) => shares.Max() / shares.Average();

    private static double PeakToMean(int[] counts) => counts.Max() / counts.Average();

    private static void Row(string figure, double balanced, double plain, double ring)
        => Console.WriteLine($"{figure,-46} {Format(balanced),16} {Format(plain),16} {Format(ring),16}");

    private static string Format(double value) => double.IsNaN(value) ? "-" : value.ToString("0.0000", CultureInfo.InvariantCulture);

    private static string[] MakeKeys(int count)
    {
        var random = new Random(20261124);
        var bytes = new byte[16];
        var keys = new string[count];
        for (var i = 0; i < count; i++)
        {
            random.NextBytes(bytes);
            keys[i] = Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        }

        return keys;
    }

    private static string? Option(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    private static int IntOption(string[] args, string name, int fallback)
        => Option(args, name) is { } value ? int.Parse(value, CultureInfo.InvariantCulture) : fallback;

    private sealed class DownSet(string down) : INodeHealthView
    {
        public bool IsHealthy(string nodeId) => nodeId != down;
    }

    /// <summary>Rendezvous on the same slots without balancing: each slot's best and second-best node.</summary>
    private sealed class PlainRendezvousSlots
    {
        private readonly int[] _first;
        private readonly int[] _second;
        private readonly int _n;

        public PlainRendezvousSlots(string[] ids, int slotBits)
        {
            _n = ids.Length;
            var hashes = ids.Select(id => XxHash3.HashToUInt64(Encoding.UTF8.GetBytes(id), 7)).ToArray();
            var slots = 1 << slotBits;
            _first = new int[slots];
            _second = new int[slots];
            for (var slot = 0; slot < slots; slot++)
            {
                var salt = Mix(((ulong)slot * 0x9E3779B97F4A7C15UL) + 11);
                ulong best = 0, next = 0;
                int bestNode = -1, nextNode = -1;
                for (var node = 0; node < ids.Length; node++)
                {
                    var score = Mix(salt ^ hashes[node]);
                    if (bestNode < 0 || score > best)
                    {
                        (next, nextNode) = (best, bestNode);
                        (best, bestNode) = (score, node);
                    }
                    else if (nextNode < 0 || score > next)
                    {
                        (next, nextNode) = (score, node);
                    }
                }

                _first[slot] = bestNode;
                _second[slot] = nextNode;
            }
        }

        public int Primary(int slot) => _first[slot];

        public double[] Shares()
        {
            var shares = new double[_n];
            foreach (var node in _first)
            {
                shares[node] += 1.0 / _first.Length;
            }

            return shares;
        }

        public (double Worst, double Mean) FailoverSpread()
        {
            var matrix = new int[_n * _n];
            var owned = new int[_n];
            for (var slot = 0; slot < _first.Length; slot++)
            {
                matrix[(_first[slot] * _n) + _second[slot]]++;
                owned[_first[slot]]++;
            }

            var ratios = Enumerable.Range(0, _n).Select(x => matrix.AsSpan(x * _n, _n).ToArray().Max() / ((double)owned[x] / (_n - 1))).ToArray();
            return (ratios.Max(), ratios.Average());
        }

        private static ulong Mix(ulong value)
        {
            value = (value ^ (value >> 30)) * 0xBF58476D1CE4E5B9UL;
            value = (value ^ (value >> 27)) * 0x94D049BB133111EBUL;
            return value ^ (value >> 31);
        }
    }
}
