using SessionRouter.Core.Health;

namespace SessionRouter.Core.Partitioning;

/// <summary>
/// The one health-aware node choice: the node a request of a session goes to, and where it fails over.
/// Built on <see cref="IPartitionResolver.ResolveHealthy"/>, so a session of a healthy primary costs one
/// primary lookup and a health read.
/// </summary>
public static class HealthyNodeChoice
{
    // Failover rarely passes more than a couple of nodes; beyond this the buffer comes from the heap.
    private const int StackNodes = 16;

    /// <summary>
    /// Returns the index (into <see cref="IPartitionResolver.Nodes"/>) of the first node of the session's
    /// preference list that <paramref name="health"/> marks healthy and that is not in <paramref name="tried"/>,
    /// or -1 when there is none.
    /// </summary>
    /// <remarks>
    /// <paramref name="tried"/> holds the nodes a request already failed on. They are skipped even while
    /// health still calls them healthy (a node outside the probed set, or a report that has not landed yet),
    /// so failover always moves on and ends after at most every node of the map.
    /// </remarks>
    public static int FirstHealthy(this IPartitionResolver resolver, ReadOnlySpan<char> sessionId, INodeHealthView health, ReadOnlySpan<int> tried = default)
    {
        ArgumentNullException.ThrowIfNull(resolver);
        ArgumentNullException.ThrowIfNull(health);

        // The first tried.Length + 1 healthy nodes hold at least one that was not tried, when there is one.
        var wanted = Math.Min(tried.Length + 1, resolver.Nodes.Count);
        var healthy = wanted <= StackNodes ? stackalloc int[StackNodes] : new int[wanted];
        var written = resolver.ResolveHealthy(sessionId, health, healthy[..wanted]);
        for (var i = 0; i < written; i++)
        {
            if (!tried.Contains(healthy[i]))
            {
                return healthy[i];
            }
        }

        return -1;
    }
}
