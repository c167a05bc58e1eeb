namespace SessionRouter.Core.Partitioning;

/// <summary>Share of the hash space that moves from one node to another between two maps.</summary>
/// <param name="From">The primary in the old map.</param>
/// <param name="To">The primary in the new map.</param>
/// <param name="Fraction">Fraction of the whole hash space (0..1).</param>
public sealed record PartitionMove(string From, string To, double Fraction);

/// <summary>One node's primary share of the hash space before and after an edit.</summary>
/// <param name="Id">The node id.</param>
/// <param name="ShareBefore">Share in the old map (0 when the node is new).</param>
/// <param name="ShareAfter">Share in the new map (0 when the node is removed).</param>
/// <param name="Lost">Share that moves away from the node.</param>
/// <param name="Gained">Share that moves to the node.</param>
public sealed record PartitionNodeChange(string Id, double ShareBefore, double ShareAfter, double Lost, double Gained);

/// <summary>
/// What an edit of the partition map does to the sessions: the fraction of the hash space whose primary
/// changes, per source → destination pair and per node. Rendezvous hashing has no table to compare, so
/// the diff evaluates both maps on <see cref="SampleCount"/> evenly spaced points of the 64-bit session
/// hash space (the midpoints of equal intervals) and counts. With the default 2^22 points a fraction f is
/// estimated to within about √(f(1 − f) / 2^22), i.e. ±0.02 % of all sessions at most (one standard error).
/// Sessions of surviving nodes that do not move are never counted as moved: for them the two maps agree
/// on every point, not just on average.
/// </summary>
public sealed class PartitionMapDiff
{
    /// <summary>log2 of the default number of sample points.</summary>
    public const int DefaultSampleBits = 22;

    private PartitionMapDiff(long sampleCount, double movedFraction, IReadOnlyList<PartitionMove> moves, IReadOnlyList<PartitionNodeChange> nodes)
    {
        SampleCount = sampleCount;
        MovedFraction = movedFraction;
        Moves = moves;
        Nodes = nodes;
    }

    /// <summary>How many evenly spaced points of the hash space both maps were evaluated on.</summary>
    public long SampleCount { get; }

    /// <summary>Fraction of the hash space (and so of the sessions) whose primary node changes.</summary>
    public double MovedFraction { get; }

    /// <summary>Every source → destination pair with a non-zero share, largest first.</summary>
    public IReadOnlyList<PartitionMove> Moves { get; }

    /// <summary>Every node of either map, by id; shares are measured on the same points.</summary>
    public IReadOnlyList<PartitionNodeChange> Nodes { get; }

    /// <summary>Compares the primaries of two maps on 2^<see cref="DefaultSampleBits"/> evenly spaced points.</summary>
    public static PartitionMapDiff Compare(PartitionResolver before, PartitionResolver after) => Compare(before, after, DefaultSampleBits);

    /// <summary>Compares the primaries of two maps on 2^<paramref name="sampleBits"/> (8..30) evenly spaced points.</summary>
    public static PartitionMapDiff Compare(PartitionResolver before, PartitionResolver after, int sampleBits)
    {
        ArgumentNullException.ThrowIfNull(before);
        ArgumentNullException.ThrowIfNull(after);
        ArgumentOutOfRangeException.ThrowIfLessThan(sampleBits, 8);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(sampleBits, 30);

        // The new map's node index of each old node (-1 when removed): "moved" means a different id.
        var beforeToAfter = before.Nodes.Select(n => after.IndexOf(n.Id)).ToArray();
        var samples = 1L << sampleBits;
        const int Chunks = 64;
        var chunkSize = samples / Chunks;
        var partials = new Counts[Chunks];
        Parallel.For(0, Chunks, chunk =>
        {
            var counts = new Counts(before.Nodes.Count, after.Nodes.Count);
            var end = (chunk + 1) * chunkSize;
            for (var i = chunk * chunkSize; i < end; i++)
            {
                var hash = SamplePoint(i, sampleBits);
                var from = before.GetPrimary(hash);
                var to = after.GetPrimary(hash);
                counts.Before[from]++;
                counts.After[to]++;
                if (beforeToAfter[from] != to)
                {
                    counts.Pairs[(from, to)] = counts.Pairs.GetValueOrDefault((from, to)) + 1;
                }
            }

            partials[chunk] = counts;
        });

        var shareBefore = new double[before.Nodes.Count];
        var shareAfter = new double[after.Nodes.Count];
        var pairs = new Dictionary<(int From, int To), long>();
        foreach (var counts in partials)
        {
            for (var i = 0; i < shareBefore.Length; i++)
            {
                shareBefore[i] += (double)counts.Before[i] / samples;
            }

            for (var i = 0; i < shareAfter.Length; i++)
            {
                shareAfter[i] += (double)counts.After[i] / samples;
            }

            foreach (var (pair, count) in counts.Pairs)
            {
                pairs[pair] = pairs.GetValueOrDefault(pair) + count;
            }
        }

        var moves = pairs
            .Select(p => new PartitionMove(before.Nodes[p.Key.From].Id, after.Nodes[p.Key.To].Id, (double)p.Value / samples))
            .OrderByDescending(m => m.Fraction)
            .ThenBy(m => m.From, StringComparer.Ordinal)
            .ThenBy(m => m.To, StringComparer.Ordinal)
            .ToArray();

        var ids = before.Nodes.Select(n => n.Id).Union(after.Nodes.Select(n => n.Id), StringComparer.Ordinal)
            .OrderBy(id => id, StringComparer.Ordinal);
        var nodes = ids.Select(id =>
        {
            var i = before.IndexOf(id);
            var j = after.IndexOf(id);
            return new PartitionNodeChange(
                id,
                i < 0 ? 0 : shareBefore[i],
                j < 0 ? 0 : shareAfter[j],
                moves.Where(m => m.From == id).Sum(m => m.Fraction),
                moves.Where(m => m.To == id).Sum(m => m.Fraction));
        }).ToArray();

        var moved = pairs.Values.Sum();
        return new PartitionMapDiff(samples, (double)moved / samples, moves, nodes);
    }

    /// <summary>
    /// The i-th of 2^<paramref name="sampleBits"/> evenly spaced points of the 64-bit hash space: the
    /// midpoint of the i-th equal interval.
    /// </summary>
    public static ulong SamplePoint(long index, int sampleBits)
        => (((ulong)index << 1) | 1UL) << (63 - sampleBits);

    private sealed class Counts(int beforeNodes, int afterNodes)
    {
        public long[] Before { get; } = new long[beforeNodes];

        public long[] After { get; } = new long[afterNodes];

        public Dictionary<(int From, int To), long> Pairs { get; } = [];
    }
}
