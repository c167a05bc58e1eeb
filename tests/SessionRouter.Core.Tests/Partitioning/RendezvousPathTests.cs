using SessionRouter.Core.Health;
using SessionRouter.Core.Partitioning;

namespace SessionRouter.Core.Tests.Partitioning;

/// <summary>
/// Gateways on different CPUs must compute the same lists: every instruction width (8, 4, 2 lanes) must
/// give the scalar definition's keys bit for bit, in the integer (equal weights) and the weighted mode.
/// </summary>
public sealed class RendezvousPathTests
{
    private static readonly RendezvousPath[] Paths = [RendezvousPath.Scalar, RendezvousPath.Vector128, RendezvousPath.Vector256, RendezvousPath.Vector512];

    /// <summary>Mixed values at the edges of the logarithm: x = mixed >> 12 at 0, 2^52 - 1 and around √2.</summary>
    private static readonly ulong[] EdgeMixes =
    [
        0, 0xFFF, 0x1000, ulong.MaxValue, ulong.MaxValue - 0x1000, 1UL << 63, (1UL << 63) - 1, 1UL << 12,
        RendezvousKeys.SqrtTwoMantissa << 12, (RendezvousKeys.SqrtTwoMantissa + 1) << 12, (RendezvousKeys.SqrtTwoMantissa - 1) << 12,
        (RendezvousKeys.SqrtTwoMantissa | (1UL << 51)) << 12, 0x5555_5555_5555_5555, 0xAAAA_AAAA_AAAA_AAAA,
    ];

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(9)]
    [InlineData(15)]
    [InlineData(17)]
    [InlineData(31)]
    [InlineData(100)]
    [InlineData(1000)]
    public void EveryPath_ComputesTheScalarKeys(int size)
    {
        var random = new Random(size);
        const ulong KeyHash = 0x0123_4567_89AB_CDEF;
        var seeds = Enumerable.Range(0, size).Select(_ => (ulong)random.NextInt64() ^ ((ulong)random.Next() << 40)).ToArray();

        // Some nodes' seeds are chosen so that, for KeyHash, their mixed value is an edge value.
        for (var i = 0; i < Math.Min(size, EdgeMixes.Length); i++)
        {
            seeds[(i * 7) % size] = KeyHash ^ Unmix(EdgeMixes[i]);
        }

        var tags = Enumerable.Range(0, size).Select(RendezvousKeys.Tag).ToArray();
        var hashes = new[] { KeyHash, 0UL, ulong.MaxValue }.Concat(Enumerable.Range(0, 300).Select(_ => (ulong)random.NextInt64() * 3)).ToArray();
        foreach (var hash in hashes)
        {
            var expected = Enumerable.Range(0, size).Select(i => RendezvousKeys.IntegerKey(hash, seeds[i], tags[i])).ToArray();
            foreach (var path in Paths)
            {
                var keys = new ulong[size];
                RendezvousKernel.Compute(path, seeds, tags, hash, keys);
                Assert.Equal(expected, keys);
                Assert.Equal(expected.Max(), RendezvousKernel.Max(path, seeds, tags, hash));
                Assert.Equal(expected.Max(), RendezvousKernel.Max(path, keys));
            }
        }
    }

    [Fact]
    public void Rank_IsStrictlyDecreasingInTheScore()
    {
        // Within one weight class the rank order must be the integer key order (docs/partitioning.md).
        var random = new Random(11);
        var scores = new ulong[] { 0, 1, (1UL << 48) - 2, 1UL << 47, (1UL << 47) - 1, RendezvousKeys.SqrtTwoMantissa >> 4, (RendezvousKeys.SqrtTwoMantissa >> 4) - 1 }
            .Concat(Enumerable.Range(0, 48).Select(bit => (1UL << bit) - 1).Where(s => s < (1UL << 48) - 1))
            .Concat(Enumerable.Range(0, 200_000).Select(_ => (ulong)random.NextInt64(0, (1L << 48) - 1)));
        double[] inverseWeights = [1, 0.5, 1.0 / 3, 1.0 / 7.25, 1e-6, 1e6];
        foreach (var score in scores)
        {
            foreach (var inverse in inverseWeights)
            {
                var lower = RendezvousKeys.Rank(score << 16, inverse);
                var higher = RendezvousKeys.Rank((score + 1) << 16, inverse);
                Assert.True(higher < lower, $"score {score}, 1/w {inverse}: {higher:R} !< {lower:R}");
            }
        }
    }

    [Theory]
    [InlineData(3, 3)]
    [InlineData(10, 4)]
    [InlineData(40, 40)]
    [InlineData(200, 5)]
    public void WeightedLists_AreTheNodesSortedByRank(int size, int distinctWeights)
    {
        // A brute-force oracle of the definition: every node's rank, sorted; zero-weight nodes after, by key.
        var random = new Random(size);
        var nodes = Enumerable.Range(0, size)
            .Select(i => new PartitionNode($"w-{i}-{random.Next(1000)}", i % 7 == 6 ? 0 : 0.5 + (random.Next(distinctWeights) * 0.75)))
            .ToArray();
        var map = PartitionResolver.Create(nodes);
        var seeds = map.Nodes.Select(n => PartitionHashing.HashNode(n.Id)).ToArray();
        foreach (var id in MapGen.SessionIds(300, size))
        {
            var hash = PartitionResolver.HashSessionId(id);
            var expected = Enumerable.Range(0, size)
                .Select(i => (Index: i, Key: RendezvousKeys.IntegerKey(hash, seeds[i], RendezvousKeys.Tag(i)), Weight: map.Nodes[i].Weight))
                .OrderBy(x => x.Weight == 0)
                .ThenBy(x => x.Weight == 0 ? 0 : RendezvousKeys.Rank(x.Key, 1.0 / x.Weight))
                .ThenByDescending(x => x.Weight == 0 ? x.Key : 0)
                .ThenBy(x => x.Index)
                .Select(x => x.Index)
                .ToArray();
            Assert.Equal(expected, MapGen.List(map, hash));
            Assert.Equal(expected[0], map.GetPrimary(hash));
            var three = new int[3];
            map.GetPreferenceList(hash, three);
            Assert.Equal(expected.Take(3), three);
        }
    }

    [Fact]
    public void RankBounds_ContainTheRank()
    {
        // The primary of a weighted map is decided by these bounds whenever they do not overlap.
        var random = new Random(13);
        var scores = new ulong[] { 0, 1, (1UL << 48) - 1, (1UL << 48) - 2, 1UL << 47, (1UL << 47) - 1, (1UL << 47) + 1 }
            .Concat(Enumerable.Range(0, 100_000).Select(_ => (ulong)random.NextInt64(0, 1L << 48)))
            .Concat(Enumerable.Range(0, 100_000).Select(_ => (1UL << 48) - 1 - (ulong)random.NextInt64(0, 1L << 30)));
        double[] inverseWeights = [1, 0.5, 1.0 / 3, 1.0 / 7.25, 1e-6, 1e6, 1e-250, 1e250];
        foreach (var score in scores)
        {
            foreach (var inverse in inverseWeights)
            {
                var key = (score << 16) | 1;
                var rank = RendezvousKeys.Rank(key, inverse);
                var (low, high) = RendezvousKeys.RankBounds(key, inverse);
                Assert.True(low <= rank && rank <= high, $"score {score}, 1/w {inverse}: {rank:R} not in [{low:R}, {high:R}]");
            }
        }
    }

    [Theory]
    [InlineData(1, false)]
    [InlineData(2, true)]
    [InlineData(3, false)]
    [InlineData(3, true)]
    [InlineData(9, false)]
    [InlineData(10, true)]
    [InlineData(17, true)]
    [InlineData(100, false)]
    [InlineData(100, true)]
    [InlineData(1000, false)]
    [InlineData(1000, true)]
    public void EveryPath_GivesTheSameListsAndHealthyNodes(int size, bool weighted)
    {
        var random = new Random(size);
        var nodes = MapGen.Nodes(size, size, weighted)
            .Select((n, i) => size > 2 && i % 5 == 4 ? n with { Weight = 0 } : n)
            .ToArray();
        var maps = Paths.Select(path => PartitionResolver.Create(nodes, path)).ToArray();
        Assert.Equal(Paths, maps.Select(m => m.Path));

        var down = new HashSet<string>(nodes.Where(_ => random.Next(3) == 0).Select(n => n.Id), StringComparer.Ordinal);
        var health = new PartitionResolverPropertyTests.FixedHealth(down);
        foreach (var id in MapGen.SessionIds(size >= 1000 ? 100 : 300, size))
        {
            var reference = Describe(maps[0], id, health);
            foreach (var map in maps.Skip(1))
            {
                Assert.Equal(reference, Describe(map, id, health));
            }
        }
    }

    [Fact]
    public void NegativeLogOfUnit_MatchesTheLibraryLogarithm()
    {
        var random = new Random(3);
        var xs = new ulong[] { 0, 1, 2, (1UL << 52) - 1, 1UL << 51, RendezvousKeys.SqrtTwoMantissa, RendezvousKeys.SqrtTwoMantissa + 1 }
            .Concat(Enumerable.Range(0, 100_000).Select(_ => (ulong)random.NextInt64() >> 12))
            .Concat(Enumerable.Range(0, 52).Select(bit => 1UL << bit));
        foreach (var x in xs)
        {
            var u = (x + 0.5) / 4503599627370496.0;
            var expected = -Math.Log(u);
            var actual = RendezvousKeys.NegativeLogOfUnit(x);
            Assert.True(actual > 0, $"x = {x}");
            Assert.True(Math.Abs(actual - expected) <= 1e-15 * Math.Max(expected, 1e-3), $"x = {x}: {actual:R} vs {expected:R}");
        }
    }

    [Fact]
    public void Unmix_InvertsTheMixer()
    {
        var random = new Random(5);
        foreach (var value in EdgeMixes.Concat(Enumerable.Range(0, 1000).Select(_ => (ulong)random.NextInt64())))
        {
            Assert.Equal(value, RendezvousKeys.Mix(Unmix(value)));
        }
    }

    private static string Describe(PartitionResolver map, string id, INodeHealthView health)
    {
        var full = new int[map.Nodes.Count];
        var two = new int[2];
        var healthy = new int[3];
        var healthyOne = new int[1];
        var count = map.ResolveHealthy(id, health, healthy);
        var countOne = map.ResolveHealthy(id, health, healthyOne);
        map.GetPreferenceList(id, full);
        map.GetPreferenceList(id, two);
        return $"{string.Join(',', full)}|{string.Join(',', two)}|{map.GetPrimary(id)}|{string.Join(',', healthy.Take(count))}|{string.Join(',', healthyOne.Take(countOne))}";
    }

    /// <summary>The inverse of <see cref="RendezvousKeys.Mix"/>: xorshifts undone, multipliers inverted mod 2^64.</summary>
    private static ulong Unmix(ulong value)
    {
        value ^= (value >> 31) ^ (value >> 62);
        value *= Inverse(RendezvousKeys.MixMultiplier2);
        value ^= (value >> 27) ^ (value >> 54);
        value *= Inverse(RendezvousKeys.MixMultiplier1);
        return value ^ (value >> 30) ^ (value >> 60);
    }

    private static ulong Inverse(ulong odd)
    {
        // Newton's iteration doubles the correct low bits each step: 3 → 6 → … → 96 ≥ 64.
        var inverse = odd;
        for (var i = 0; i < 5; i++)
        {
            inverse *= 2 - (odd * inverse);
        }

        return inverse;
    }
}
