using SessionRouter.Core.Partitioning;
using SessionRouter.Gateway.Nodes;

namespace SessionRouter.Gateway.Configuration;

/// <summary>
/// A partition map an edit replaced, kept until <see cref="Until"/> (the edit plus that map's idle timeout):
/// a session the edit moved may still live on its node in this map. The session's next request reads it from
/// there and copies it forward to its new node; past <see cref="Until"/> any session left there has expired.
/// </summary>
/// <param name="Revision">The configuration revision the map belonged to.</param>
/// <param name="Resolver">The replaced map.</param>
/// <param name="Nodes">Its node handles, index-aligned with <paramref name="Resolver"/>; a removed node stays connected while it is drained.</param>
/// <param name="Until">When the handover ends.</param>
internal sealed record MapHandover(long Revision, IPartitionResolver Resolver, StateNodeHandle[] Nodes, DateTimeOffset Until);
