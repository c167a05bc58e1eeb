using System.IO.Hashing;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace SessionRouter.Core.Partitioning;

/// <summary>
/// The hash functions of the partition map. Every seed is a fixed constant so every process, machine and
/// restart computes the same map; <see cref="string.GetHashCode()"/> is randomised per process and is never used.
/// Changing any constant here re-partitions every deployed map, so they are part of the on-disk contract.
/// </summary>
internal static class PartitionHashing
{
    /// <summary>Seed of the session id hash (XxHash3 over the id's UTF-16 code units).</summary>
    private const ulong KeySeed = 0x5E55_1011_2026_0001UL;

    /// <summary>Seed of the node id hash (XxHash3 over the id's UTF-8 bytes).</summary>
    private const ulong NodeSeed = 0x5E55_1011_2026_0002UL;

    /// <summary>Offset that decorrelates slot numbers before mixing.</summary>
    private const ulong SlotSeed = 0x5E55_1011_2026_0003UL;

    /// <summary>
    /// Hashes a session id. UTF-16 code units are hashed as they are (little-endian on every platform .NET
    /// runs on), which avoids transcoding on the per-request path.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong HashKey(ReadOnlySpan<char> sessionId)
        => XxHash3.HashToUInt64(MemoryMarshal.AsBytes(sessionId), unchecked((long)KeySeed));

    public static ulong HashNode(string nodeId)
        => XxHash3.HashToUInt64(Encoding.UTF8.GetBytes(nodeId), unchecked((long)NodeSeed));

    public static ulong SlotSalt(int slot) => Mix(unchecked(((ulong)slot * 0x9E37_79B9_7F4A_7C15UL) + SlotSeed));

    /// <summary>The rendezvous hash of one node for one slot.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Score(ulong slotSalt, ulong nodeHash) => Mix(slotSalt ^ nodeHash);

    /// <summary>
    /// Weighted rendezvous rank of a score: <c>-ln(u) / weight</c> with <c>u</c> uniform in (0, 1); the
    /// smallest rank wins, and a node wins a share of slots proportional to its weight. A larger score
    /// always gives a smaller rank, so equal weights can be compared on the raw score.
    /// </summary>
    public static double Rank(ulong score, double weight)
    {
        var unit = ((score >> 11) + 0.5) * (1.0 / (1UL << 53));
        return -Math.Log(unit) / weight;
    }

    /// <summary>SplitMix64's finaliser: a full-avalanche 64-bit mixer.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Mix(ulong value)
    {
        value = unchecked((value ^ (value >> 30)) * 0xBF58_476D_1CE4_E5B9UL);
        value = unchecked((value ^ (value >> 27)) * 0x94D0_49BB_1331_11EBUL);
        return value ^ (value >> 31);
    }
}
