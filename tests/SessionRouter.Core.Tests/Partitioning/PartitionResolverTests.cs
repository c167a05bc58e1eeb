using SessionRouter.Core.Partitioning;

namespace SessionRouter.Core.Tests.Partitioning;

public sealed class PartitionResolverTests
{
    private static readonly PartitionNode[] ThreeNodes = [new("engine-1"), new("engine-2"), new("engine-3")];

    [Fact]
    public void DefaultMap_MatchesRecordedLists_SoEveryProcessAndVersionAgrees()
    {
        // Recorded once; a change here re-partitions every deployed map and must be deliberate.
        var map = PartitionResolver.Create(ThreeNodes);
        Assert.Equal(262144, map.SlotCount);
        var observed = Golden.Keys.Select(key => string.Join(",", Ids(map, key))).ToArray();
        Assert.Equal(Golden.Lists, observed);
    }

    [Fact]
    public void DefaultMap_SplitsTheHashSpaceWithinTheBalanceBand()
    {
        var map = PartitionResolver.Create(ThreeNodes);
        var counts = Enumerable.Range(0, 3).Select(i => (int)Math.Round(map.GetShare(i) * map.SlotCount)).ToArray();
        Assert.Equal(map.SlotCount, counts.Sum());
        Assert.All(counts, c => Assert.InRange(c, (map.SlotCount / 3.0 * 0.992) - 1, (map.SlotCount / 3.0 * 1.008) + 1));
    }

    [Fact]
    public void NodesProperty_IsSortedById()
    {
        var map = MapGen.Build([new("c"), new("a", 2), new("b")]);
        Assert.Equal(["a", "b", "c"], map.Nodes.Select(n => n.Id));
        Assert.Equal(2, map.Nodes[0].Weight);
        Assert.Equal(1, map.IndexOf("b"));
        Assert.Equal(-1, map.IndexOf("missing"));
    }

    [Fact]
    public void ZeroWeightNode_IsNeverPrimaryButStaysInTheLists()
    {
        var map = MapGen.Build([new("a"), new("b"), new("drained", 0)]);
        var drained = map.IndexOf("drained");
        Assert.Equal(0, map.GetShare(drained));
        for (var slot = 0; slot < map.SlotCount; slot++)
        {
            var list = MapGen.Slots(map, slot);
            Assert.NotEqual(drained, list[0]);
            Assert.Equal(drained, list[2]);
        }
    }

    [Fact]
    public void SingleNode_IsEveryonesList()
    {
        var map = MapGen.Build([new("only")]);
        var list = new int[4];
        Assert.Equal(1, map.GetPreferenceList("abc", list));
        Assert.Equal(0, list[0]);
        Assert.Equal(1.0, map.GetShare(0));
    }

    [Fact]
    public void ResolveHealthy_WhenEveryNodeIsDown_ReturnsZero()
    {
        var map = MapGen.Build(ThreeNodes);
        var health = new PartitionResolverPropertyTests.FixedHealth(ThreeNodes.Select(n => n.Id).ToHashSet());
        Assert.Equal(0, map.ResolveHealthy("AAAAAAAAAAAAAAAAAAAAAA", health, new int[3]));
    }

    [Fact]
    public void ResolveHealthy_SkipsADownPrimaryToTheNextNodeOfTheSameList()
    {
        var map = MapGen.Build(MapGen.Nodes(8, 5));
        foreach (var id in MapGen.SessionIds(100, 9))
        {
            var full = new int[8];
            map.GetPreferenceList(id, full);
            var health = new PartitionResolverPropertyTests.FixedHealth(new HashSet<string> { map.Nodes[full[0]].Id });
            var healthy = new int[1];
            Assert.Equal(1, map.ResolveHealthy(id, health, healthy));
            Assert.Equal(full[1], healthy[0]);
        }
    }

    [Fact]
    public void ResolveHealthy_BeyondTheStoredColumns_WalksTheWholeList()
    {
        var nodes = MapGen.Nodes(12, 3);
        var map = MapGen.Build(nodes);
        foreach (var id in MapGen.SessionIds(50, 4))
        {
            var full = new int[12];
            map.GetPreferenceList(id, full);

            // Everything but the last node of the list is down: the answer is that last node.
            var down = full[..^1].Select(i => map.Nodes[i].Id).ToHashSet();
            var healthy = new int[12];
            Assert.Equal(1, map.ResolveHealthy(id, new PartitionResolverPropertyTests.FixedHealth(down), healthy));
            Assert.Equal(full[^1], healthy[0]);
        }
    }

    [Fact]
    public void EmptyDestination_WritesNothing()
    {
        var map = MapGen.Build(ThreeNodes);
        Assert.Equal(0, map.GetPreferenceList("x", []));
    }

    [Theory]
    [InlineData("empty")]
    [InlineData("blank-id")]
    [InlineData("duplicate")]
    [InlineData("negative")]
    [InlineData("nan")]
    [InlineData("infinite")]
    [InlineData("all-zero")]
    public void InvalidMaps_AreRefusedWithAClearMessage(string problem)
    {
        PartitionNode[] nodes = problem switch
        {
            "empty" => [],
            "blank-id" => [new(" ")],
            "duplicate" => [new("a"), new("a")],
            "negative" => [new("a", -1)],
            "nan" => [new("a", double.NaN)],
            "infinite" => [new("a", double.PositiveInfinity)],
            _ => [new("a", 0), new("b", 0)],
        };

        var error = Assert.Throws<ArgumentException>(() => MapGen.Build(nodes));
        Assert.False(string.IsNullOrWhiteSpace(error.Message));
    }

    [Fact]
    public void Diff_OfTheSameMap_MovesNothing()
    {
        var map = MapGen.Build(ThreeNodes);
        var diff = PartitionMapDiff.Compare(map, MapGen.Build(ThreeNodes.Reverse()));
        Assert.Equal(0, diff.MovedFraction);
        Assert.Empty(diff.Moves);
        Assert.All(diff.Nodes, n => Assert.Equal(n.ShareBefore, n.ShareAfter));
    }

    [Fact]
    public void Diff_OfARemoval_ReportsTheRemovedNodesShareGoingToTheOthers()
    {
        var map = MapGen.Build(ThreeNodes);
        var after = MapGen.Build(ThreeNodes.Take(2));
        var diff = PartitionMapDiff.Compare(map, after);
        var removed = diff.Nodes.Single(n => n.Id == "engine-3");
        Assert.Equal(0, removed.ShareAfter);
        Assert.Equal(removed.ShareBefore, removed.Lost, 12);
        Assert.Equal(diff.MovedFraction, diff.Moves.Sum(m => m.Fraction), 12);
        Assert.Equal(diff.MovedFraction, diff.Nodes.Sum(n => n.Gained), 12);
        Assert.Contains(diff.Moves, m => m.From == "engine-3" && m.To == "engine-1");
        Assert.Contains(diff.Moves, m => m.From == "engine-3" && m.To == "engine-2");
    }

    [Fact]
    public void Diff_OfMapsWithDifferentSlotCounts_IsRefused()
        => Assert.Throws<ArgumentException>(() => PartitionMapDiff.Compare(PartitionResolver.Create(ThreeNodes, 10), PartitionResolver.Create(ThreeNodes, 11)));

    private static string[] Ids(PartitionResolver map, string key)
    {
        var list = new int[map.Nodes.Count];
        map.GetPreferenceList(key, list);
        return list.Select(i => map.Nodes[i].Id).ToArray();
    }

    private static class Golden
    {
        public static readonly string[] Keys =
        [
            "AAAAAAAAAAAAAAAAAAAAAA",
            "abcdefghijklmnopqrstuv",
            "Zm9vYmFyYmF6cXV4cXV1eA",
            "-_-_-_-_-_-_-_-_-_-_-_",
            "session-0001",
            "session-0002",
        ];

        public static readonly string[] Lists =
        [
            "engine-2,engine-1,engine-3",
            "engine-3,engine-1,engine-2",
            "engine-3,engine-1,engine-2",
            "engine-2,engine-1,engine-3",
            "engine-2,engine-3,engine-1",
            "engine-3,engine-2,engine-1",
        ];
    }
}
