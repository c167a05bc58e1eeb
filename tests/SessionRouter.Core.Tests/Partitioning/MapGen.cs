using SessionRouter.Core.Partitioning;

namespace SessionRouter.Core.Tests.Partitioning;

/// <summary>Builds maps and session ids from the small integers FsCheck generates.</summary>
internal static class MapGen
{
    /// <summary>Small tables keep property runs fast; the algorithm is the same at every size.</summary>
    public const int SlotBits = 12;

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

    public static PartitionResolver Build(IEnumerable<PartitionNode> nodes) => PartitionResolver.Create(nodes, SlotBits);

    public static int[] Slots(PartitionResolver map, int slot)
    {
        var list = new int[map.Nodes.Count];
        map.GetSlotPreferenceList(slot, list);
        return list;
    }

    public static string[] SlotIds(PartitionResolver map, int slot) => Slots(map, slot).Select(i => map.Nodes[i].Id).ToArray();
}
