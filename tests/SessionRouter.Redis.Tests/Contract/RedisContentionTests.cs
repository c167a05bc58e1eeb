using SessionRouter.Core.Storage;
using SessionRouter.Redis.Locking;
using SessionRouter.Redis.Tests.Fixtures;
using SessionRouter.Testing.StoreContract;
using Xunit;

namespace SessionRouter.Redis.Tests.Contract;

/// <summary>The contention contract against one standalone redis-server.</summary>
[Collection(StandaloneRedisCollection.Name)]
public sealed class StandaloneRedisContentionTests(StandaloneRedisFixture fixture) : LockContentionContractTests
{
    protected override ISessionStore Store => fixture.Store;

    protected override ILockContentionSource Source => fixture.Store;

    /// <summary>Another process's store on the same node (another gateway) hears what this one's waiters announce.</summary>
    [Fact]
    public async Task AWatcherOfAnotherConnection_SeesTheAnnouncement()
    {
        await using var other = await RedisSessionStore.ConnectAsync(Options.For("standalone-other", fixture.Server.ConnectionString));
        await using var watch = ContentionWatch.Start(other);
        await EstablishAsync(watch);

        var holderLockId = await ContendAsync(NewKey(), [watch]);

        Assert.Equal(holderLockId, watch.Seen[^1].HolderLockId);
    }

    /// <summary>Stores with other key prefixes use other channels: their waiters are not announced here.</summary>
    [Fact]
    public async Task AStoreWithAnotherKeyPrefix_IsNotHeard()
    {
        var options = Options.For("standalone-prefixed", fixture.Server.ConnectionString);
        options.KeyPrefix = "other-prefix:";
        await using var other = await RedisSessionStore.ConnectAsync(options);
        await using var watch = ContentionWatch.Start(Source);
        await EstablishAsync(watch);
        var elsewhere = NewKey();
        var held = await other.GetExclusiveAsync(elsewhere, new LockRequest(TimeSpan.Zero, CreateIfMissing: true));
        using (var leave = new CancellationTokenSource())
        {
            var waiter = other.GetExclusiveAsync(elsewhere, Waiting, leave.Token).AsTask();
            await WaitUntilAsync(() => other.WaitingCallers(elsewhere) == 1);
            await leave.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiter);
        }

        await ContendAsync(NewKey(), [watch]);

        Assert.DoesNotContain(watch.Seen, c => c.Key == elsewhere);
        await other.ReleaseAsync(elsewhere, held.Lock.LockId);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var bound = new CancellationTokenSource(Bound);
        while (!condition())
        {
            await Task.Delay(10, bound.Token);
        }
    }
}

/// <summary>The contention contract against a 3-master Redis Cluster (PUBLISH reaches subscribers on every node).</summary>
[Collection(RedisClusterCollection.Name)]
public sealed class RedisClusterContentionTests(RedisClusterFixture fixture) : LockContentionContractTests
{
    protected override ISessionStore Store => fixture.Store;

    protected override ILockContentionSource Source => fixture.Store;
}

/// <summary>The announcement as published: round trip, and anything else on the channel ignored.</summary>
public sealed class ContentionMessageTests
{
    [Fact]
    public void AnAnnouncement_RoundTrips()
    {
        var contention = new LockContention(new SessionKey("app:{x}é", "id/with:colons"), long.MaxValue);

        Assert.True(ContentionMessage.TryDecode(ContentionMessage.Encode(contention), out var decoded));
        Assert.Equal(contention, decoded);
    }

    public static TheoryData<byte[]> NotAnnouncements => new()
    {
        Array.Empty<byte>(),
        "hello"u8.ToArray(),
        new byte[] { 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, (byte)'a' }, // lock id 0
        new byte[] { 0, 0, 0, 0, 0, 0, 0, 5, 0, 1, (byte)'a' }, // no session id
        new byte[] { 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0xFF }, // invalid UTF-8
    };

    [Theory]
    [MemberData(nameof(NotAnnouncements))]
    public void AnythingElse_IsNotDecoded(byte[] message)
    {
        Assert.False(ContentionMessage.TryDecode(message, out _));
    }
}
