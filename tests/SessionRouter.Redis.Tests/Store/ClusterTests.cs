using System.Text;
using SessionRouter.Core.Storage;
using SessionRouter.Redis.Tests.Fixtures;
using SessionRouter.Testing.Redis;
using Xunit;

namespace SessionRouter.Redis.Tests.Store;

/// <summary>Redis Cluster specifics on the shared 3-master cluster.</summary>
[Collection(RedisClusterCollection.Name)]
public sealed class ClusterTests(RedisClusterFixture fixture)
{
    private static readonly TimeSpan ItemTimeout = TimeSpan.FromMinutes(5);

    [Fact]
    public async Task SessionsSpreadOverEveryMaster_AndEachSessionKeySitsInItsHashTagsSlot()
    {
        var store = fixture.Store;
        var keys = Enumerable.Range(0, 60).Select(_ => new SessionKey("cluster", Guid.NewGuid().ToString("N"))).ToList();
        foreach (var key in keys)
        {
            Assert.Equal(StoreStatus.Ok, (await store.SetAsync(key, new SessionWrite(Encoding.UTF8.GetBytes(key.SessionId), ItemTimeout))).Status);
        }

        var perNode = new List<int>();
        foreach (var node in fixture.Cluster.Nodes)
        {
            perNode.Add(int.Parse(await RespProbe.SendAsync(node.Port, TimeSpan.FromSeconds(5), "DBSIZE") ?? "0", System.Globalization.CultureInfo.InvariantCulture));
        }

        Assert.All(perNode, count => Assert.True(count > 0));

        foreach (var key in keys.Take(5))
        {
            var redisKey = "sr:{cluster:" + key.SessionId + "}";
            var slotOfKey = await RespProbe.SendAsync(fixture.Cluster.Nodes[0].Port, TimeSpan.FromSeconds(5), "CLUSTER", "KEYSLOT", redisKey);
            var slotOfTag = await RespProbe.SendAsync(fixture.Cluster.Nodes[0].Port, TimeSpan.FromSeconds(5), "CLUSTER", "KEYSLOT", "cluster:" + key.SessionId);
            var slotOfCompanion = await RespProbe.SendAsync(fixture.Cluster.Nodes[0].Port, TimeSpan.FromSeconds(5), "CLUSTER", "KEYSLOT", redisKey + ":lock");
            Assert.Equal(slotOfTag, slotOfKey);
            Assert.Equal(slotOfTag, slotOfCompanion);
            Assert.Equal(key.SessionId, Encoding.UTF8.GetString((await store.GetAsync(key)).Item!.Data.Span));
        }
    }

    [Fact]
    public async Task Probe_PingsEveryMaster()
    {
        await fixture.Store.ProbeAsync(CancellationToken.None);
        Assert.Equal(3, fixture.Store.Connection.GetServers().Count(s => !s.IsReplica));
    }

    [Fact]
    public async Task Waiter_IsWokenAcrossTheCluster()
    {
        var store = fixture.Store;
        var key = new SessionKey("cluster", Guid.NewGuid().ToString("N"));
        await store.SetAsync(key, new SessionWrite(Encoding.UTF8.GetBytes("v1"), ItemTimeout));
        var held = await store.GetExclusiveAsync(key, LockRequest.NoWait);

        var waiting = store.GetExclusiveAsync(key, new LockRequest(TimeSpan.FromSeconds(20), TimeSpan.FromMinutes(5))).AsTask();
        for (var i = 0; i < 200 && store.WaitingCallers(key) == 0; i++)
        {
            await Task.Delay(10);
        }

        Assert.Equal(StoreStatus.Ok, (await store.ReleaseAsync(key, held.Lock.LockId)).Status);
        var woken = await waiting.WaitAsync(TimeSpan.FromSeconds(20));

        Assert.Equal(StoreStatus.Ok, woken.Status);
        Assert.Equal("v1", Encoding.UTF8.GetString(woken.Item!.Data.Span));
    }
}
