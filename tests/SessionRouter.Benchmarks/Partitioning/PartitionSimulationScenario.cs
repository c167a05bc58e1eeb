using System.Diagnostics;
using System.Globalization;
using SessionRouter.Core.Health;
using SessionRouter.Core.Partitioning;

namespace SessionRouter.Benchmarks.Partitioning;

/// <summary>
/// Balance, movement and failover spread of the partition map at N = 3, 10, 100, 1000, side by side with a
/// ketama ring (160 MD5 points per node), all in the same run.
/// <list type="bullet">
/// <item>Hash-space figures evaluate 2^sample-bits evenly spaced points of the 64-bit session hash space
/// (<see cref="PartitionMapDiff.SamplePoint"/>). Rendezvous shares have no closed form per hash, so these
/// are estimates; the "fair die" column is the same statistic for a perfectly uniform assignment of the
/// same number of points (mean of 3 draws), i.e. the sampling noise floor any ideal map shows.</item>
/// <item>1M-key figures count real 22-character ids, again beside the fair-die value for 1M keys.</item>
/// <item>Movement is counted exactly on the same points: every point whose primary changes, split into
/// "from the removed node" / "to the added node" and "between the other nodes".</item>
/// </list>
/// Run: <c>dotnet run -c Release --project tests/SessionRouter.Benchmarks -- partition-sim [--keys 1000000] [--sizes 3,10,100,1000] [--sample-bits 24]</c>.
/// </summary>
internal sealed class PartitionSimulationScenario : IBenchmarkScenario
{
    private const int FairDieTrials = 3;

    public string Name => "partition-sim";

    public string Description => "Partition map balance, movement and failover spread vs a ketama ring (hash-space sample + 1M keys)";

    public Task<int> RunAsync(string[] args, CancellationToken cancellationToken)
    {
        var keyCount = IntOption(args, "--keys", 1_000_000);
        var sampleBits = IntOption(args, "--sample-bits", 24);
        var sizes = Option(args, "--sizes")?.Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray() ?? [3, 10, 100, 1000];
        var keys = MakeKeys(keyCount);
        Console.WriteLine($"partition-sim: {keyCount:N0} keys (22-char base64url, fixed seed); hash-space sample 2^{sampleBits} = {1L << sampleBits:N0} evenly spaced points; fair die = mean of {FairDieTrials} uniform draws of the same size");
        Console.WriteLine();

        foreach (var n in sizes)
        {
            cancellationToken.ThrowIfCancellationRequested();
            RunSize(n, sampleBits, keys);
        }

        RunWeights(sampleBits, keys);
        return Task.FromResult(0);
    }

    private static void RunSize(int n, int sampleBits, string[] keys)
    {
        var ids = Enumerable.Range(0, n).Select(i => $"node-{i:D4}").ToArray();
        var nodes = ids.Select(id => new PartitionNode(id)).ToArray();
        var watch = Stopwatch.StartNew();
        var map = PartitionResolver.Create(nodes);
        var removed = ids[n / 2];
        var removedIndex = map.IndexOf(removed);
        var without = PartitionResolver.Create(nodes.Where(x => x.Id != removed));
        var addedId = $"node-{n:D4}";
        var withExtra = PartitionResolver.Create(nodes.Append(new PartitionNode(addedId)));
        var sample = SampleHashSpace(map, without, withExtra, removedIndex, addedId, sampleBits);
        var sampleSeconds = watch.Elapsed.TotalSeconds;
        var points = (double)(1L << sampleBits);

        Console.WriteLine($"== N = {n} (hash-space pass {sampleSeconds:0.0} s) ==");
        Console.WriteLine($"{"figure",-52} {"rendezvous",12} {"fair die",12} {"ketama 160",12}");

        // Balance.
        var ring = new KetamaRing(ids);
        var ringShares = ring.Shares();
        var keyCounts = new long[n];
        var ringKeyCounts = new long[n];
        foreach (var key in keys)
        {
            keyCounts[map.GetPrimary(key)]++;
            ringKeyCounts[ring.Lookup(KetamaRing.HashKey(key))]++;
        }

        Row("hash-space peak-to-mean", PeakToMean(sample.Primary), FairDiePeakToMean(1L << sampleBits, n), PeakToMean(ringShares));
        Row("hash-space min-to-mean", sample.Primary.Min() / sample.Primary.Average(), double.NaN, ringShares.Min() * n);
        Row("1M-key peak-to-mean", PeakToMean(keyCounts), FairDiePeakToMean(keys.Length, n), PeakToMean(ringKeyCounts));

        // Movement, counted point by point.
        Row("remove: moved x N", (sample.FromRemoved + sample.BetweenSurvivors) / points * n, double.NaN, ringShares[removedIndex] * n);
        Row("remove: removed node's sampled share x N", sample.Primary[removedIndex] / points * n, double.NaN, double.NaN);
        Row("remove: moved between survivors (points)", sample.BetweenSurvivors, double.NaN, 0);
        Row("add: moved x (N+1)", (sample.ToAdded + sample.BetweenOld) / points * (n + 1), double.NaN, double.NaN);
        Row("add: moved between old nodes (points)", sample.BetweenOld, double.NaN, 0);
        var keyMoves = keys.Count(k => map.Nodes[map.GetPrimary(k)].Id != without.Nodes[without.GetPrimary(k)].Id);
        var keyMovesBetween = keys.Count(k => map.Nodes[map.GetPrimary(k)].Id is var id && id != removed && id != without.Nodes[without.GetPrimary(k)].Id);
        Row("remove: 1M-key moved x N", (double)keyMoves / keys.Length * n, double.NaN, double.NaN);
        Row("remove: 1M-key moved between survivors (keys)", keyMovesBetween, double.NaN, 0);

        if (n >= 3)
        {
            // Failover: where the sessions of a failed node go (second node of their lists).
            var worst = 0.0;
            var mean = 0.0;
            for (var failed = 0; failed < n; failed++)
            {
                var row = sample.Failover.AsSpan(failed * n, n);
                var ratio = row.ToArray().Max() / ((double)sample.Primary[failed] / (n - 1));
                worst = Math.Max(worst, ratio);
                mean += ratio / n;
            }

            var ringWorst = Enumerable.Range(0, Math.Min(n, 100)).Max(x => ring.FailoverShares(x).Max() * (n - 1));
            Row("failover: largest receiver / fair (worst node)", worst, FairDieFailover(sample.Primary, n, worstNode: true), ringWorst);
            Row("failover: largest receiver / fair (mean of nodes)", mean, FairDieFailover(sample.Primary, n, worstNode: false), double.NaN);
            var removedRow = sample.Failover.AsSpan(removedIndex * n, n).ToArray();
            Row("failover: removed node, largest receiver / fair", removedRow.Max() / ((double)sample.Primary[removedIndex] / (n - 1)), double.NaN, ring.FailoverShares(removedIndex).Max() * (n - 1));

            // The same with real keys: the removed node's sessions with it marked down.
            var health = new DownSet(removed);
            var receivers = new long[n];
            Span<int> one = stackalloc int[1];
            foreach (var key in keys)
            {
                if (map.GetPrimary(key) == removedIndex)
                {
                    map.ResolveHealthy(key, health, one);
                    receivers[one[0]]++;
                }
            }

            var failedKeys = receivers.Sum();
            Row("failover: 1M-key largest receiver / fair", receivers.Max() / ((double)failedKeys / (n - 1)), FairDieSpread(failedKeys, n - 1), double.NaN);
            Row("remove after failover: same node (%)", 100.0 * sample.SameAfterRemoval / sample.Primary[removedIndex], double.NaN, 100);
        }

        var reordered = PartitionResolver.Create(nodes.Reverse());
        var reorderedMoves = keys.Count(k => map.Nodes[map.GetPrimary(k)].Id != reordered.Nodes[reordered.GetPrimary(k)].Id);
        Row("reload reordered: 1M keys moved", reorderedMoves, double.NaN, 0);
        Row("reload reordered: moved (%, 2^20 points)", PartitionMapDiff.Compare(map, reordered, 20).MovedFraction * 100, double.NaN, 0);
        Console.WriteLine();
    }

    private static void RunWeights(int sampleBits, string[] keys)
    {
        var nodes = Enumerable.Range(1, 10).Select(i => new PartitionNode($"node-{i:D4}", i)).ToArray();
        var map = PartitionResolver.Create(nodes);
        var total = nodes.Sum(x => x.Weight);
        var points = 1L << sampleBits;
        var counts = new long[nodes.Length];
        var keyCounts = new long[nodes.Length];
        for (var i = 0L; i < points; i++)
        {
            counts[map.GetPrimary(PartitionMapDiff.SamplePoint(i, sampleBits))]++;
        }

        foreach (var key in keys)
        {
            keyCounts[map.GetPrimary(key)]++;
        }

        var worst = 0.0;
        var worstKeys = 0.0;
        var worstSigma = 0.0;
        for (var i = 0; i < map.Nodes.Count; i++)
        {
            var expected = map.Nodes[i].Weight / total;
            worst = Math.Max(worst, Math.Abs(((double)counts[i] / points / expected) - 1));
            worstKeys = Math.Max(worstKeys, Math.Abs(((double)keyCounts[i] / keys.Length / expected) - 1));
            worstSigma = Math.Max(worstSigma, Math.Sqrt((1 - expected) / (expected * points)));
        }

        // Removing the heaviest node of a weighted map: nothing may move between the others.
        var without = PartitionResolver.Create(nodes.Where(x => x.Weight != 10));
        var between = 0L;
        for (var i = 0L; i < points; i++)
        {
            var hash = PartitionMapDiff.SamplePoint(i, sampleBits);
            var before = map.Nodes[map.GetPrimary(hash)].Id;
            between += before != "node-0010" && before != without.Nodes[without.GetPrimary(hash)].Id ? 1 : 0;
        }

        Console.WriteLine("== weights 1..10 (N = 10) ==");
        Console.WriteLine($"largest |share / weight share - 1|: hash space {worst * 100:0.000}% (1 sigma of the sample: up to {worstSigma * 100:0.000}%), 1M keys {worstKeys * 100:0.000}%");
        Console.WriteLine($"remove the weight-10 node: points moved between the other nodes {between}");
    }

    /// <summary>Everything the hash-space figures need, from one pass over the sample points.</summary>
    private static HashSpaceSample SampleHashSpace(PartitionResolver map, PartitionResolver without, PartitionResolver withExtra, int removedIndex, string addedId, int sampleBits)
    {
        var n = map.Nodes.Count;
        var toWithout = map.Nodes.Select(x => without.IndexOf(x.Id)).ToArray();
        var toWithExtra = map.Nodes.Select(x => withExtra.IndexOf(x.Id)).ToArray();
        var addedIndex = withExtra.IndexOf(addedId);
        var points = 1L << sampleBits;
        const int Chunks = 256;
        var chunkSize = points / Chunks;
        var total = new HashSpaceSample(n);
        var gate = new object();
        Parallel.For(0, Chunks, () => new HashSpaceSample(n), (chunk, _, local) =>
        {
            Span<int> list = stackalloc int[2];
            var end = (chunk + 1) * chunkSize;
            for (var i = chunk * chunkSize; i < end; i++)
            {
                var hash = PartitionMapDiff.SamplePoint(i, sampleBits);
                var written = map.GetPreferenceList(hash, list);
                var primary = list[0];
                local.Primary[primary]++;
                if (written == 2)
                {
                    local.Failover[(primary * n) + list[1]]++;
                }

                var afterRemoval = without.GetPrimary(hash);
                if (primary == removedIndex)
                {
                    local.FromRemoved++;
                    local.SameAfterRemoval += written == 2 && toWithout[list[1]] == afterRemoval ? 1 : 0;
                }
                else if (toWithout[primary] != afterRemoval)
                {
                    local.BetweenSurvivors++;
                }

                var afterAddition = withExtra.GetPrimary(hash);
                if (afterAddition == addedIndex)
                {
                    local.ToAdded++;
                }
                else if (toWithExtra[primary] != afterAddition)
                {
                    local.BetweenOld++;
                }
            }

            return local;
        }, local =>
        {
            lock (gate)
            {
                total.Add(local);
            }
        });

        return total;
    }

    /// <summary>Peak-to-mean of <paramref name="count"/> uniform draws over <paramref name="bins"/> bins (mean of trials).</summary>
    private static double FairDiePeakToMean(long count, int bins)
    {
        var sum = 0.0;
        for (var trial = 0; trial < FairDieTrials; trial++)
        {
            var random = new Random(7919 + trial);
            var counts = new long[bins];
            for (var i = 0L; i < count; i++)
            {
                counts[random.Next(bins)]++;
            }

            sum += PeakToMean(counts);
        }

        return sum / FairDieTrials;
    }

    /// <summary>Largest bin over its fair share when <paramref name="count"/> items spread uniformly over <paramref name="bins"/> bins.</summary>
    private static double FairDieSpread(long count, int bins)
    {
        var sum = 0.0;
        for (var trial = 0; trial < FairDieTrials; trial++)
        {
            var random = new Random(104729 + trial);
            var counts = new long[bins];
            for (var i = 0L; i < count; i++)
            {
                counts[random.Next(bins)]++;
            }

            sum += counts.Max() / ((double)count / bins);
        }

        return sum / FairDieTrials;
    }

    /// <summary>The failover statistic for an ideal map whose nodes own the same number of points.</summary>
    private static double FairDieFailover(long[] owned, int n, bool worstNode)
    {
        var random = new Random(1299709);
        var counts = new long[n - 1];
        var worst = 0.0;
        var mean = 0.0;
        for (var failed = 0; failed < n; failed++)
        {
            Array.Clear(counts);
            for (var i = 0L; i < owned[failed]; i++)
            {
                counts[random.Next(n - 1)]++;
            }

            var ratio = counts.Max() / ((double)owned[failed] / (n - 1));
            worst = Math.Max(worst, ratio);
            mean += ratio / n;
        }

        return worstNode ? worst : mean;
    }

    private static double PeakToMean(double[] shares) => shares.Max() / shares.Average();

    private static double PeakToMean(long[] counts) => counts.Max() / counts.Average();

    private static void Row(string figure, double rendezvous, double fairDie, double ring)
        => Console.WriteLine($"{figure,-52} {Format(rendezvous),12} {Format(fairDie),12} {Format(ring),12}");

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

    private sealed class HashSpaceSample(int n)
    {
        public long[] Primary { get; } = new long[n];

        /// <summary>[primary · N + second]: how many points each node would receive from each failed node.</summary>
        public long[] Failover { get; } = new long[n * n];

        public long FromRemoved { get; set; }

        public long BetweenSurvivors { get; set; }

        public long SameAfterRemoval { get; set; }

        public long ToAdded { get; set; }

        public long BetweenOld { get; set; }

        public void Add(HashSpaceSample other)
        {
            for (var i = 0; i < Primary.Length; i++)
            {
                Primary[i] += other.Primary[i];
            }

            for (var i = 0; i < Failover.Length; i++)
            {
                Failover[i] += other.Failover[i];
            }

            FromRemoved += other.FromRemoved;
            BetweenSurvivors += other.BetweenSurvivors;
            SameAfterRemoval += other.SameAfterRemoval;
            ToAdded += other.ToAdded;
            BetweenOld += other.BetweenOld;
        }
    }
}
