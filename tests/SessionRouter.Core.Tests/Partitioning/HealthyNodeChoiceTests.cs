using SessionRouter.Core.Health;
using SessionRouter.Core.Partitioning;
using Xunit;

namespace SessionRouter.Core.Tests.Partitioning;

/// <summary>
/// The gateway's node choice: the first healthy node of a session's whole preference list that the request
/// has not already failed on, whatever the map's size and however many of its nodes are down.
/// </summary>
public sealed class HealthyNodeChoiceTests
{
    [Theory]
    [InlineData(1, 1.0)]
    [InlineData(3, 0.5)]
    [InlineData(10, 0.2)]
    [InlineData(100, 0.05)]
    [InlineData(100, 0.9)]
    public void FailoverWalksTheHealthyNodesOfTheWholeListInOrder(int nodeCount, double healthyFraction)
    {
        var random = new Random(nodeCount * 31 + (int)(healthyFraction * 100));
        var ids = Enumerable.Range(0, nodeCount).Select(i => $"node-{i:D3}").ToArray();
        var healthy = ids.Where(_ => random.NextDouble() < healthyFraction).ToHashSet(StringComparer.Ordinal);
        var map = PartitionResolver.Create(ids.Select(id => new PartitionNode(id)));
        var health = new Healthy(healthy);
        var whole = new int[nodeCount];

        for (var i = 0; i < 300; i++)
        {
            var sessionId = Convert.ToHexString(BitConverter.GetBytes(random.NextInt64()));
            map.GetPreferenceList(sessionId, whole);
            var expected = whole.Where(n => healthy.Contains(map.Nodes[n].Id)).ToArray();
            var tried = new List<int>();
            while (true)
            {
                var node = map.FirstHealthy(sessionId, health, tried.ToArray());
                if (node < 0)
                {
                    break;
                }

                tried.Add(node);
            }

            Assert.Equal(expected, tried);
        }
    }

    [Fact]
    public void ANodeTheRequestFailedOnIsSkippedWhileHealthStillCallsItHealthy()
    {
        var map = PartitionResolver.Create(new[] { "a", "b", "c" }.Select(id => new PartitionNode(id)));
        var all = new Healthy(new HashSet<string> { "a", "b", "c" });
        var list = new int[3];
        map.GetPreferenceList("session", list);

        Assert.Equal(list[0], map.FirstHealthy("session", all));
        Assert.Equal(list[1], map.FirstHealthy("session", all, [list[0]]));
        Assert.Equal(list[2], map.FirstHealthy("session", all, [list[1], list[0]]));
        Assert.Equal(-1, map.FirstHealthy("session", all, list));
    }

    [Fact]
    public void NoHealthyNodeAnswersNone()
    {
        var map = PartitionResolver.Create(Enumerable.Range(0, 70).Select(i => new PartitionNode($"node-{i}")));

        Assert.Equal(-1, map.FirstHealthy("any-session", new Healthy(new HashSet<string>())));
    }

    private sealed class Healthy(IReadOnlySet<string> healthy) : INodeHealthView
    {
        public bool IsHealthy(string nodeId) => healthy.Contains(nodeId);
    }
}
