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
/// What an edit of the partition map does to the sessions: the exact fraction of the hash space whose
/// primary changes, per source → destination pair and per node. Computed slot by slot, so it is exact
/// for the hash space, not a sample.
/// </summary>
public sealed class PartitionMapDiff
{
    private PartitionMapDiff(double movedFraction, IReadOnlyList<PartitionMove> moves, IReadOnlyList<PartitionNodeChange> nodes)
    {
        MovedFraction = movedFraction;
        Moves = moves;
        Nodes = nodes;
    }

    /// <summary>Fraction of the hash space (and so of the sessions) whose primary node changes.</summary>
    public double MovedFraction { get; }

    /// <summary>Every source → destination pair with a non-zero share, largest first.</summary>
    public IReadOnlyList<PartitionMove> Moves { get; }

    /// <summary>Every node of either map, by id.</summary>
    public IReadOnlyList<PartitionNodeChange> Nodes { get; }

    /// <summary>Compares the primaries of two maps slot by slot.</summary>
    public static PartitionMapDiff Compare(PartitionResolver before, PartitionResolver after)
    {
        ArgumentNullException.ThrowIfNull(before);
        ArgumentNullException.ThrowIfNull(after);
        if (before.SlotCount != after.SlotCount)
        {
            throw new ArgumentException("Both maps must have the same number of slots.", nameof(after));
        }

        var slots = before.SlotCount;
        var pairs = new Dictionary<(int From, int To), int>();
        var moved = 0;
        for (var slot = 0; slot < slots; slot++)
        {
            var from = before.GetSlotPrimary(slot);
            var to = after.GetSlotPrimary(slot);
            if (!string.Equals(before.Nodes[from].Id, after.Nodes[to].Id, StringComparison.Ordinal))
            {
                moved++;
                pairs[(from, to)] = pairs.GetValueOrDefault((from, to)) + 1;
            }
        }

        var moves = pairs
            .Select(p => new PartitionMove(before.Nodes[p.Key.From].Id, after.Nodes[p.Key.To].Id, (double)p.Value / slots))
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
                i < 0 ? 0 : before.GetShare(i),
                j < 0 ? 0 : after.GetShare(j),
                moves.Where(m => m.From == id).Sum(m => m.Fraction),
                moves.Where(m => m.To == id).Sum(m => m.Fraction));
        }).ToArray();

        return new PartitionMapDiff((double)moved / slots, moves, nodes);
    }
}
