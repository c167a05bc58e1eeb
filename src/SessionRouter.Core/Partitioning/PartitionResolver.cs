using System.Buffers;
using System.Collections.Frozen;
using SessionRouter.Core.Health;

namespace SessionRouter.Core.Partitioning;

/// <summary>
/// The consistent-hash partition map: weighted rendezvous hashing (highest random weight) computed per
/// session at lookup time (docs/partitioning.md). Every node gets a key for the session, derived from the
/// session id's fixed-seed XxHash3 and the node's own seed; the nodes ordered by key are the session's
/// preference list. Removing a node therefore moves only that node's sessions, adding one moves only the
/// sessions it now wins, and a failed node's sessions spread over all the others in proportion to their
/// weights. Built only from the members (id, weight), sorted by id: every process computes the same lists
/// whatever order the nodes are listed in. Immutable and safe to share between threads.
/// </summary>
public sealed class PartitionResolver : IPartitionResolver
{
    /// <summary>The largest map: a node's canonical index must fit the 16-bit tag of its keys.</summary>
    public const int MaxNodes = ushort.MaxValue;

    /// <summary>Keys of a tier up to this many nodes go on the stack when a whole list is ranked.</summary>
    private const int StackKeys = 128;

    /// <summary>Best nodes picked one by one before the rest of a tier is sorted instead.</summary>
    private const int PicksBeforeSort = 4;

    private readonly PartitionNode[] _nodes;
    private readonly string[] _ids;
    private readonly double[] _shares;
    private readonly FrozenDictionary<string, int> _indexById;
    private readonly RendezvousTier _weighted;
    private readonly RendezvousTier _fallback;
    private readonly int[] _positionInTier;
    private readonly RendezvousPath _path;

    private PartitionResolver(PartitionNode[] canonical, RendezvousPath path)
    {
        _nodes = canonical;
        _ids = canonical.Select(n => n.Id).ToArray();
        _indexById = _ids.Select((id, index) => KeyValuePair.Create(id, index)).ToFrozenDictionary(StringComparer.Ordinal);
        _path = path;

        var totalWeight = canonical.Sum(n => n.Weight);
        _shares = canonical.Select(n => n.Weight / totalWeight).ToArray();

        _positionInTier = new int[canonical.Length];
        _weighted = BuildTier(canonical, weighted: true, _positionInTier);
        _fallback = BuildTier(canonical, weighted: false, _positionInTier);
    }

    /// <summary>The members sorted by id (ordinal); preference lists hold indices into this list.</summary>
    public IReadOnlyList<PartitionNode> Nodes => _nodes;

    /// <summary>Whether every node with a weight has the same weight (then keys are integers only).</summary>
    public bool EqualWeights => _weighted.ClassCount == 1;

    /// <summary>The instruction width lookups use (tests force each one).</summary>
    internal RendezvousPath Path => _path;

    /// <summary>
    /// Builds the map of <paramref name="nodes"/>. Throws <see cref="ArgumentException"/> naming the
    /// problem when the list is empty, an id is empty or repeated, a weight is negative or not finite, or
    /// no node has a weight above zero.
    /// </summary>
    public static PartitionResolver Create(IEnumerable<PartitionNode> nodes) => Create(nodes, RendezvousKernel.Best);

    /// <summary>Builds a map whose lookups use <paramref name="path"/> (tests compare every path).</summary>
    internal static PartitionResolver Create(IEnumerable<PartitionNode> nodes, RendezvousPath path)
    {
        ArgumentNullException.ThrowIfNull(nodes);
        var list = nodes.ToArray();
        Validate(list);
        return new PartitionResolver(list.OrderBy(n => n.Id, StringComparer.Ordinal).ToArray(), path);
    }

    /// <summary>
    /// The fixed-seed XxHash3 of a session id, the only input a lookup takes from the id. The overloads
    /// taking a hash let tools evaluate evenly spaced points of the hash space.
    /// </summary>
    public static ulong HashSessionId(ReadOnlySpan<char> sessionId) => PartitionHashing.HashKey(sessionId);

    /// <summary>The index of a member in <see cref="Nodes"/>, or -1.</summary>
    public int IndexOf(string nodeId)
    {
        ArgumentNullException.ThrowIfNull(nodeId);
        return _indexById.TryGetValue(nodeId, out var index) ? index : -1;
    }

    /// <summary>
    /// The node's share of the sessions by design: its weight over the total weight (0 for a zero-weight
    /// node). Rendezvous hashing gives each node this share in expectation; the realised share of the hash
    /// space differs only by the hash's imperfection, which the partition simulation measures
    /// (docs/partitioning.md).
    /// </summary>
    public double GetShare(int nodeIndex) => _shares[nodeIndex];

    /// <summary>The primary node index of a session id.</summary>
    public int GetPrimary(ReadOnlySpan<char> sessionId) => GetPrimary(PartitionHashing.HashKey(sessionId));

    /// <summary>The primary node index of a session id hash (<see cref="HashSessionId"/>).</summary>
    public int GetPrimary(ulong keyHash)
    {
        var tier = _weighted;
        if (tier.ClassCount == 1)
        {
            return RendezvousKeys.IndexOf(RendezvousKernel.Max(_path, tier.Seeds, tier.Tags, keyHash));
        }

        var classes = tier.ClassCount;
        ulong[]? rented = null;
        var heads = classes <= StackKeys ? stackalloc ulong[classes] : (rented = ArrayPool<ulong>.Shared.Rent(classes)).AsSpan(0, classes);
        try
        {
            return WeightedPrimary(tier, keyHash, heads);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<ulong>.Shared.Return(rented);
            }
        }
    }

    /// <summary>
    /// Each weight class's best node by integer key, then the smallest weighted rank among those heads.
    /// Logarithm-free bounds settle it unless two heads' bounds overlap: only the heads that could still
    /// win get their exact rank (any head whose lower bound exceeds the smallest upper bound cannot).
    /// </summary>
    private int WeightedPrimary(RendezvousTier tier, ulong keyHash, Span<ulong> heads)
    {
        var bestHigh = double.PositiveInfinity;
        var bestClass = 0;
        for (var weightClass = 0; weightClass < heads.Length; weightClass++)
        {
            heads[weightClass] = RendezvousKernel.Max(_path, tier.ClassSeeds(weightClass), tier.ClassTags(weightClass), keyHash);
            var (_, high) = RendezvousKeys.RankBounds(heads[weightClass], tier.ClassInverseWeights[weightClass]);
            if (high < bestHigh)
            {
                bestHigh = high;
                bestClass = weightClass;
            }
        }

        // Heads that could still win: the one with the smallest upper bound and any whose lower bound is not above it.
        var contenders = 0;
        for (var weightClass = 0; weightClass < heads.Length; weightClass++)
        {
            var (low, _) = RendezvousKeys.RankBounds(heads[weightClass], tier.ClassInverseWeights[weightClass]);
            if (weightClass == bestClass || low <= bestHigh)
            {
                contenders++;
            }
            else
            {
                heads[weightClass] = 0;
            }
        }

        if (contenders == 1)
        {
            return RendezvousKeys.IndexOf(heads[bestClass]);
        }

        var best = -1;
        var bestRank = 0.0;
        for (var weightClass = 0; weightClass < heads.Length; weightClass++)
        {
            if (heads[weightClass] == 0)
            {
                continue;
            }

            var node = RendezvousKeys.IndexOf(heads[weightClass]);
            var rank = RendezvousKeys.Rank(heads[weightClass], tier.ClassInverseWeights[weightClass]);
            if (best < 0 || rank < bestRank || (rank == bestRank && node < best))
            {
                best = node;
                bestRank = rank;
            }
        }

        return best;
    }

    /// <inheritdoc />
    public int GetPreferenceList(ReadOnlySpan<char> sessionId, Span<int> destination)
        => GetPreferenceList(PartitionHashing.HashKey(sessionId), destination);

    /// <summary>Like <see cref="GetPreferenceList(ReadOnlySpan{char}, Span{int})"/>, for a session id hash.</summary>
    public int GetPreferenceList(ulong keyHash, Span<int> destination)
    {
        if (destination.IsEmpty)
        {
            return 0;
        }

        if (destination.Length == 1)
        {
            destination[0] = GetPrimary(keyHash);
            return 1;
        }

        var wanted = destination[..Math.Min(destination.Length, _ids.Length)];
        var written = WriteTier(_weighted, keyHash, wanted, 0, health: null);
        return written < wanted.Length ? WriteTier(_fallback, keyHash, wanted, written, health: null) : written;
    }

    /// <summary>
    /// Writes the healthy nodes of the session's preference list, in list order, into
    /// <paramref name="destination"/> and returns how many were written. Unhealthy nodes are skipped, so a
    /// session of a healthy primary never moves and a session of a down primary goes to the next healthy
    /// node of its own list. Returns 0 when no node is healthy (or <paramref name="destination"/> is
    /// empty): the caller must answer "no healthy node", never pick one. Allocation-free for maps of up to
    /// <c>128</c> nodes per tier (larger ones rent a pooled buffer).
    /// </summary>
    public int ResolveHealthy(ReadOnlySpan<char> sessionId, INodeHealthView health, Span<int> destination)
    {
        ArgumentNullException.ThrowIfNull(health);
        if (destination.IsEmpty)
        {
            return 0;
        }

        var keyHash = PartitionHashing.HashKey(sessionId);
        if (destination.Length == 1)
        {
            // The usual case: one pass over the nodes, a healthy primary.
            var primary = GetPrimary(keyHash);
            if (health.IsHealthy(_ids[primary]))
            {
                destination[0] = primary;
                return 1;
            }
        }

        var written = WriteTier(_weighted, keyHash, destination, 0, health);
        return written < destination.Length ? WriteTier(_fallback, keyHash, destination, written, health) : written;
    }

    /// <summary>
    /// Appends the tier's nodes in rank order (skipping unhealthy ones when <paramref name="health"/> is
    /// set) until <paramref name="destination"/> is full or the tier is exhausted.
    /// </summary>
    private int WriteTier(RendezvousTier tier, ulong keyHash, Span<int> destination, int written, INodeHealthView? health)
    {
        var count = tier.Count;
        if (count == 0)
        {
            return written;
        }

        // The usual short list (a primary and a replica or two) of one weight class: one pass keeps the
        // four largest keys. Deeper walks (unhealthy nodes among them) compute every key below.
        Span<ulong> top = stackalloc ulong[RendezvousKernel.TopCount];
        var consumed = 0;
        if (tier.ClassCount == 1 && destination.Length - written <= RendezvousKernel.TopCount
            && RendezvousKernel.TryTop(_path, tier.Seeds, tier.Tags, keyHash, top))
        {
            for (; consumed < top.Length && top[consumed] != 0; consumed++)
            {
                written = Append(RendezvousKeys.IndexOf(top[consumed]), destination, written, health);
                if (written == destination.Length)
                {
                    return written;
                }
            }

            if (consumed == count)
            {
                return written;
            }
        }

        ulong[]? rented = null;
        var keys = count <= StackKeys ? stackalloc ulong[count] : (rented = ArrayPool<ulong>.Shared.Rent(count)).AsSpan(0, count);
        try
        {
            RendezvousKernel.Compute(_path, tier.Seeds, tier.Tags, keyHash, keys);
            for (var i = 0; i < consumed; i++)
            {
                keys[_positionInTier[RendezvousKeys.IndexOf(top[i])]] = 0;
            }

            return tier.ClassCount == 1
                ? WriteByKey(keys, destination, written, health, consumed)
                : WriteByRank(tier, keys, destination, written, health);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<ulong>.Shared.Return(rented);
            }
        }
    }

    /// <summary>
    /// One weight class: key order. The first few nodes are picked by repeated maxima (a picked key is set
    /// to 0); a deeper walk sorts the remaining keys once.
    /// </summary>
    private int WriteByKey(Span<ulong> keys, Span<int> destination, int written, INodeHealthView? health, int picked)
    {
        for (var picks = picked; written < destination.Length && picks < keys.Length; picks++)
        {
            if (picks >= PicksBeforeSort)
            {
                keys.Sort();
                for (var i = keys.Length - 1; i >= 0 && keys[i] != 0 && written < destination.Length; i--)
                {
                    written = Append(RendezvousKeys.IndexOf(keys[i]), destination, written, health);
                }

                return written;
            }

            var node = RendezvousKeys.IndexOf(RendezvousKernel.Max(_path, keys));
            keys[_positionInTier[node]] = 0;
            written = Append(node, destination, written, health);
        }

        return written;
    }

    /// <summary>
    /// Several weight classes: a merge of the classes' key orders by weighted rank. Each class's head is
    /// its largest remaining key; the head with the smallest rank (then the lowest index) goes next. As for
    /// the primary, logarithm-free bounds decide unless heads are close; exact ranks are computed only then.
    /// </summary>
    private int WriteByRank(RendezvousTier tier, Span<ulong> keys, Span<int> destination, int written, INodeHealthView? health)
    {
        var classes = tier.ClassCount;
        ulong[]? rentedHeads = null;
        double[]? rentedBounds = null;
        var heads = classes <= StackKeys ? stackalloc ulong[classes] : (rentedHeads = ArrayPool<ulong>.Shared.Rent(classes)).AsSpan(0, classes);
        var bounds = classes <= StackKeys ? stackalloc double[3 * classes] : (rentedBounds = ArrayPool<double>.Shared.Rent(3 * classes)).AsSpan(0, 3 * classes);
        var lows = bounds[..classes];
        var highs = bounds.Slice(classes, classes);
        var ranks = bounds.Slice(2 * classes, classes);
        try
        {
            for (var weightClass = 0; weightClass < classes; weightClass++)
            {
                heads[weightClass] = ClassMax(tier, keys, weightClass);
                (lows[weightClass], highs[weightClass]) = RendezvousKeys.RankBounds(heads[weightClass], tier.ClassInverseWeights[weightClass]);
                ranks[weightClass] = double.NaN;
            }

            while (written < destination.Length)
            {
                // A class whose keys are all picked has head 0.
                var bestClass = -1;
                for (var weightClass = 0; weightClass < classes; weightClass++)
                {
                    if (heads[weightClass] != 0 && (bestClass < 0 || highs[weightClass] < highs[bestClass]))
                    {
                        bestClass = weightClass;
                    }
                }

                if (bestClass < 0)
                {
                    break;
                }

                var contenders = 0;
                for (var weightClass = 0; weightClass < classes; weightClass++)
                {
                    contenders += heads[weightClass] != 0 && (weightClass == bestClass || lows[weightClass] <= highs[bestClass]) ? 1 : 0;
                }

                var next = bestClass;
                if (contenders > 1)
                {
                    next = -1;
                    for (var weightClass = 0; weightClass < classes; weightClass++)
                    {
                        if (heads[weightClass] == 0 || (weightClass != bestClass && lows[weightClass] > highs[bestClass]))
                        {
                            continue;
                        }

                        if (double.IsNaN(ranks[weightClass]))
                        {
                            ranks[weightClass] = RendezvousKeys.Rank(heads[weightClass], tier.ClassInverseWeights[weightClass]);
                        }

                        if (next < 0 || ranks[weightClass] < ranks[next]
                            || (ranks[weightClass] == ranks[next] && RendezvousKeys.IndexOf(heads[weightClass]) < RendezvousKeys.IndexOf(heads[next])))
                        {
                            next = weightClass;
                        }
                    }
                }

                var node = RendezvousKeys.IndexOf(heads[next]);
                keys[_positionInTier[node]] = 0;
                heads[next] = ClassMax(tier, keys, next);
                (lows[next], highs[next]) = RendezvousKeys.RankBounds(heads[next], tier.ClassInverseWeights[next]);
                ranks[next] = double.NaN;
                written = Append(node, destination, written, health);
            }

            return written;
        }
        finally
        {
            if (rentedHeads is not null)
            {
                ArrayPool<ulong>.Shared.Return(rentedHeads);
                ArrayPool<double>.Shared.Return(rentedBounds!);
            }
        }
    }

    private ulong ClassMax(RendezvousTier tier, Span<ulong> keys, int weightClass)
        => RendezvousKernel.Max(_path, keys[tier.ClassStarts[weightClass]..tier.ClassStarts[weightClass + 1]]);

    private int Append(int node, Span<int> destination, int written, INodeHealthView? health)
    {
        if (health is null || health.IsHealthy(_ids[node]))
        {
            destination[written++] = node;
        }

        return written;
    }

    private static RendezvousTier BuildTier(PartitionNode[] canonical, bool weighted, int[] positionInTier)
    {
        // Weight classes in ascending weight, canonical order inside each; zero-weight nodes are one class.
        var classes = Enumerable.Range(0, canonical.Length)
            .Where(i => (canonical[i].Weight > 0) == weighted)
            .GroupBy(i => canonical[i].Weight)
            .OrderBy(g => g.Key)
            .Select(g => g.ToArray())
            .ToArray();
        var members = classes.SelectMany(c => c).ToArray();
        for (var position = 0; position < members.Length; position++)
        {
            positionInTier[members[position]] = position;
        }

        var starts = new int[classes.Length + 1];
        for (var c = 0; c < classes.Length; c++)
        {
            starts[c + 1] = starts[c] + classes[c].Length;
        }

        return new RendezvousTier(
            members.Select(i => PartitionHashing.HashNode(canonical[i].Id)).ToArray(),
            members.Select(RendezvousKeys.Tag).ToArray(),
            starts,
            classes.Select(c => weighted ? 1.0 / canonical[c[0]].Weight : 1.0).ToArray());
    }

    private static void Validate(PartitionNode[] nodes)
    {
        if (nodes.Length == 0)
        {
            throw new ArgumentException("A partition map needs at least one node.", nameof(nodes));
        }

        if (nodes.Length > MaxNodes)
        {
            throw new ArgumentException($"A partition map holds at most {MaxNodes} nodes (got {nodes.Length}).", nameof(nodes));
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        var anyWeight = false;
        for (var i = 0; i < nodes.Length; i++)
        {
            var node = nodes[i] ?? throw new ArgumentException($"Node {i} is null.", nameof(nodes));
            if (string.IsNullOrWhiteSpace(node.Id))
            {
                throw new ArgumentException($"Node {i} has an empty id.", nameof(nodes));
            }

            if (!seen.Add(node.Id))
            {
                throw new ArgumentException($"Node id '{node.Id}' is listed twice.", nameof(nodes));
            }

            if (!double.IsFinite(node.Weight) || node.Weight < 0)
            {
                throw new ArgumentException($"Node '{node.Id}' has weight {node.Weight}; a weight must be a finite number >= 0.", nameof(nodes));
            }

            anyWeight |= node.Weight > 0;
        }

        if (!anyWeight)
        {
            throw new ArgumentException("At least one node needs a weight above 0.", nameof(nodes));
        }
    }
}
