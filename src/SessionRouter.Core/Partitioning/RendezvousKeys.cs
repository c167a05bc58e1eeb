using System.Runtime.CompilerServices;

namespace SessionRouter.Core.Partitioning;

/// <summary>
/// The definition of the rendezvous order, one (session, node) pair at a time. <see cref="RendezvousKernel"/>
/// computes exactly these keys 2, 4 or 8 nodes at a time (integer arithmetic only); a test holds every path to these scalar
/// functions bit for bit, because gateways on different CPUs must agree on every list.
/// <para>
/// A pair's <b>key</b> is a 64-bit integer: the larger key ranks first. Its upper 48 bits come from the
/// pair's score, its lower 16 bits are the tag <c>0xFFFF - canonical index</c>. Truncating the score to
/// 48 bits and putting the tag below it makes every key of a session distinct, so the order is total:
/// by the 48-bit score, then (on equal scores, about N²·2⁻⁴⁹ of the sessions) by canonical index, lower
/// first. The winner's index is read back from the tag, so a vector loop needs only a running maximum.
/// </para>
/// <para>
/// With unequal weights, nodes are ordered by <see cref="Rank"/> (smallest first), equal ranks by
/// canonical index. Within one weight class that is exactly the key order, so equal weights are the
/// special case of one class and need no floating point at all.
/// </para>
/// </summary>
internal static class RendezvousKeys
{
    /// <summary>The upper 48 bits of a key hold the score; the lower 16 the tag.</summary>
    public const ulong ScoreMask = 0xFFFF_FFFF_FFFF_0000UL;

    /// <summary>The bits of a key that hold the tag.</summary>
    public const ulong TagMask = 0xFFFFUL;

    /// <summary>The bits of 2^52 as a double: OR-ing an integer below 2^52 into them gives 2^52 + that integer exactly.</summary>
    public const ulong TwoPow52Bits = 0x4330_0000_0000_0000UL;

    public const double TwoPow52 = 4503599627370496.0;

    public const ulong MantissaMask = 0x000F_FFFF_FFFF_FFFFUL;

    /// <summary>Exponent bits of 1.0 and of 0.5.</summary>
    public const ulong OneExponent = 0x3FF0_0000_0000_0000UL;

    public const ulong HalfExponent = 0x3FE0_0000_0000_0000UL;

    /// <summary>The mantissa bits of √2: mantissas above it are halved so that m stays in [√½, √2].</summary>
    public const ulong SqrtTwoMantissa = 0x0006_A09E_667F_3BCDUL;

    /// <summary>1075 = 1023 (exponent bias) + 52 (u = t · 2^-52).</summary>
    public const ulong ExponentOffset = 1075;

    public const double Ln2 = 0.6931471805599453;

    // ln(m) = 2·atanh(s) = 2s·(1 + z/3 + z²/5 + …), s = (m - 1)/(m + 1), z = s², |s| ≤ 0.1716: eleven terms
    // leave a truncation error below 1e-18.
    public const double C0 = 1.0;
    public const double C1 = 1.0 / 3;
    public const double C2 = 1.0 / 5;
    public const double C3 = 1.0 / 7;
    public const double C4 = 1.0 / 9;
    public const double C5 = 1.0 / 11;
    public const double C6 = 1.0 / 13;
    public const double C7 = 1.0 / 15;
    public const double C8 = 1.0 / 17;
    public const double C9 = 1.0 / 19;
    public const double C10 = 1.0 / 21;

    public const ulong MixMultiplier1 = 0xBF58_476D_1CE4_E5B9UL;
    public const ulong MixMultiplier2 = 0x94D0_49BB_1331_11EBUL;

    /// <summary>The tag of the node at a canonical index: larger for lower indices, never 0.</summary>
    public static ulong Tag(int canonicalIndex) => TagMask - (ulong)canonicalIndex;

    /// <summary>The canonical index a key's tag encodes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int IndexOf(ulong key) => (int)(TagMask - (key & TagMask));

    /// <summary>SplitMix64's finaliser: a full-avalanche bijection of 64-bit integers.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Mix(ulong value)
    {
        value = unchecked((value ^ (value >> 30)) * MixMultiplier1);
        value = unchecked((value ^ (value >> 27)) * MixMultiplier2);
        return value ^ (value >> 31);
    }

    /// <summary>Equal weights: the key is the mixed pair itself, integer arithmetic only.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong IntegerKey(ulong keyHash, ulong nodeSeed, ulong tag)
        => (Mix(keyHash ^ nodeSeed) & ScoreMask) | tag;

    /// <summary>
    /// The weighted rendezvous rank of a node's key: <c>-ln(u) / weight</c>, u uniform in (0, 1) from the
    /// key's 48-bit score; the smallest rank wins, so a node wins a share of sessions equal to its share of
    /// the total weight. The rank is strictly decreasing in the score: consecutive 48-bit scores give
    /// values of <c>-ln(u)</c> at least e·2^-48 apart relative to their size, about 45 times the error of
    /// <see cref="NegativeLogOfUnit"/> and of the product. So among nodes of one weight the rank order is the
    /// key order, which is what lets a lookup rank each weight class with integers and take a logarithm
    /// only for the head of each class.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double Rank(ulong key, double inverseWeight) => NegativeLogOfUnit((key >> 16) << 4) * inverseWeight;

    /// <summary>
    /// Cheap bounds of <see cref="Rank"/> without a logarithm: with <c>v = 1 - u</c> (exact),
    /// <c>v ≤ -ln(1 - v) ≤ v + v²</c> for <c>v ≤ ½</c>, widened by 1e-12 relative for rounding. A class's best
    /// node has u close to 1, so the bounds are tight and usually decide the primary without
    /// <see cref="NegativeLogOfUnit"/>. Returns (0, ∞) where they do not apply (the caller then computes the rank).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (double Low, double High) RankBounds(ulong key, double inverseWeight)
    {
        var x = (key >> 16) << 4;
        var v = ((double)((1UL << 52) - x) - 0.5) * (1.0 / TwoPow52);
        if (v > 0.5 || inverseWeight < 1e-200 || inverseWeight > 1e200)
        {
            return (0, double.PositiveInfinity);
        }

        return (v * inverseWeight * (1 - 1e-12), (v + (v * v)) * inverseWeight * (1 + 1e-12));
    }

    /// <summary>
    /// <c>-ln(u)</c> for <c>u = (x + 0.5) · 2^-52</c>, <c>x &lt; 2^52</c>, from IEEE-754 +, −, ×, ÷ and bit
    /// operations only (no Math.Log, no fused multiply-add), so every CPU and every vector width computes the
    /// same bits. Relative error about 1e-16; the result is always &gt; 0.
    /// </summary>
    public static double NegativeLogOfUnit(ulong x)
    {
        // t = x + 0.5 exactly (x < 2^52), then t = m · 2^e with m in [√½, √2].
        var t = BitConverter.UInt64BitsToDouble(x | TwoPow52Bits) - TwoPow52 + 0.5;
        var bits = BitConverter.DoubleToUInt64Bits(t);
        var mantissa = bits & MantissaMask;
        var high = mantissa > SqrtTwoMantissa;
        var m = BitConverter.UInt64BitsToDouble(mantissa | (high ? HalfExponent : OneExponent));

        // -ln(u) = (52 - e)·ln 2 - ln(m); 52 - e = 1075 - biased exponent - (1 if m was halved), in [0, 53].
        var count = ExponentOffset - (bits >> 52) - (high ? 1UL : 0UL);
        var n = BitConverter.UInt64BitsToDouble(count | TwoPow52Bits) - TwoPow52;

        var s = (m - 1.0) / (m + 1.0);
        var z = s * s;
        var p = C10;
        p = (p * z) + C9;
        p = (p * z) + C8;
        p = (p * z) + C7;
        p = (p * z) + C6;
        p = (p * z) + C5;
        p = (p * z) + C4;
        p = (p * z) + C3;
        p = (p * z) + C2;
        p = (p * z) + C1;
        p = (p * z) + C0;
        var lnM = (s + s) * p;
        return (n * Ln2) - lnM;
    }
}
