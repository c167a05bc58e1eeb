using System.IO.Hashing;
using System.Runtime.InteropServices;
using SessionRouter.Core.Partitioning;

namespace SessionRouter.Gateway.Tests.Infrastructure;

/// <summary>Plain rendezvous hashing, only until Core's resolver is available to these tests.</summary>
internal sealed class InterimResolver : IPartitionResolver
{
    private readonly PartitionNode[] _nodes;

    public InterimResolver(IEnumerable<PartitionNode> nodes)
    {
        _nodes = nodes.OrderBy(n => n.Id, StringComparer.Ordinal).ToArray();
    }

    public IReadOnlyList<PartitionNode> Nodes => _nodes;

    public int GetPreferenceList(ReadOnlySpan<char> sessionId, Span<int> destination)
    {
        var scores = new (ulong Score, int Index)[_nodes.Length];
        for (var i = 0; i < _nodes.Length; i++)
        {
            var hash = new XxHash64(17);
            hash.Append(MemoryMarshal.AsBytes(_nodes[i].Id.AsSpan()));
            hash.Append(MemoryMarshal.AsBytes(sessionId));
            scores[i] = (hash.GetCurrentHashAsUInt64(), i);
        }

        Array.Sort(scores, (a, b) => b.Score.CompareTo(a.Score));
        var count = Math.Min(destination.Length, _nodes.Length);
        for (var i = 0; i < count; i++)
        {
            destination[i] = scores[i].Index;
        }

        return count;
    }
}
