using SessionRouter.Core.Partitioning;

namespace SessionRouter.Gateway.Nodes;

/// <summary>Builds the partition resolver of a map (Core's consistent-hash resolver).</summary>
internal static class PartitionResolverFactory
{
    public static Func<IEnumerable<PartitionNode>, IPartitionResolver> Default { get; } = static nodes => PartitionResolver.Create(nodes);
}
