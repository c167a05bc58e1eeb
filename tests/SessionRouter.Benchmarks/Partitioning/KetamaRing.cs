using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace SessionRouter.Benchmarks.Partitioning;

/// <summary>
/// A ketama-style ring for comparison (as libketama, HAProxy's and nginx's consistent hashing build it):
/// 160 points per node of weight 1, four 32-bit points from each MD5 of "id-i"; a key hashes with MD5
/// (first four bytes) and belongs to the first point clockwise.
/// MD5 is what the compared proxies use for placement, not for security.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA5351", Justification = "Reproduces ketama's placement hash; no security role.")]
internal sealed class KetamaRing
{
    private readonly uint[] _points;
    private readonly int[] _owners;

    public KetamaRing(IReadOnlyList<string> ids, int pointsPerNode = 160)
    {
        Ids = ids;
        var points = new List<(uint Point, int Owner)>(ids.Count * pointsPerNode);
        Span<byte> digest = stackalloc byte[16];
        for (var node = 0; node < ids.Count; node++)
        {
            for (var i = 0; i < pointsPerNode / 4; i++)
            {
                MD5.HashData(Encoding.UTF8.GetBytes($"{ids[node]}-{i}"), digest);
                for (var part = 0; part < 4; part++)
                {
                    points.Add((BinaryPrimitives.ReadUInt32LittleEndian(digest[(part * 4)..]), node));
                }
            }
        }

        points.Sort((a, b) => a.Point != b.Point ? a.Point.CompareTo(b.Point) : a.Owner.CompareTo(b.Owner));
        _points = points.Select(p => p.Point).ToArray();
        _owners = points.Select(p => p.Owner).ToArray();
    }

    public IReadOnlyList<string> Ids { get; }

    public static uint HashKey(ReadOnlySpan<char> key)
    {
        Span<byte> utf8 = stackalloc byte[64];
        var length = Encoding.UTF8.GetBytes(key, utf8);
        Span<byte> digest = stackalloc byte[16];
        MD5.HashData(utf8[..length], digest);
        return BinaryPrimitives.ReadUInt32LittleEndian(digest);
    }

    public int Lookup(uint hash)
    {
        var index = Array.BinarySearch(_points, hash);
        if (index < 0)
        {
            index = ~index;
        }

        return _owners[index == _points.Length ? 0 : index];
    }

    /// <summary>Exact share of the 32-bit ring per node.</summary>
    public double[] Shares()
    {
        var shares = new double[Ids.Count];
        for (var i = 0; i < _points.Length; i++)
        {
            shares[_owners[i]] += ArcLength(i) / 4294967296.0;
        }

        return shares;
    }

    /// <summary>Where the arcs of <paramref name="failed"/> go when it is skipped: share of its arcs per receiver.</summary>
    public double[] FailoverShares(int failed)
    {
        var received = new double[Ids.Count];
        var total = 0.0;
        for (var i = 0; i < _points.Length; i++)
        {
            if (_owners[i] != failed)
            {
                continue;
            }

            var next = i;
            do
            {
                next = (next + 1) % _points.Length;
            }
            while (_owners[next] == failed);
            received[_owners[next]] += ArcLength(i);
            total += ArcLength(i);
        }

        for (var i = 0; i < received.Length; i++)
        {
            received[i] /= total;
        }

        return received;
    }

    private double ArcLength(int i)
    {
        var previous = i == 0 ? _points[^1] : _points[i - 1];
        return unchecked(_points[i] - previous) == 0 && _points.Length == 1 ? 4294967296.0 : unchecked((uint)(_points[i] - previous));
    }
}
