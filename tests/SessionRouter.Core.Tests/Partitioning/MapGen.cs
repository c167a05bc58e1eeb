using SessionRouter.Core.Partitioning;

namespace SessionRouter.Core.Tests.Partitioning;

/// <summary>Builds maps and session ids from the small integers FsCheck generates.</summary>
internal static class MapGen
{
    /// <summary>log2 of the hash-space points property tests evaluate (small keeps runs fast).</summary>
    public const int SampleBits = 12;

    public static PartitionNode[] Nodes(int count, int seed, bool weighted = false)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count)
            .Select(i => new PartitionNode($"node-{seed % 1000}-{i}-{random.Next(1000)}", weighted ? 1 + random.Next(5) : 1.0))
            .ToArray();
    }

    public static string[] SessionIds(int count, int seed)
    {
        var random = new Random(seed);
        var bytes = new byte[16];
        return Enumerable.Range(0, count).Select(_ =>
        {
            random.NextBytes(bytes);
            return Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        }).ToArray();
    }

    public static T[] Shuffle<T>(T[] items, int seed)
    {
        var copy = (T[])items.Clone();
        new Random(seed).Shuffle(copy);
        return copy;
    }

    public static PartitionResolver Build(IEnumerable<PartitionNode> nodes) => PartitionResolver.Create(nodes);

    /// <summary>Evenly spaced points of the session hash space.</summary>
    public static IEnumerable<ulong> Points(int sampleBits = SampleBits)
        => Enumerable.Range(0, 1 << sampleBits).Select(i => PartitionMapDiff.SamplePoint(i, sampleBits));

    public static int[] List(PartitionResolver map, ulong hash)
    {
        var list = new int[map.Nodes.Count];
        map.GetPreferenceList(hash, list);
        return list;
    }

    public static string[] ListIds(PartitionResolver map, ulong hash) => List(map, hash).Select(i => map.Nodes[i].Id).ToArray();

    public static string[] ListIds(PartitionResolver map, string id)
    {
        var list = new int[map.Nodes.Count];
        map.GetPreferenceList(id, list);
        return list.Select(i => map.Nodes[i].Id).ToArray();
    }
}
