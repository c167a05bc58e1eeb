using SessionRouter.Testing.Redis;
using Xunit;

namespace SessionRouter.Redis.Tests.Processes;

/// <summary>The shared process helpers really start, kill, restart and stop redis-server.</summary>
public sealed class RedisProcessTests
{
    [Fact]
    public async Task Server_AnswersPing_SurvivesKillAndRestart_AndIsGoneAfterDispose()
    {
        var server = await RedisServerProcess.StartAsync();
        var directory = server.Directory;
        Assert.True(await RespProbe.PingAsync(server.Port, TimeSpan.FromSeconds(2)));

        server.Kill();
        Assert.False(server.IsRunning);
        Assert.False(await RespProbe.PingAsync(server.Port, TimeSpan.FromSeconds(2)));

        await server.RestartAsync();
        Assert.True(await RespProbe.PingAsync(server.Port, TimeSpan.FromSeconds(2)));

        await server.DisposeAsync();
        Assert.False(await RespProbe.PingAsync(server.Port, TimeSpan.FromSeconds(2)));
        Assert.False(Directory.Exists(directory));
    }

    [Fact]
    public async Task Cluster_ServesEverySlot()
    {
        await using var cluster = await RedisClusterProcess.StartAsync();

        Assert.Equal(3, cluster.Nodes.Count);
        foreach (var node in cluster.Nodes)
        {
            var info = await RespProbe.SendAsync(node.Port, TimeSpan.FromSeconds(2), "CLUSTER", "INFO");
            Assert.Contains("cluster_slots_assigned:16384", info);
            Assert.Contains("cluster_known_nodes:3", info);
        }
    }
}
