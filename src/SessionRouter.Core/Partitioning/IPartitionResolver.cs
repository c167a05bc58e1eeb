using System.Buffers;
using SessionRouter.Core.Health;

namespace SessionRouter.Core.Partitioning;

/// <summary>
/// One member of a partition map: a state node's stable id and its relative weight.
/// Membership is what the configuration lists; health is tracked separately.
/// </summary>
public sealed record PartitionNode(string Id, double Weight = 1.0);

/// <summary>
/// Maps a session id to an ordered preference list of distinct state nodes. Immutable: an edited map
/// builds a new resolver. Deterministic across processes and independent of the order nodes are listed in.
/// </summary>
public interface IPartitionResolver
{
    /// <summary>The members of the map, in a canonical order; preference lists hold indices into it.</summary>
    IReadOnlyList<PartitionNode> Nodes { get; }

    /// <summary>
    /// Writes the indices (into <see cref="Nodes"/>) of the session's preference list, primary first,
    /// into <paramref name="destination"/> and returns how many were written:
    /// <c>min(destination.Length, Nodes.Count)</c>. A shorter destination receives the head of the same
    /// list (callers ask for a short prefix first and widen it only when they need more nodes).
    /// </summary>
    int GetPreferenceList(ReadOnlySpan<char> sessionId, Span<int> destination);

    /// <summary>
    /// Writes the healthy nodes of the session's preference list, in list order, and returns how many
    /// were written; 0 means no node of the list is healthy (answer "no healthy node", never pick one).
    /// Unhealthy nodes are skipped at lookup time, so no session of a healthy node moves.
    /// </summary>
    int ResolveHealthy(ReadOnlySpan<char> sessionId, INodeHealthView health, Span<int> destination)
    {
        ArgumentNullException.ThrowIfNull(health);
        var count = Nodes.Count;
        var list = ArrayPool<int>.Shared.Rent(count);
        try
        {
            var total = GetPreferenceList(sessionId, list.AsSpan(0, count));
            var written = 0;
            for (var i = 0; i < total && written < destination.Length; i++)
            {
                if (health.IsHealthy(Nodes[list[i]].Id))
                {
                    destination[written++] = list[i];
                }
            }

            return written;
        }
        finally
        {
            ArrayPool<int>.Shared.Return(list);
        }
    }
}
