using FsCheck;
using FsCheck.Xunit;
using SessionRouter.Core.Health;
using SessionRouter.Core.Partitioning;

namespace SessionRouter.Core.Tests.Partitioning;

/// <summary>Properties of the partition map over generated node sets (1..24 nodes), session ids and hash-space points.</summary>
public sealed class PartitionResolverPropertyTests
{
    private const int MaxTest = 25;

    [Property(MaxTest = MaxTest)]
    public bool SameNodes_GiveTheSameLists(PositiveInt size, int seed, bool weighted)
    {
        var nodes = MapGen.Nodes(2 + (size.Get % 23), seed, weighted);
        var first = MapGen.Build(nodes);
        var second = MapGen.Build(nodes.Select(n => new PartitionNode(new string(n.Id.AsSpan()), n.Weight)));
        return MapGen.SessionIds(200, seed).All(id => MapGen.ListIds(first, id).SequenceEqual(MapGen.ListIds(second, id)));
    }

    [Property(MaxTest = MaxTest)]
    public bool ListingOrder_DoesNotMatter(PositiveInt size, int seed, bool weighted)
    {
        var nodes = MapGen.Nodes(2 + (size.Get % 23), seed, weighted);
        var map = MapGen.Build(nodes);
        var reordered = MapGen.Build(MapGen.Shuffle(nodes, seed + 1));
        return PartitionMapDiff.Compare(map, reordered, MapGen.SampleBits).MovedFraction == 0
            && MapGen.Points(8).All(hash => MapGen.ListIds(map, hash).SequenceEqual(MapGen.ListIds(reordered, hash)))
            && MapGen.SessionIds(100, seed).All(id => MapGen.ListIds(map, id).SequenceEqual(MapGen.ListIds(reordered, id)));
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
    public bool ShortDestination_GetsTheHeadOfTheList(PositiveInt size, PositiveInt length, int seed, bool weighted)
    {
        var nodes = MapGen.Nodes(2 + (size.Get % 23), seed, weighted);
        var map = MapGen.Build(nodes);
        var full = new int[nodes.Length];
        var head = new int[1 + (length.Get % nodes.Length)];
        return MapGen.SessionIds(50, seed).All(id =>
        {
            map.GetPreferenceList(id, full);
            return map.GetPreferenceList(id, head) == head.Length
                && head.AsSpan().SequenceEqual(full.AsSpan(0, head.Length))
                && map.GetPrimary(id) == full[0];
        });
    }

    [Property(MaxTest = MaxTest)]
    public bool Weights_AreHonouredWithinSamplingError(PositiveInt size, int seed)
    {
        const int Bits = 16;
        var nodes = MapGen.Nodes(2 + (size.Get % 11), seed, weighted: true);
        var map = MapGen.Build(nodes);
        var counts = new int[nodes.Length];
        foreach (var hash in MapGen.Points(Bits))
        {
            counts[map.GetPrimary(hash)]++;
        }

        // Five standard errors of a binomial share over 2^16 points: a real bias of a few percent fails.
        var total = nodes.Sum(n => n.Weight);
        return Enumerable.Range(0, nodes.Length).All(i =>
        {
            var share = map.Nodes[i].Weight / total;
            var expected = share * (1 << Bits);
            return Math.Abs(map.GetShare(i) - share) < 1e-12
                && Math.Abs(counts[i] - expected) <= 5 * Math.Sqrt(expected * (1 - share));
        });
    }

    [Property(MaxTest = MaxTest)]
    public bool Removal_MovesOnlyTheRemovedNodesSessions(PositiveInt size, PositiveInt which, int seed, bool weighted)
    {
        var nodes = MapGen.Nodes(2 + (size.Get % 23), seed, weighted);
        var removed = nodes[which.Get % nodes.Length];
        if (nodes.All(n => n == removed || n.Weight == 0))
        {
            return true;
        }

        var map = MapGen.Build(nodes);
        var after = MapGen.Build(nodes.Where(n => n != removed));
        var diff = PartitionMapDiff.Compare(map, after, MapGen.SampleBits);
        var fromRemoved = diff.Moves.Where(m => m.From == removed.Id).Sum(m => m.Fraction);

        // Point by point, the survivors keep their order: every list loses the removed node and nothing else.
        return diff.Moves.All(m => m.From == removed.Id)
            && Math.Abs(diff.MovedFraction - fromRemoved) < 1e-12
            && MapGen.Points(8).All(hash => MapGen.ListIds(map, hash).Where(id => id != removed.Id).SequenceEqual(MapGen.ListIds(after, hash)));
    }

    [Property(MaxTest = MaxTest)]
    public bool Addition_MovesOnlySessionsToTheNewNode(PositiveInt size, int seed, bool weighted)
    {
        var nodes = MapGen.Nodes(1 + (size.Get % 23), seed, weighted);
        var added = new PartitionNode($"added-{seed}", weighted ? 2 : 1);
        var map = MapGen.Build(nodes);
        var after = MapGen.Build(nodes.Append(added));
        var diff = PartitionMapDiff.Compare(map, after, MapGen.SampleBits);
        return diff.Moves.All(m => m.To == added.Id)
            && MapGen.Points(8).All(hash => MapGen.ListIds(after, hash).Where(id => id != added.Id).SequenceEqual(MapGen.ListIds(map, hash)));
    }

    [Property(MaxTest = MaxTest)]
    public bool ZeroWeightNodes_AreNeverPrimaryAndComeLast(PositiveInt size, PositiveInt drained, int seed, bool weighted)
    {
        var nodes = MapGen.Nodes(2 + (size.Get % 20), seed, weighted);
        var zero = 1 + (drained.Get % (nodes.Length - 1));
        nodes = nodes.Select((n, i) => i < zero ? n with { Weight = 0 } : n).ToArray();
        var map = MapGen.Build(nodes);
        return MapGen.SessionIds(100, seed).All(id =>
        {
            var list = new int[nodes.Length];
            map.GetPreferenceList(id, list);
            return list.Select(i => map.Nodes[i].Weight > 0).SequenceEqual(list.Select((_, position) => position < nodes.Length - zero));
        });
    }

    [Property(MaxTest = MaxTest)]
    public bool UnhealthyNodes_AreSkippedAndNoHealthySessionMoves(PositiveInt size, PositiveInt length, int seed, int downMask, bool weighted)
    {
        var nodes = MapGen.Nodes(1 + (size.Get % 12), seed, weighted);
        var map = MapGen.Build(nodes);
        var down = nodes.Where((_, i) => (downMask & (1 << i)) != 0).Select(x => x.Id).ToHashSet();
        var health = new FixedHealth(down);
        var full = new int[nodes.Length];
        var healthy = new int[1 + (length.Get % nodes.Length)];
        return MapGen.SessionIds(200, seed).All(id =>
        {
            map.GetPreferenceList(id, full);
            var count = map.ResolveHealthy(id, health, healthy);
            var expected = full.Where(i => !down.Contains(map.Nodes[i].Id)).Take(healthy.Length).ToArray();
            var viaInterface = new int[healthy.Length];
            var viaInterfaceCount = ((IPartitionResolver)map).ResolveHealthy(id, health, viaInterface);
            return healthy.AsSpan(0, count).SequenceEqual(expected)
                && viaInterface.AsSpan(0, viaInterfaceCount).SequenceEqual(expected)
                && (down.Contains(map.Nodes[full[0]].Id) || healthy[0] == full[0]);
        });
    }

    internal sealed class FixedHealth(IReadOnlySet<string> down) : INodeHealthView
    {
        public bool IsHealthy(string nodeId) => !down.Contains(nodeId);
    }
}
