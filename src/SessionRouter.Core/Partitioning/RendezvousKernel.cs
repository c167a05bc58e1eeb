using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace SessionRouter.Core.Partitioning;

/// <summary>Which instruction width computes the keys. Every path gives the same bits.</summary>
internal enum RendezvousPath
{
    /// <summary>One node at a time (<see cref="RendezvousKeys"/>).</summary>
    Scalar,

    /// <summary>2 nodes at a time.</summary>
    Vector128,

    /// <summary>4 nodes at a time.</summary>
    Vector256,

    /// <summary>8 nodes at a time (AVX-512: native 64-bit lane multiply).</summary>
    Vector512,
}

/// <summary>
/// The nodes of one rank tier (weighted nodes, or zero-weight fallback nodes) as parallel arrays, grouped
/// by weight class (nodes of equal weight), canonical order within a class. Class c holds positions
/// <c>ClassStarts[c]</c> to <c>ClassStarts[c + 1]</c>; equal weights are one class.
/// </summary>
internal sealed class RendezvousTier
{
    public RendezvousTier(ulong[] seeds, ulong[] tags, int[] classStarts, double[] classInverseWeights)
    {
        Seeds = seeds;
        Tags = tags;
        ClassStarts = classStarts;
        ClassInverseWeights = classInverseWeights;
    }

    public ulong[] Seeds { get; }

    public ulong[] Tags { get; }

    public int[] ClassStarts { get; }

    public double[] ClassInverseWeights { get; }

    public int Count => Seeds.Length;

    public int ClassCount => ClassInverseWeights.Length;

    public ReadOnlySpan<ulong> ClassSeeds(int weightClass) => Seeds.AsSpan(ClassStarts[weightClass], ClassStarts[weightClass + 1] - ClassStarts[weightClass]);

    public ReadOnlySpan<ulong> ClassTags(int weightClass) => Tags.AsSpan(ClassStarts[weightClass], ClassStarts[weightClass + 1] - ClassStarts[weightClass]);
}

/// <summary>
/// Computes <see cref="RendezvousKeys.IntegerKey"/> for a run of nodes, vectorised. The loops run over
/// whole vectors and finish with one vector that overlaps the previous one (a maximum and a store are both
/// idempotent), so there is no scalar tail; a run shorter than a vector takes the next narrower path.
/// Integer arithmetic only, so every path gives the same bits.
/// </summary>
internal static class RendezvousKernel
{
    /// <summary>The widest path this CPU accelerates.</summary>
    public static RendezvousPath Best { get; } =
        Vector512.IsHardwareAccelerated ? RendezvousPath.Vector512
        : Vector256.IsHardwareAccelerated ? RendezvousPath.Vector256
        : Vector128.IsHardwareAccelerated ? RendezvousPath.Vector128
        : RendezvousPath.Scalar;

    /// <summary>The largest key of the nodes for one session: the best node's key (its tag names it); 0 when there are none.</summary>
    public static ulong Max(RendezvousPath path, ReadOnlySpan<ulong> seeds, ReadOnlySpan<ulong> tags, ulong keyHash)
    {
        var count = seeds.Length;
        if (tags.Length != count)
        {
            throw new ArgumentException("Seeds and tags differ in length.", nameof(tags));
        }

        if (path == RendezvousPath.Vector512 && count >= Vector512<ulong>.Count)
        {
            return Max512(seeds, tags, keyHash);
        }

        if (path >= RendezvousPath.Vector256 && count >= Vector256<ulong>.Count)
        {
            return Max256(seeds, tags, keyHash);
        }

        if (path >= RendezvousPath.Vector128 && count >= Vector128<ulong>.Count)
        {
            return Max128(seeds, tags, keyHash);
        }

        var best = 0UL;
        for (var i = 0; i < count; i++)
        {
            best = Math.Max(best, RendezvousKeys.IntegerKey(keyHash, seeds[i], tags[i]));
        }

        return best;
    }

    /// <summary>Writes the key of every node into <paramref name="keys"/> (same positions).</summary>
    public static void Compute(RendezvousPath path, ReadOnlySpan<ulong> seeds, ReadOnlySpan<ulong> tags, ulong keyHash, Span<ulong> keys)
    {
        var count = seeds.Length;
        if (tags.Length != count || keys.Length < count)
        {
            throw new ArgumentException("Seeds, tags and keys differ in length.", nameof(keys));
        }

        if (path == RendezvousPath.Vector512 && count >= Vector512<ulong>.Count)
        {
            Compute512(seeds, tags, keyHash, keys);
        }
        else if (path >= RendezvousPath.Vector256 && count >= Vector256<ulong>.Count)
        {
            Compute256(seeds, tags, keyHash, keys);
        }
        else if (path >= RendezvousPath.Vector128 && count >= Vector128<ulong>.Count)
        {
            Compute128(seeds, tags, keyHash, keys);
        }
        else
        {
            for (var i = 0; i < count; i++)
            {
                keys[i] = RendezvousKeys.IntegerKey(keyHash, seeds[i], tags[i]);
            }
        }
    }

    /// <summary>
    /// Writes the <see cref="TopCount"/> largest keys of the nodes, largest first (0 where there are fewer
    /// nodes), in one pass: each lane keeps its own four largest keys, and the lanes are merged at the end.
    /// Maps of 4-7 nodes take the 4-lane vector where the path has one, fewer nodes are ranked one by one
    /// (the result is the same either way). Returns false when <paramref name="path"/>
    /// has no vector for this many nodes (the caller ranks a computed key array instead).
    /// </summary>
    public static bool TryTop(RendezvousPath path, ReadOnlySpan<ulong> seeds, ReadOnlySpan<ulong> tags, ulong keyHash, Span<ulong> top)
    {
        if (tags.Length != seeds.Length || top.Length != TopCount)
        {
            throw new ArgumentException("Seeds and tags differ in length, or the top buffer is not TopCount long.", nameof(top));
        }

        // Each lane keeps its sorted four largest; halves of the vector are then merged lane-wise with the
        // same network down to two lanes, whose eight candidates hold the global top four.
        Vector128<ulong> first, second, third, fourth;
        if (path == RendezvousPath.Vector512 && seeds.Length >= Vector512<ulong>.Count)
        {
            var (a, b, c, d) = Top512(seeds, tags, keyHash);
            var (e, f, g, h) = Fold(a, b, c, d);
            (first, second, third, fourth) = Fold(e, f, g, h);
        }
        else if (path >= RendezvousPath.Vector256 && seeds.Length >= Vector256<ulong>.Count)
        {
            var (e, f, g, h) = Top256(seeds, tags, keyHash);
            (first, second, third, fourth) = Fold(e, f, g, h);
        }
        else if (seeds.Length < Vector512<ulong>.Count)
        {
            // A handful of nodes: insert their keys one by one.
            top.Clear();
            for (var i = 0; i < seeds.Length; i++)
            {
                InsertScalar(RendezvousKeys.IntegerKey(keyHash, seeds[i], tags[i]), top);
            }

            return true;
        }
        else
        {
            return false;
        }

        Span<ulong> lanes = stackalloc ulong[TopCount * Vector128<ulong>.Count];
        first.CopyTo(lanes);
        second.CopyTo(lanes[2..]);
        third.CopyTo(lanes[4..]);
        fourth.CopyTo(lanes[6..]);
        top.Clear();
        foreach (var candidate in lanes)
        {
            InsertScalar(candidate, top);
        }

        return true;
    }

    /// <summary>Inserts a key into a sorted (largest first) top list if it belongs there.</summary>
    private static void InsertScalar(ulong candidate, Span<ulong> top)
    {
        if (candidate <= top[^1])
        {
            return;
        }

        var position = top.Length - 1;
        while (position > 0 && top[position - 1] < candidate)
        {
            top[position] = top[position - 1];
            position--;
        }

        top[position] = candidate;
    }

    /// <summary>How many keys <see cref="TryTop"/> returns.</summary>
    public const int TopCount = 4;

    /// <summary>The largest value of <paramref name="keys"/> (0 when it is empty).</summary>
    public static ulong Max(RendezvousPath path, ReadOnlySpan<ulong> keys)
    {
        var count = keys.Length;
        ref var start = ref MemoryMarshal.GetReference(keys);
        if (path == RendezvousPath.Vector512 && count >= Vector512<ulong>.Count)
        {
            var last = (nuint)(count - Vector512<ulong>.Count);
            var max = Vector512.LoadUnsafe(ref start, last);
            for (nuint i = 0; i < last; i += (nuint)Vector512<ulong>.Count)
            {
                max = Vector512.Max(max, Vector512.LoadUnsafe(ref start, i));
            }

            return Max(max.GetLower(), max.GetUpper());
        }

        if (path >= RendezvousPath.Vector256 && count >= Vector256<ulong>.Count)
        {
            var last = (nuint)(count - Vector256<ulong>.Count);
            var max = Vector256.LoadUnsafe(ref start, last);
            for (nuint i = 0; i < last; i += (nuint)Vector256<ulong>.Count)
            {
                max = Vector256.Max(max, Vector256.LoadUnsafe(ref start, i));
            }

            return Max(max);
        }

        var best = 0UL;
        foreach (var key in keys)
        {
            best = Math.Max(best, key);
        }

        return best;
    }

    private static ulong Max(Vector256<ulong> value) => Max(value.GetLower(), value.GetUpper());

    private static ulong Max(Vector256<ulong> a, Vector256<ulong> b) => Max(Vector256.Max(a, b));

    private static ulong Max(Vector128<ulong> value) => Math.Max(value.GetElement(0), value.GetElement(1));

    private static ulong Max(Vector128<ulong> a, Vector128<ulong> b) => Max(Vector128.Max(a, b));

    // ---- 8 lanes ----------------------------------------------------------------------------------------

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<ulong> Keys(Vector512<ulong> hash, ref ulong seeds, ref ulong tags, nuint offset)
    {
        var value = hash ^ Vector512.LoadUnsafe(ref seeds, offset);
        value = (value ^ Vector512.ShiftRightLogical(value, 30)) * Vector512.Create(RendezvousKeys.MixMultiplier1);
        value = (value ^ Vector512.ShiftRightLogical(value, 27)) * Vector512.Create(RendezvousKeys.MixMultiplier2);
        value ^= Vector512.ShiftRightLogical(value, 31);
        return (value & Vector512.Create(RendezvousKeys.ScoreMask)) | Vector512.LoadUnsafe(ref tags, offset);
    }

    private static ulong Max512(ReadOnlySpan<ulong> seedSpan, ReadOnlySpan<ulong> tagSpan, ulong keyHash)
    {
        ref var seeds = ref MemoryMarshal.GetReference(seedSpan);
        ref var tags = ref MemoryMarshal.GetReference(tagSpan);
        var hash = Vector512.Create(keyHash);
        var last = (nuint)(seedSpan.Length - Vector512<ulong>.Count);
        var max = Keys(hash, ref seeds, ref tags, last);
        for (nuint i = 0; i < last; i += (nuint)Vector512<ulong>.Count)
        {
            max = Vector512.Max(max, Keys(hash, ref seeds, ref tags, i));
        }

        return Max(max.GetLower(), max.GetUpper());
    }

    private static void Compute512(ReadOnlySpan<ulong> seedSpan, ReadOnlySpan<ulong> tagSpan, ulong keyHash, Span<ulong> keys)
    {
        ref var seeds = ref MemoryMarshal.GetReference(seedSpan);
        ref var tags = ref MemoryMarshal.GetReference(tagSpan);
        ref var output = ref MemoryMarshal.GetReference(keys);
        var hash = Vector512.Create(keyHash);
        var last = (nuint)(seedSpan.Length - Vector512<ulong>.Count);
        Keys(hash, ref seeds, ref tags, last).StoreUnsafe(ref output, last);
        for (nuint i = 0; i < last; i += (nuint)Vector512<ulong>.Count)
        {
            Keys(hash, ref seeds, ref tags, i).StoreUnsafe(ref output, i);
        }
    }

    // ---- 4 lanes ----------------------------------------------------------------------------------------

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<ulong> Keys(Vector256<ulong> hash, ref ulong seeds, ref ulong tags, nuint offset)
    {
        var value = hash ^ Vector256.LoadUnsafe(ref seeds, offset);
        value = (value ^ Vector256.ShiftRightLogical(value, 30)) * Vector256.Create(RendezvousKeys.MixMultiplier1);
        value = (value ^ Vector256.ShiftRightLogical(value, 27)) * Vector256.Create(RendezvousKeys.MixMultiplier2);
        value ^= Vector256.ShiftRightLogical(value, 31);
        return (value & Vector256.Create(RendezvousKeys.ScoreMask)) | Vector256.LoadUnsafe(ref tags, offset);
    }

    private static ulong Max256(ReadOnlySpan<ulong> seedSpan, ReadOnlySpan<ulong> tagSpan, ulong keyHash)
    {
        ref var seeds = ref MemoryMarshal.GetReference(seedSpan);
        ref var tags = ref MemoryMarshal.GetReference(tagSpan);
        var hash = Vector256.Create(keyHash);
        var last = (nuint)(seedSpan.Length - Vector256<ulong>.Count);
        var max = Keys(hash, ref seeds, ref tags, last);
        for (nuint i = 0; i < last; i += (nuint)Vector256<ulong>.Count)
        {
            max = Vector256.Max(max, Keys(hash, ref seeds, ref tags, i));
        }

        return Max(max);
    }

    private static void Compute256(ReadOnlySpan<ulong> seedSpan, ReadOnlySpan<ulong> tagSpan, ulong keyHash, Span<ulong> keys)
    {
        ref var seeds = ref MemoryMarshal.GetReference(seedSpan);
        ref var tags = ref MemoryMarshal.GetReference(tagSpan);
        ref var output = ref MemoryMarshal.GetReference(keys);
        var hash = Vector256.Create(keyHash);
        var last = (nuint)(seedSpan.Length - Vector256<ulong>.Count);
        Keys(hash, ref seeds, ref tags, last).StoreUnsafe(ref output, last);
        for (nuint i = 0; i < last; i += (nuint)Vector256<ulong>.Count)
        {
            Keys(hash, ref seeds, ref tags, i).StoreUnsafe(ref output, i);
        }
    }

    // ---- 2 lanes ----------------------------------------------------------------------------------------

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<ulong> Keys(Vector128<ulong> hash, ref ulong seeds, ref ulong tags, nuint offset)
    {
        var value = hash ^ Vector128.LoadUnsafe(ref seeds, offset);
        value = (value ^ Vector128.ShiftRightLogical(value, 30)) * Vector128.Create(RendezvousKeys.MixMultiplier1);
        value = (value ^ Vector128.ShiftRightLogical(value, 27)) * Vector128.Create(RendezvousKeys.MixMultiplier2);
        value ^= Vector128.ShiftRightLogical(value, 31);
        return (value & Vector128.Create(RendezvousKeys.ScoreMask)) | Vector128.LoadUnsafe(ref tags, offset);
    }

    private static ulong Max128(ReadOnlySpan<ulong> seedSpan, ReadOnlySpan<ulong> tagSpan, ulong keyHash)
    {
        ref var seeds = ref MemoryMarshal.GetReference(seedSpan);
        ref var tags = ref MemoryMarshal.GetReference(tagSpan);
        var hash = Vector128.Create(keyHash);
        var last = (nuint)(seedSpan.Length - Vector128<ulong>.Count);
        var max = Keys(hash, ref seeds, ref tags, last);
        for (nuint i = 0; i < last; i += (nuint)Vector128<ulong>.Count)
        {
            max = Vector128.Max(max, Keys(hash, ref seeds, ref tags, i));
        }

        return Max(max);
    }

    private static void Compute128(ReadOnlySpan<ulong> seedSpan, ReadOnlySpan<ulong> tagSpan, ulong keyHash, Span<ulong> keys)
    {
        ref var seeds = ref MemoryMarshal.GetReference(seedSpan);
        ref var tags = ref MemoryMarshal.GetReference(tagSpan);
        ref var output = ref MemoryMarshal.GetReference(keys);
        var hash = Vector128.Create(keyHash);
        var last = (nuint)(seedSpan.Length - Vector128<ulong>.Count);
        Keys(hash, ref seeds, ref tags, last).StoreUnsafe(ref output, last);
        for (nuint i = 0; i < last; i += (nuint)Vector128<ulong>.Count)
        {
            Keys(hash, ref seeds, ref tags, i).StoreUnsafe(ref output, i);
        }
    }

    private static (Vector512<ulong> First, Vector512<ulong> Second, Vector512<ulong> Third, Vector512<ulong> Fourth) Top512(ReadOnlySpan<ulong> seedSpan, ReadOnlySpan<ulong> tagSpan, ulong keyHash)
    {
        ref var seeds = ref MemoryMarshal.GetReference(seedSpan);
        ref var tags = ref MemoryMarshal.GetReference(tagSpan);
        var hash = Vector512.Create(keyHash);
        var count = seedSpan.Length;
        var width = Vector512<ulong>.Count;
        var first = Vector512<ulong>.Zero;
        var second = Vector512<ulong>.Zero;
        var third = Vector512<ulong>.Zero;
        var fourth = Vector512<ulong>.Zero;
        var i = 0;
        for (; i + width <= count; i += width)
        {
            Insert(Keys(hash, ref seeds, ref tags, (nuint)i), ref first, ref second, ref third, ref fourth);
        }

        if (i < count)
        {
            // The last vector overlaps nodes already inserted: clear those lanes, a node must not count twice.
            var overlap = (ulong)(i + width - count);
            var fresh = Vector512.GreaterThanOrEqual(Vector512<ulong>.Indices, Vector512.Create(overlap));
            Insert(Keys(hash, ref seeds, ref tags, (nuint)(count - width)) & fresh, ref first, ref second, ref third, ref fourth);
        }

        return (first, second, third, fourth);
    }

    /// <summary>Inserts one key per lane into the lane's sorted four largest (a min/max network).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Insert(Vector512<ulong> key, ref Vector512<ulong> first, ref Vector512<ulong> second, ref Vector512<ulong> third, ref Vector512<ulong> fourth)
    {
        var carry = Vector512.Min(first, key);
        first = Vector512.Max(first, key);
        var carry2 = Vector512.Min(second, carry);
        second = Vector512.Max(second, carry);
        var carry3 = Vector512.Min(third, carry2);
        third = Vector512.Max(third, carry2);
        fourth = Vector512.Max(fourth, carry3);
    }

    private static (Vector256<ulong> First, Vector256<ulong> Second, Vector256<ulong> Third, Vector256<ulong> Fourth) Top256(ReadOnlySpan<ulong> seedSpan, ReadOnlySpan<ulong> tagSpan, ulong keyHash)
    {
        ref var seeds = ref MemoryMarshal.GetReference(seedSpan);
        ref var tags = ref MemoryMarshal.GetReference(tagSpan);
        var hash = Vector256.Create(keyHash);
        var count = seedSpan.Length;
        var width = Vector256<ulong>.Count;
        var first = Vector256<ulong>.Zero;
        var second = Vector256<ulong>.Zero;
        var third = Vector256<ulong>.Zero;
        var fourth = Vector256<ulong>.Zero;
        var i = 0;
        for (; i + width <= count; i += width)
        {
            Insert(Keys(hash, ref seeds, ref tags, (nuint)i), ref first, ref second, ref third, ref fourth);
        }

        if (i < count)
        {
            // The last vector overlaps nodes already inserted: clear those lanes, a node must not count twice.
            var overlap = (ulong)(i + width - count);
            var fresh = Vector256.GreaterThanOrEqual(Vector256<ulong>.Indices, Vector256.Create(overlap));
            Insert(Keys(hash, ref seeds, ref tags, (nuint)(count - width)) & fresh, ref first, ref second, ref third, ref fourth);
        }

        return (first, second, third, fourth);
    }

    /// <summary>Inserts one key per lane into the lane's sorted four largest (a min/max network).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Insert(Vector256<ulong> key, ref Vector256<ulong> first, ref Vector256<ulong> second, ref Vector256<ulong> third, ref Vector256<ulong> fourth)
    {
        var carry = Vector256.Min(first, key);
        first = Vector256.Max(first, key);
        var carry2 = Vector256.Min(second, carry);
        second = Vector256.Max(second, carry);
        var carry3 = Vector256.Min(third, carry2);
        third = Vector256.Max(third, carry2);
        fourth = Vector256.Max(fourth, carry3);
    }

    /// <summary>Merges the upper half's lanes into the lower half's: each lane keeps the four largest of both.</summary>
    private static (Vector256<ulong> First, Vector256<ulong> Second, Vector256<ulong> Third, Vector256<ulong> Fourth) Fold(
        Vector512<ulong> first, Vector512<ulong> second, Vector512<ulong> third, Vector512<ulong> fourth)
    {
        var (a, b, c, d) = (first.GetLower(), second.GetLower(), third.GetLower(), fourth.GetLower());
        Insert(first.GetUpper(), ref a, ref b, ref c, ref d);
        Insert(second.GetUpper(), ref a, ref b, ref c, ref d);
        Insert(third.GetUpper(), ref a, ref b, ref c, ref d);
        Insert(fourth.GetUpper(), ref a, ref b, ref c, ref d);
        return (a, b, c, d);
    }

    /// <summary>Merges the upper half's lanes into the lower half's: each lane keeps the four largest of both.</summary>
    private static (Vector128<ulong> First, Vector128<ulong> Second, Vector128<ulong> Third, Vector128<ulong> Fourth) Fold(
        Vector256<ulong> first, Vector256<ulong> second, Vector256<ulong> third, Vector256<ulong> fourth)
    {
        var (a, b, c, d) = (first.GetLower(), second.GetLower(), third.GetLower(), fourth.GetLower());
        Insert(first.GetUpper(), ref a, ref b, ref c, ref d);
        Insert(second.GetUpper(), ref a, ref b, ref c, ref d);
        Insert(third.GetUpper(), ref a, ref b, ref c, ref d);
        Insert(fourth.GetUpper(), ref a, ref b, ref c, ref d);
        return (a, b, c, d);
    }

    /// <summary>Inserts one key per lane into the lane's sorted four largest (a min/max network).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Insert(Vector128<ulong> key, ref Vector128<ulong> first, ref Vector128<ulong> second, ref Vector128<ulong> third, ref Vector128<ulong> fourth)
    {
        var carry = Vector128.Min(first, key);
        first = Vector128.Max(first, key);
        var carry2 = Vector128.Min(second, carry);
        second = Vector128.Max(second, carry);
        var carry3 = Vector128.Min(third, carry2);
        third = Vector128.Max(third, carry2);
        fourth = Vector128.Max(fourth, carry3);
    }
}
