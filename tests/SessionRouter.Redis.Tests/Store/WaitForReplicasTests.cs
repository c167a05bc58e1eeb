using System.Diagnostics.Metrics;
using System.Text;
using SessionRouter.Core.Storage;
using SessionRouter.Redis.Tests.Fixtures;
using SessionRouter.Testing.Redis;
using StackExchange.Redis;
using Xunit;

namespace SessionRouter.Redis.Tests.Store;

/// <summary>WaitForReplicas: a save returns once the primary's replica has it (Redis WAIT), with a real primary and replica.</summary>
public sealed class WaitForReplicasTests
{
    private static readonly TimeSpan ItemTimeout = TimeSpan.FromMinutes(5);

    [Fact]
    public async Task ASave_IsOnTheReplica_WhenItReturns()
    {
        await using var primary = await RedisServerProcess.StartAsync();
        await using var replica = await RedisServerProcess.StartAsync(["--replicaof", "127.0.0.1", primary.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        await WaitForLinkAsync(primary);

        var options = Options.For("waiting", primary.ConnectionString);
        options.WaitForReplicas = 1;
        options.WaitForReplicasTimeout = TimeSpan.FromSeconds(10);
        using var unreplicated = new UnreplicatedCount("waiting");
        await using var store = await RedisSessionStore.ConnectAsync(options);
        using var replicaConnection = await ConnectionMultiplexer.ConnectAsync(replica.ConnectionString);
        var key = new SessionKey("wait", Guid.NewGuid().ToString("N"));

        for (var i = 0; i < 20; i++)
        {
            var data = Encoding.UTF8.GetBytes("state " + i);
            Assert.Equal(StoreStatus.Ok, (await store.SetAsync(key, new SessionWrite(data, ItemTimeout))).Status);

            // Read from the replica itself, right after the save returned: WAIT guarantees it has the write.
            var onReplica = (byte[]?)await replicaConnection.GetDatabase().ExecuteAsync("GET", options.KeyPrefix + "{wait:" + key.SessionId + "}");
            Assert.NotNull(onReplica);
            Assert.EndsWith("state " + i, Encoding.UTF8.GetString(onReplica!), StringComparison.Ordinal);
        }

        // Every WAIT ran and was answered by the replica: none fell short or failed.
        Assert.Equal(0, unreplicated.Value);
    }

    [Fact]
    public async Task WithoutTheReplicas_ASaveIsStillApplied_AndTheShortfallIsCounted()
    {
        await using var primary = await RedisServerProcess.StartAsync();
        var options = Options.For("lonely", primary.ConnectionString);
        options.WaitForReplicas = 1;
        options.WaitForReplicasTimeout = TimeSpan.FromMilliseconds(50);
        using var unreplicated = new UnreplicatedCount("lonely");
        await using var store = await RedisSessionStore.ConnectAsync(options);
        var key = new SessionKey("wait", Guid.NewGuid().ToString("N"));

        Assert.Equal(StoreStatus.Ok, (await store.SetAsync(key, new SessionWrite(Encoding.UTF8.GetBytes("kept"), ItemTimeout))).Status);

        var read = await store.GetAsync(key);
        Assert.Equal("kept", Encoding.UTF8.GetString(read.Item!.Data.Span));
        Assert.True(unreplicated.Value >= 1);
    }

    /// <summary>Counts sessionrouter.redis.saves.unreplicated of one node.</summary>
    private sealed class UnreplicatedCount : IDisposable
    {
        private readonly MeterListener _listener = new();
        private long _value;

        public UnreplicatedCount(string nodeId)
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Name == "sessionrouter.redis.saves.unreplicated")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
            {
                foreach (var tag in tags)
                {
                    if (tag.Key == "node" && (string?)tag.Value == nodeId)
                    {
                        Interlocked.Add(ref _value, value);
                    }
                }
            });
            _listener.Start();
        }

        public long Value => Interlocked.Read(ref _value);

        public void Dispose() => _listener.Dispose();
    }

    private static async Task WaitForLinkAsync(RedisServerProcess primary)
    {
        using var connection = await ConnectionMultiplexer.ConnectAsync(primary.ConnectionString + ",allowAdmin=true");
        for (var attempt = 0; attempt < 200; attempt++)
        {
            var info = (string?)await connection.GetDatabase().ExecuteAsync("INFO", "replication");
            if (info is not null && info.Contains("connected_slaves:1", StringComparison.Ordinal) && info.Contains("state=online", StringComparison.Ordinal))
            {
                return;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException("the replica did not come online within 10 s");
    }
}
