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
        var observed = Golden.Keys.Select(key => string.Join(",", MapGen.ListIds(map, key))).ToArray();
        Assert.Equal(Golden.Lists, observed);

        var weighted = PartitionResolver.Create([new("engine-1", 1), new("engine-2", 2), new("engine-3", 0.5), new("drained", 0)]);
        var observedWeighted = Golden.Keys.Select(key => string.Join(",", MapGen.ListIds(weighted, key))).ToArray();
        Assert.Equal(Golden.WeightedLists, observedWeighted);

        // The full lists of 4096 evenly spaced points, folded: pins the integer and the weighted arithmetic.
        Assert.Equal(Golden.Fold, Fold(map));
        Assert.Equal(Golden.WeightedFold, Fold(weighted));
    }

    private static ulong Fold(PartitionResolver map)
    {
        var fold = 0UL;
        foreach (var hash in MapGen.Points())
        {
            foreach (var node in MapGen.List(map, hash))
            {
                fold = unchecked((fold * 31) + (ulong)node + 1);
            }
        }

        return fold;
    }

    [Fact]
    public void EqualWeights_SplitTheHashSpaceEvenly()
    {
        // 2^20 evenly spaced points over 3 nodes: one standard error is 0.09 % of a share; 1 % is 11 of them.
        const int Bits = 20;
        var map = PartitionResolver.Create(ThreeNodes);
        var counts = new int[3];
        foreach (var hash in MapGen.Points(Bits))
        {
            counts[map.GetPrimary(hash)]++;
        }

        Assert.True(map.EqualWeights);
        Assert.All(counts, c => Assert.InRange(c, (1 << Bits) / 3.0 * 0.99, (1 << Bits) / 3.0 * 1.01));
        Assert.All(Enumerable.Range(0, 3), i => Assert.Equal(1.0 / 3, map.GetShare(i), 12));
    }

    [Fact]
    public void Weights_AreHonouredWithinOnePercent()
    {
        // Weights 1..10: the lightest node's share (1/55) has a standard error of 0.36 % over 2^22 points.
        const int Bits = 22;
        var nodes = Enumerable.Range(1, 10).Select(i => new PartitionNode($"node-{i:D2}", i)).ToArray();
        var map = PartitionResolver.Create(nodes);
        var counts = new long[10];
        for (var i = 0L; i < 1L << Bits; i++)
        {
            counts[map.GetPrimary(PartitionMapDiff.SamplePoint(i, Bits))]++;
        }

        Assert.False(map.EqualWeights);
        for (var i = 0; i < 10; i++)
        {
            var expected = map.Nodes[i].Weight / 55.0;
            Assert.InRange((double)counts[i] / (1L << Bits) / expected, 0.985, 1.015);
        }
    }

    [Fact]
    public void FailedNodesSessions_SpreadEvenlyOverTheOthers()
    {
        // The second node of the lists of each node's sessions: every other node gets about 1/(N-1) of them.
        const int Bits = 18;
        var nodes = MapGen.Nodes(10, 42);
        var map = PartitionResolver.Create(nodes);
        var received = new int[10, 10];
        var owned = new int[10];
        var list = new int[2];
        foreach (var hash in MapGen.Points(Bits))
        {
            map.GetPreferenceList(hash, list);
            received[list[0], list[1]]++;
            owned[list[0]]++;
        }

        for (var failed = 0; failed < 10; failed++)
        {
            for (var receiver = 0; receiver < 10; receiver++)
            {
                if (receiver != failed)
                {
                    Assert.InRange(received[failed, receiver] / (owned[failed] / 9.0), 0.8, 1.2);
                }
            }
        }
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
        foreach (var hash in MapGen.Points())
        {
            var list = MapGen.List(map, hash);
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

    [Theory]
    [InlineData(12)]
    [InlineData(300)]
    public void ResolveHealthy_PastTheFirstPicks_WalksTheWholeList(int size)
    {
        var nodes = MapGen.Nodes(size, 3);
        var map = MapGen.Build(nodes);
        foreach (var id in MapGen.SessionIds(50, 4))
        {
            var full = new int[size];
            map.GetPreferenceList(id, full);

            // Everything but the last node of the list is down: the answer is that last node.
            var down = full[..^1].Select(i => map.Nodes[i].Id).ToHashSet();
            var healthy = new int[size];
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
    public void Diff_OfARemoval_MatchesTheRemovedNodesShareWithinSamplingError()
    {
        var nodes = MapGen.Nodes(10, 8);
        var map = MapGen.Build(nodes);
        var diff = PartitionMapDiff.Compare(map, MapGen.Build(nodes.Skip(1)));
        Assert.Equal(1L << PartitionMapDiff.DefaultSampleBits, diff.SampleCount);
        Assert.All(diff.Moves, m => Assert.Equal(nodes[0].Id, m.From));
        Assert.InRange(diff.MovedFraction, 0.1 - 0.003, 0.1 + 0.003);
        Assert.Equal(9, diff.Moves.Count);
    }

    [Theory]
    [InlineData(7)]
    [InlineData(31)]
    public void Diff_WithAnUnsupportedSampleSize_IsRefused(int sampleBits)
        => Assert.Throws<ArgumentOutOfRangeException>(() => PartitionMapDiff.Compare(MapGen.Build(ThreeNodes), MapGen.Build(ThreeNodes), sampleBits));

    [Fact]
    public void SamplePoints_AreTheMidpointsOfEqualIntervals()
    {
        Assert.Equal(1UL << 63, PartitionMapDiff.SamplePoint(0, 0));
        Assert.Equal(0x2000_0000_0000_0000UL, PartitionMapDiff.SamplePoint(0, 2));
        Assert.Equal(0xE000_0000_0000_0000UL, PartitionMapDiff.SamplePoint(3, 2));
    }

    private static class Golden
    {
        public const ulong Fold = 3813410252570899886;

        public const ulong WeightedFold = 13575079113689013184;

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
            "engine-3,engine-1,engine-2",
            "engine-1,engine-2,engine-3",
            "engine-1,engine-2,engine-3",
            "engine-2,engine-3,engine-1",
            "engine-1,engine-3,engine-2",
            "engine-2,engine-3,engine-1",
        ];

        public static readonly string[] WeightedLists =
        [
            "engine-3,engine-1,engine-2,drained",
            "engine-1,engine-2,engine-3,drained",
            "engine-2,engine-1,engine-3,drained",
            "engine-2,engine-3,engine-1,drained",
            "engine-1,engine-2,engine-3,drained",
            "engine-2,engine-1,engine-3,drained",
        ];
    }
}
