using System.Buffers.Binary;
using System.Buffers.Text;
using System.Runtime.CompilerServices;
using SessionRouter.Core.Partitioning;
using SessionRouter.Gateway.Configuration;

namespace SessionRouter.Gateway.Admin;

/// <summary>
/// Each node's share of the key space (the fraction of session ids whose primary it is), once per
/// partition map, kept with the resolver. The rendezvous resolver gives each node its weight share by
/// design, so its shares are read from it; any other resolver is measured on a fixed sample of ids.
/// </summary>
internal sealed class KeySpaceShares
{
    private const int Samples = 65_536;
    private readonly ConditionalWeakTable<object, double[]> _byResolver = [];

    public double[] Get(GatewaySnapshot snapshot)
        => _byResolver.GetValue(snapshot.Resolver, _ => Measure(snapshot));

    private static double[] Measure(GatewaySnapshot snapshot)
    {
        if (snapshot.Resolver is PartitionResolver rendezvous)
        {
            var designShares = new double[snapshot.Nodes.Length];
            for (var i = 0; i < designShares.Length; i++)
            {
                designShares[i] = Math.Round(rendezvous.GetShare(i), 4);
            }

            return designShares;
        }

        var counts = new int[snapshot.Nodes.Length];
        Span<int> order = stackalloc int[1];
        Span<byte> raw = stackalloc byte[16];
        for (var i = 0; i < Samples; i++)
        {
            // Spread the sample over the whole id space: a multiplicative hash of the counter fills all 128 bits.
            BinaryPrimitives.WriteUInt64LittleEndian(raw, (ulong)i * 0x9E3779B97F4A7C15UL);
            BinaryPrimitives.WriteUInt64LittleEndian(raw[8..], ((ulong)i + 1) * 0xC2B2AE3D27D4EB4FUL);
            var id = Base64Url.EncodeToString(raw);
            if (snapshot.Resolver.GetPreferenceList(id, order) == 1)
            {
                counts[order[0]]++;
            }
        }

        var shares = new double[counts.Length];
        for (var i = 0; i < counts.Length; i++)
        {
            shares[i] = Math.Round((double)counts[i] / Samples, 4);
        }

        return shares;
    }
}
