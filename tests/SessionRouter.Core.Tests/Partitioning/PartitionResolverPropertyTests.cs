using FsCheck;
using FsCheck.Xunit;
using SessionRouter.Core.Health;
using SessionRouter.Core.Partitioning;

namespace SessionRouter.Core.Tests.Partitioning;

/// <summary>Properties of the partition map over generated node sets (2..24 nodes) and session ids.</summary>
public sealed class PartitionResolverPropertyTests
{
    private const int MaxTest = 25;

    /// <summary>
    /// Balancing to exact quotas may move a few slots between surviving nodes when the quotas change
    /// (docs/partitioning.md: about 0.8·√slots). This is the bound the properties hold the resolver to.
    /// </summary>
    private static readonly int SurvivorMoveBound = (int)(3 * Math.Sqrt(1 << MapGen.SlotBits));

    [Property(MaxTest = MaxTest)]
    public bool SameNodes_GiveTheSameLists(PositiveInt size, int seed)
    {
        var nodes = MapGen.Nodes(2 + (size.Get % 23), seed);
        var first = MapGen.Build(nodes);
        var second = MapGen.Build(nodes.Select(n => new PartitionNode(new string(n.Id.AsSpan()), n.Weight)));
        return MapGen.SessionIds(200, seed).All(id => ListIds(first, id).SequenceEqual(ListIds(second, id)));
    }

    [Property(MaxTest = MaxTest)]
    public bool ListingOrder_DoesNotMatter(PositiveInt size, int seed, bool weighted)
    {
        var nodes = MapGen.Nodes(2 + (size.Get % 23), seed, weighted);
        var map = MapGen.Build(nodes);
        var reordered = MapGen.Build(MapGen.Shuffle(nodes, seed + 1));
        return PartitionMapDiff.Compare(map, reordered).MovedFraction == 0
            && Enumerable.Range(0, map.SlotCount).All(slot => MapGen.SlotIds(map, slot).SequenceEqual(MapGen.SlotIds(reordered, slot)));
    }

    [Property(MaxTest = MaxTest)]
    public bool PreferenceList_IsAPermutationOfTheNodes(PositiveInt size, int seed, bool weighted)
    {
        var nodes = MapGen.Nodes(1 + (size.Get % 24), seed, weighted);
        var map = MapGen.Build(nodes);
        var buffer = new int[nodes.Length + 3];
        return MapGen.SessionIds(100, seed).All(id =>
        {
            var count = map.GetPreferenceList(id, buffer);
            var list = buffer.AsSpan(0, count).ToArray();
            return count == nodes.Length && list.Distinct().Count() == count && list.All(i => i >= 0 && i < count);
        });
    }

    [Property(MaxTest = MaxTest)]
    public bool ShortDestination_GetsTheHeadOfTheList(PositiveInt size, PositiveInt length, int seed)
    {
        var nodes = MapGen.Nodes(2 + (size.Get % 23), seed);
        var map = MapGen.Build(nodes);
        var full = new int[nodes.Length];
        var head = new int[1 + (length.Get % nodes.Length)];
        return MapGen.SessionIds(50, seed).All(id =>
        {
            map.GetPreferenceList(id, full);
            return map.GetPreferenceList(id, head) == head.Length && head.AsSpan().SequenceEqual(full.AsSpan(0, head.Length));
        });
    }

    [Property(MaxTest = MaxTest)]
    public bool Weights_AreHonouredWithinTheBalanceBand(PositiveInt size, int seed)
    {
        var nodes = MapGen.Nodes(2 + (size.Get % 23), seed, weighted: true);
        var map = MapGen.Build(nodes);
        var total = nodes.Sum(n => n.Weight);
        return Enumerable.Range(0, nodes.Length).All(i =>
        {
            var exact = map.SlotCount * map.Nodes[i].Weight / total;
            return Math.Abs((map.GetShare(i) * map.SlotCount) - exact) <= (exact * 0.008) + 1;
        });
    }

    [Property(MaxTest = MaxTest)]
    public bool Removal_MovesTheRemovedNodesSlotsAndLittleElse(PositiveInt size, PositiveInt which, int seed, bool weighted)
    {
        var nodes = MapGen.Nodes(3 + (size.Get % 22), seed, weighted);
        var removed = nodes[which.Get % nodes.Length];
        var map = MapGen.Build(nodes);
        var after = MapGen.Build(nodes.Where(n => n != removed));
        var diff = PartitionMapDiff.Compare(map, after);

        var removedShare = map.GetShare(map.IndexOf(removed.Id));
        var fromRemoved = diff.Moves.Where(m => m.From == removed.Id).Sum(m => m.Fraction);
        var betweenSurvivors = diff.Moves.Where(m => m.From != removed.Id).Sum(m => m.Fraction);
        return Math.Abs(fromRemoved - removedShare) < 1e-12
            && betweenSurvivors * map.SlotCount <= SurvivorMoveBound
            && Math.Abs(diff.MovedFraction - fromRemoved - betweenSurvivors) < 1e-12;
    }

    [Property(MaxTest = MaxTest)]
    public bool Addition_FillsTheNewNodeAndMovesLittleElse(PositiveInt size, int seed, bool weighted)
    {
        var nodes = MapGen.Nodes(2 + (size.Get % 22), seed, weighted);
        var added = new PartitionNode($"added-{seed}", weighted ? 2 : 1);
        var map = MapGen.Build(nodes);
        var after = MapGen.Build(nodes.Append(added));
        var diff = PartitionMapDiff.Compare(map, after);

        var toAdded = diff.Moves.Where(m => m.To == added.Id).Sum(m => m.Fraction);
        var betweenOld = diff.MovedFraction - toAdded;
        return Math.Abs(toAdded - after.GetShare(after.IndexOf(added.Id))) < 1e-12
            && betweenOld * map.SlotCount <= SurvivorMoveBound;
    }

    [Property(MaxTest = MaxTest)]
    public bool FailedNodesSlots_SpreadEvenlyOverTheOthers(PositiveInt size, int seed, bool weighted)
    {
        var nodes = MapGen.Nodes(3 + (size.Get % 22), seed, weighted);
        var map = MapGen.Build(nodes);
        var n = nodes.Length;
        var received = new int[n, n];
        var owned = new int[n];
        for (var slot = 0; slot < map.SlotCount; slot++)
        {
            var list = MapGen.Slots(map, slot);
            received[list[0], list[1]]++;
            owned[list[0]]++;
        }

        var total = map.Nodes.Sum(x => x.Weight);
        for (var failed = 0; failed < n; failed++)
        {
            for (var receiver = 0; receiver < n; receiver++)
            {
                if (receiver == failed)
                {
                    continue;
                }

                var fair = owned[failed] * map.Nodes[receiver].Weight / (total - map.Nodes[failed].Weight);
                if (received[failed, receiver] > Math.Ceiling(fair - 1e-9))
                {
                    return false;
                }
            }
        }

        return true;
    }

    [Property(MaxTest = MaxTest)]
    public bool UnhealthyNodes_AreSkippedAndNoHealthySessionMoves(PositiveInt size, int seed, int downMask)
    {
        var nodes = MapGen.Nodes(2 + (size.Get % 10), seed);
        var map = MapGen.Build(nodes);
        var down = nodes.Where((_, i) => (downMask & (1 << i)) != 0).Select(x => x.Id).ToHashSet();
        var health = new FixedHealth(down);
        var full = new int[nodes.Length];
        var healthy = new int[nodes.Length];
        return MapGen.SessionIds(200, seed).All(id =>
        {
            map.GetPreferenceList(id, full);
            var count = map.ResolveHealthy(id, health, healthy);
            var expected = full.Where(i => !down.Contains(map.Nodes[i].Id)).ToArray();
            var viaInterface = new int[nodes.Length];
            var viaInterfaceCount = ((IPartitionResolver)map).ResolveHealthy(id, health, viaInterface);
            return healthy.AsSpan(0, count).SequenceEqual(expected)
                && viaInterfaceCount == count
                && (down.Contains(map.Nodes[full[0]].Id) || healthy[0] == full[0]);
        });
    }

    private static string[] ListIds(PartitionResolver map, string id)
    {
        var list = new int[map.Nodes.Count];
        map.GetPreferenceList(id, list);
        return list.Select(i => map.Nodes[i].Id).ToArray();
    }

    internal sealed class FixedHealth(IReadOnlySet<string> down) : INodeHealthView
    {
        public bool IsHealthy(string nodeId) => !down.Contains(nodeId);
    }
}
