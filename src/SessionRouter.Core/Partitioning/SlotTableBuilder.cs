namespace SessionRouter.Core.Partitioning;

/// <summary>
/// Builds the slot table of a partition map (docs/partitioning.md explains the design and its figures).
/// The hash space is cut into <c>2^slotBits</c> equal slots. Every slot ranks the nodes by weighted
/// rendezvous hashing and goes to its best-ranked node, except where that node's share strays more than
/// <see cref="BalanceTolerance"/> from its exact weighted share: such a node keeps its best-ranked slots up
/// to the band and releases the rest to the best-ranked candidates still below theirs. The failover column
/// is balanced per primary: the slots of one node spread over all the others in proportion to their
/// weights (rounded up), so the sessions of a failed node land evenly. Further columns follow the
/// rendezvous order.
/// </summary>
internal static class SlotTableBuilder
{
    /// <summary>Rendezvous candidates kept per slot while balancing; the greedy rarely looks further.</summary>
    private const int CandidatesPerSlot = 6;

    /// <summary>
    /// How far (relative) a node's share may stray from its exact weighted share before slots are moved
    /// to correct it: inside the band the plain rendezvous choice stands, which is what keeps map edits
    /// from moving sessions between nodes that stay (docs/partitioning.md).
    /// </summary>
    public const double BalanceTolerance = 0.008;

    /// <summary>Preference-list entries stored per slot; deeper entries are ranked on demand.</summary>
    public const int StoredColumns = 4;

    public static SlotTable Build(NodeSet nodes, int slotBits)
    {
        var slotCount = 1 << slotBits;
        var nodeCount = nodes.Count;
        var columns = Math.Min(nodeCount, StoredColumns);
        var positive = nodes.PositiveIndices;
        var candidates = Math.Min(positive.Length, CandidatesPerSlot);

        var candidateNodes = new ushort[slotCount * candidates];
        var candidateKeys = new double[slotCount * candidates];
        SelectCandidates(nodes, slotCount, candidates, candidateNodes, candidateKeys);

        var primary = AssignPrimaries(nodes, slotCount, candidates, candidateNodes, candidateKeys);

        var table = new ushort[slotCount * columns];
        var primaryCounts = new int[nodeCount];
        for (var slot = 0; slot < slotCount; slot++)
        {
            table[slot * columns] = (ushort)primary[slot];
            primaryCounts[primary[slot]]++;
        }

        if (columns >= 2)
        {
            AssignFailover(nodes, slotCount, candidates, candidateNodes, candidateKeys, primary, primaryCounts, table, columns);
        }

        if (columns >= 3)
        {
            FillRemainingColumns(nodes, slotCount, candidates, candidateNodes, table, columns);
        }

        return new SlotTable(slotBits, columns, table, primaryCounts);
    }

    /// <summary>The order key of a node for a slot: smaller is better; zero-weight nodes rank after all others.</summary>
    public static double OrderKey(NodeSet nodes, ulong slotSalt, int node)
    {
        var score = PartitionHashing.Score(slotSalt, nodes.Hashes[node]);
        var weight = nodes.Weights[node];
        if (weight <= 0 || nodes.UniformWeights)
        {
            // 53 bits are exact in a double; equal weights need no logarithm.
            return -(double)(score >> 11);
        }

        return PartitionHashing.Rank(score, weight);
    }

    private static void SelectCandidates(NodeSet nodes, int slotCount, int candidates, ushort[] candidateNodes, double[] candidateKeys)
    {
        // Slots are independent, so the N-hashes-per-slot pass (the bulk of a large map's build) runs in
        // parallel chunks; the result does not depend on how the work is split.
        const int ChunkSize = 4096;
        var chunks = (slotCount + ChunkSize - 1) / ChunkSize;
        Parallel.For(0, chunks, chunk =>
        {
            var end = Math.Min(slotCount, (chunk + 1) * ChunkSize);
            SelectCandidates(nodes, chunk * ChunkSize, end, candidates, candidateNodes, candidateKeys);
        });
    }

    private static void SelectCandidates(NodeSet nodes, int firstSlot, int endSlot, int candidates, ushort[] candidateNodes, double[] candidateKeys)
    {
        var positive = nodes.PositiveIndices;
        Span<double> bestKeys = stackalloc double[CandidatesPerSlot];
        Span<int> bestNodes = stackalloc int[CandidatesPerSlot];
        for (var slot = firstSlot; slot < endSlot; slot++)
        {
            var salt = PartitionHashing.SlotSalt(slot);
            var filled = 0;
            foreach (var node in positive)
            {
                var key = OrderKey(nodes, salt, node);
                if (filled == candidates && key >= bestKeys[candidates - 1])
                {
                    continue;
                }

                // Insertion into the short sorted list; equal keys keep the lower (earlier) node first.
                var position = filled < candidates ? filled++ : candidates - 1;
                while (position > 0 && bestKeys[position - 1] > key)
                {
                    bestKeys[position] = bestKeys[position - 1];
                    bestNodes[position] = bestNodes[position - 1];
                    position--;
                }

                bestKeys[position] = key;
                bestNodes[position] = node;
            }

            var offset = slot * candidates;
            for (var k = 0; k < candidates; k++)
            {
                candidateNodes[offset + k] = (ushort)bestNodes[k];
                candidateKeys[offset + k] = bestKeys[k];
            }
        }
    }

    private static int[] AssignPrimaries(NodeSet nodes, int slotCount, int candidates, ushort[] candidateNodes, double[] candidateKeys)
    {
        var nodeCount = nodes.Count;
        var positive = nodes.PositiveIndices;

        // Rendezvous first: every slot goes to its best-ranked node.
        var owner = new int[slotCount];
        var natural = new int[nodeCount];
        for (var slot = 0; slot < slotCount; slot++)
        {
            owner[slot] = candidateNodes[slot * candidates];
            natural[owner[slot]]++;
        }

        // Targets: a node keeps its rendezvous count while it is within the tolerance of its exact weighted
        // share, and is clamped to the band otherwise. Nodes inside the band are never touched, so on a map
        // edit their slots only change when the rendezvous order itself changes (the edited node).
        var weightSum = positive.Sum(i => nodes.Weights[i]);
        var exact = new double[nodeCount];
        var low = new int[nodeCount];
        var high = new int[nodeCount];
        var targets = new int[nodeCount];
        foreach (var node in positive)
        {
            exact[node] = slotCount * (nodes.Weights[node] / weightSum);
            low[node] = (int)Math.Floor(exact[node] * (1 - BalanceTolerance));
            high[node] = (int)Math.Ceiling(exact[node] * (1 + BalanceTolerance));
            targets[node] = Math.Clamp(natural[node], low[node], high[node]);
        }

        // Clamping leaves the targets off the slot count by the difference between what was cut above the
        // band and added below it: take it from the most served nodes or give it to the least served.
        var excess = targets.Sum() - slotCount;
        while (excess != 0)
        {
            var step = excess > 0 ? -1 : 1;
            var order = positive
                .Where(i => step < 0 ? targets[i] > low[i] : targets[i] < high[i])
                .OrderBy(i => step * (targets[i] / exact[i]))
                .ThenBy(i => i)
                .ToArray();
            if (order.Length == 0)
            {
                throw new InvalidOperationException("The balance band cannot hold every slot.");
            }

            foreach (var node in order)
            {
                if (excess == 0)
                {
                    break;
                }

                targets[node] += step;
                excess += step;
            }
        }

        // Nodes above target keep their best-ranked slots and release the rest.
        var assigned = new int[nodeCount];
        var releasedKeys = new List<double>();
        var releasedEntries = new List<int>();
        var overSlots = Enumerable.Range(0, slotCount).Where(s => natural[owner[s]] > targets[owner[s]]).ToArray();
        var overKeys = overSlots.Select(s => candidateKeys[s * candidates]).ToArray();
        Array.Sort(overKeys, overSlots);
        foreach (var slot in overSlots)
        {
            var node = owner[slot];
            if (assigned[node] < targets[node])
            {
                assigned[node]++;
                continue;
            }

            owner[slot] = -1;
            for (var k = 1; k < candidates; k++)
            {
                releasedKeys.Add(candidateKeys[(slot * candidates) + k]);
                releasedEntries.Add((slot * candidates) + k);
            }
        }

        for (var slot = 0; slot < slotCount; slot++)
        {
            if (owner[slot] >= 0 && natural[owner[slot]] <= targets[owner[slot]])
            {
                assigned[owner[slot]]++;
            }
        }

        // Released slots go, in global rank order, to candidates still below target.
        var keys = releasedKeys.ToArray();
        var entries = releasedEntries.ToArray();
        Array.Sort(keys, entries);
        foreach (var entry in entries)
        {
            var slot = entry / candidates;
            int node = candidateNodes[entry];
            if (owner[slot] < 0 && assigned[node] < targets[node])
            {
                owner[slot] = node;
                assigned[node]++;
            }
        }

        // Slots none of whose candidates has room: the best-ranked node that has.
        foreach (var slot in overSlots)
        {
            if (owner[slot] < 0)
            {
                var node = BestWithRoom(nodes, PartitionHashing.SlotSalt(slot), assigned, targets, excluded: -1);
                owner[slot] = node;
                assigned[node]++;
            }
        }

        return owner;
    }

    private static void AssignFailover(
        NodeSet nodes, int slotCount, int candidates, ushort[] candidateNodes, double[] candidateKeys,
        int[] primary, int[] primaryCounts, ushort[] table, int columns)
    {
        var nodeCount = nodes.Count;
        var positive = nodes.PositiveIndices;
        if (positive.Length < 2)
        {
            // A single node with weight: its failover column is the best node that only serves as a fallback.
            for (var slot = 0; slot < slotCount; slot++)
            {
                table[(slot * columns) + 1] = (ushort)BestOverall(nodes, PartitionHashing.SlotSalt(slot), primary[slot]);
            }

            return;
        }

        // Group the slots by primary (counting sort keeps slot order inside each group).
        var start = new int[nodeCount + 1];
        for (var node = 0; node < nodeCount; node++)
        {
            start[node + 1] = start[node] + primaryCounts[node];
        }

        var grouped = new int[slotCount];
        var next = (int[])start.Clone();
        for (var slot = 0; slot < slotCount; slot++)
        {
            grouped[next[primary[slot]]++] = slot;
        }

        var maxGroup = primaryCounts.Max();
        var keys = new double[maxGroup * candidates];
        var entries = new int[maxGroup * candidates];
        var caps = new int[nodeCount];
        var loads = new int[nodeCount];
        var failover = new int[slotCount];
        Array.Fill(failover, -1);

        var weightSum = positive.Sum(node => nodes.Weights[node]);
        foreach (var failed in positive)
        {
            var group = grouped.AsSpan(start[failed], primaryCounts[failed]);
            if (group.IsEmpty)
            {
                continue;
            }

            // Each other node may take its weighted share of the failed node's slots, rounded up.
            var otherWeight = weightSum - nodes.Weights[failed];
            Array.Clear(caps);
            Array.Clear(loads);
            foreach (var node in positive)
            {
                if (node != failed)
                {
                    caps[node] = (int)Math.Ceiling((group.Length * (nodes.Weights[node] / otherWeight)) - 1e-9);
                }
            }

            var length = 0;
            foreach (var slot in group)
            {
                for (var k = 0; k < candidates; k++)
                {
                    var entry = (slot * candidates) + k;
                    if (candidateNodes[entry] != failed)
                    {
                        keys[length] = candidateKeys[entry];
                        entries[length] = entry;
                        length++;
                    }
                }
            }

            Array.Sort(keys, entries, 0, length);
            for (var i = 0; i < length; i++)
            {
                var slot = entries[i] / candidates;
                int node = candidateNodes[entries[i]];
                if (failover[slot] < 0 && loads[node] < caps[node])
                {
                    failover[slot] = node;
                    loads[node]++;
                }
            }

            foreach (var slot in group)
            {
                if (failover[slot] < 0)
                {
                    var node = BestWithRoom(nodes, PartitionHashing.SlotSalt(slot), loads, caps, excluded: failed);
                    failover[slot] = node;
                    loads[node]++;
                }
            }
        }

        for (var slot = 0; slot < slotCount; slot++)
        {
            table[(slot * columns) + 1] = (ushort)failover[slot];
        }
    }

    private static void FillRemainingColumns(NodeSet nodes, int slotCount, int candidates, ushort[] candidateNodes, ushort[] table, int columns)
    {
        Span<int> row = stackalloc int[columns];
        for (var slot = 0; slot < slotCount; slot++)
        {
            var offset = slot * columns;
            row[0] = table[offset];
            row[1] = table[offset + 1];
            var filled = 2;
            for (var k = 0; k < candidates && filled < columns; k++)
            {
                int node = candidateNodes[(slot * candidates) + k];
                if (!row[..filled].Contains(node))
                {
                    row[filled++] = node;
                }
            }

            if (filled < columns)
            {
                filled = AppendByRank(nodes, PartitionHashing.SlotSalt(slot), row, filled, columns);
            }

            for (var c = 2; c < columns; c++)
            {
                table[offset + c] = (ushort)row[c];
            }
        }
    }

    /// <summary>Appends the best-ranked nodes not yet in <paramref name="row"/> until it holds <paramref name="target"/>.</summary>
    private static int AppendByRank(NodeSet nodes, ulong salt, Span<int> row, int filled, int target)
    {
        while (filled < target)
        {
            var best = -1;
            var bestKey = 0.0;
            var bestPositive = false;
            for (var node = 0; node < nodes.Count; node++)
            {
                if (row[..filled].Contains(node))
                {
                    continue;
                }

                var positive = nodes.Weights[node] > 0;
                var key = OrderKey(nodes, salt, node);
                if (best < 0 || (positive && !bestPositive) || (positive == bestPositive && key < bestKey))
                {
                    best = node;
                    bestKey = key;
                    bestPositive = positive;
                }
            }

            row[filled++] = best;
        }

        return filled;
    }

    private static int BestWithRoom(NodeSet nodes, ulong salt, int[] counts, int[] limits, int excluded)
    {
        var best = -1;
        var bestKey = 0.0;
        var fallback = -1;
        var fallbackKey = 0.0;
        foreach (var node in nodes.PositiveIndices)
        {
            if (node == excluded)
            {
                continue;
            }

            var key = OrderKey(nodes, salt, node);
            if (counts[node] < limits[node] && (best < 0 || key < bestKey))
            {
                best = node;
                bestKey = key;
            }

            if (fallback < 0 || key < fallbackKey)
            {
                fallback = node;
                fallbackKey = key;
            }
        }

        return best >= 0 ? best : fallback;
    }

    private static int BestOverall(NodeSet nodes, ulong salt, int excluded)
    {
        Span<int> row = stackalloc int[2];
        row[0] = excluded;
        AppendByRank(nodes, salt, row, 1, 2);
        return row[1];
    }
}

/// <summary>The canonical members of a map: sorted by id, with hashes and weights by index.</summary>
internal sealed class NodeSet
{
    public NodeSet(PartitionNode[] canonical)
    {
        Nodes = canonical;
        Hashes = canonical.Select(n => PartitionHashing.HashNode(n.Id)).ToArray();
        Weights = canonical.Select(n => n.Weight).ToArray();
        PositiveIndices = Enumerable.Range(0, canonical.Length).Where(i => Weights[i] > 0).ToArray();
        UniformWeights = PositiveIndices.All(i => Weights[i] == Weights[PositiveIndices[0]]);
    }

    public PartitionNode[] Nodes { get; }

    public int Count => Nodes.Length;

    public ulong[] Hashes { get; }

    public double[] Weights { get; }

    public int[] PositiveIndices { get; }

    public bool UniformWeights { get; }
}

/// <summary>The built table: <see cref="Columns"/> node indices per slot, primary first.</summary>
internal sealed class SlotTable(int slotBits, int columns, ushort[] entries, int[] primaryCounts)
{
    public int SlotBits { get; } = slotBits;

    public int SlotCount => 1 << SlotBits;

    public int Columns { get; } = columns;

    public ushort[] Entries { get; } = entries;

    public int[] PrimaryCounts { get; } = primaryCounts;
}
