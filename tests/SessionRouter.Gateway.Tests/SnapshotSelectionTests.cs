using SessionRouter.Core.Configuration;
using SessionRouter.Core.Health;
using SessionRouter.Core.Partitioning;
using SessionRouter.Gateway.Configuration;
using SessionRouter.Gateway.Nodes;
using Xunit;

namespace SessionRouter.Gateway.Tests;

/// <summary>
/// The snapshot asks the resolver for a short prefix of a session's preference list and widens it only
/// while every node in it is down; the answer must be the one the whole list gives.
/// </summary>
public sealed class SnapshotSelectionTests
{
    [Theory]
    [InlineData(3, 0.5)]
    [InlineData(10, 0.2)]
    [InlineData(100, 0.05)]
    [InlineData(100, 0.9)]
    public void SelectHealthyMatchesTheFirstHealthyNodeOfTheWholeList(int nodeCount, double healthyFraction)
    {
        var random = new Random(nodeCount * 31 + (int)(healthyFraction * 100));
        var ids = Enumerable.Range(0, nodeCount).Select(i => $"node-{i:D3}").ToArray();
        var healthy = ids.Where(_ => random.NextDouble() < healthyFraction).ToHashSet(StringComparer.Ordinal);
        var snapshot = BuildSnapshot(ids);
        var health = new FixedHealth(healthy);
        var whole = new int[nodeCount];

        for (var i = 0; i < 300; i++)
        {
            var sessionId = Convert.ToHexString(BitConverter.GetBytes(random.NextInt64()));
            snapshot.Resolver.GetPreferenceList(sessionId, whole);
            for (var from = 0; from <= nodeCount; from++)
            {
                var expected = Array.FindIndex(whole, from, p => healthy.Contains(ids[p]));
                var position = snapshot.SelectHealthy(sessionId, from, health, out var nodeIndex);
                Assert.Equal(expected, position);
                Assert.Equal(expected < 0 ? -1 : whole[expected], nodeIndex);
                if (expected < 0)
                {
                    break;
                }

                from = expected;
            }
        }
    }

    [Fact]
    public void SelectHealthyAnswersNoneWhenEveryNodeIsDown()
    {
        var ids = Enumerable.Range(0, 70).Select(i => $"node-{i}").ToArray();
        var snapshot = BuildSnapshot(ids);

        Assert.Equal(-1, snapshot.SelectHealthy("any-session", 0, new FixedHealth(new HashSet<string>()), out var nodeIndex));
        Assert.Equal(-1, nodeIndex);
    }

    private static GatewaySnapshot BuildSnapshot(string[] ids)
    {
        var options = new SessionRouterOptions { SignatureKey = Convert.ToBase64String(new byte[32]) };
        var resolver = PartitionResolver.Create(ids.Select(id => new PartitionNode(id)));
        var nodes = resolver.Nodes
            .Select(n => new StateNodeHandle(new StateNodeOptions { Id = n.Id }, new StateNodeConnection(null!, null!, null)))
            .ToArray();
        return new GatewaySnapshot(options, 1, "", resolver, nodes, DateTimeOffset.UnixEpoch);
    }

    private sealed class FixedHealth(IReadOnlySet<string> healthy) : INodeHealthView
    {
        public bool IsHealthy(string nodeId) => healthy.Contains(nodeId);
    }
}
