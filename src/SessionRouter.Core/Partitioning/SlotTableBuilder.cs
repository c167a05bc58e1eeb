namespace SessionRouter.Core.Partitioning;

/// <summary>
/// Builds the slot table of a partition map (docs/partitioning.md explains the design and its figures).
/// The hash space is cut into <c>2^slotBits</c> equal slots. Every slot ranks the nodes by weighted
/// rendezvous hashing; its primary is its best-ranked node that still has room under an exact quota
/// (largest-remainder share of the slots by weight), taken greedily in global rank order, so every node
/// owns its weighted share of the hash space to one slot. The failover column is balanced the same way
/// per primary: the slots of one node spread over all the others in proportion to their weights, so the
/// sessions of a failed node land evenly. The remaining columns follow the rendezvous order.
/// </summary>
internal static class SlotTableBuilder
{
    /// <summary>Rendezvous candidates kept per slot while balancing; the greedy rarely looks further.</summary>
    private const int CandidatesPerSlot = 6;

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

        var quotas = Quotas(slotCount, positive, nodes.Weights, nodeCount);
        var primary = AssignPrimaries(nodes, slotCount, candidates, candidateNodes, candidateKeys, quotas);

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
        var positive = nodes.PositiveIndices;
        Span<double> bestKeys = stackalloc double[CandidatesPerSlot];
        Span<int> bestNodes = stackalloc int[CandidatesPerSlot];
        for (var slot = 0; slot < slotCount; slot++)
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

    /// <summary>Largest-remainder apportionment of <paramref name="total"/> by weight; ties go to the lower index.</summary>
    internal static int[] Quotas(int total, int[] positive, double[] weights, int nodeCount)
    {
        var quotas = new int[nodeCount];
        var weightSum = 0.0;
        foreach (var node in positive)
        {
            weightSum += weights[node];
        }

        var assigned = 0;
        var remainders = new double[positive.Length];
        for (var i = 0; i < positive.Length; i++)
        {
            var exact = total * (weights[positive[i]] / weightSum);
            var floor = (int)Math.Floor(exact);
            quotas[positive[i]] = floor;
            remainders[i] = exact - floor;
            assigned += floor;
        }

        var order = Enumerable.Range(0, positive.Length)
            .OrderByDescending(i => remainders[i])
            .ThenBy(i => positive[i])
            .ToArray();
        for (var i = 0; assigned < total; i = (i + 1) % order.Length)
        {
            quotas[positive[order[i]]]++;
            assigned++;
        }

        return quotas;
    }

    private static int[] AssignPrimaries(NodeSet nodes, int slotCount, int candidates, ushort[] candidateNodes, double[] candidateKeys, int[] quotas)
    {
        var keys = (double[])candidateKeys.Clone();
        var entries = new int[keys.Length];
        for (var i = 0; i < entries.Length; i++)
        {
            entries[i] = i;
        }

        Array.Sort(keys, entries);

        var owner = new int[slotCount];
        Array.Fill(owner, -1);
        var counts = new int[nodes.Count];
        foreach (var entry in entries)
        {
            var slot = entry / candidates;
            int node = candidateNodes[entry];
            if (owner[slot] < 0 && counts[node] < quotas[node])
            {
                owner[slot] = node;
                counts[node]++;
            }
        }

        // Slots whose every candidate filled up first: the best-ranked node that still has room.
        for (var slot = 0; slot < slotCount; slot++)
        {
            if (owner[slot] >= 0)
            {
                continue;
            }

            var node = BestWithRoom(nodes, PartitionHashing.SlotSalt(slot), counts, quotas, excluded: -1);
            owner[slot] = node;
            counts[node]++;
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
