using System.Net;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using SessionRouter.Gateway.Leases;
using SessionRouter.Gateway.Tests.Infrastructure;
using Xunit;

namespace SessionRouter.Gateway.Tests;

/// <summary>
/// With leases on, the gateway that served a session's read-write request keeps its lock and state: the session's
/// next requests on that gateway skip the load, a request elsewhere gets the session through the node's revocation,
/// and a holder that does not answer is fenced out when its lease time has passed.
/// </summary>
public sealed class LeaseTests
{
    // A new session's first request creates it; the next one loads it and notes it; the third, coming back within the
    // lease time, is admitted and keeps the lock as a lease (see LeaseAdmission).
    private const int LeasedAfter = 3;

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task OnTheHolder_AReadWriteRequestCostsOnlyItsSave_AndAReadOnlyOneNoStoreCall(int replicationFactor)
    {
        await using var farm = await StartAsync(replicationFactor);
        using var client = farm.NewClient();
        await IncrementAsync(client, from: 1, times: LeasedAfter);

        var before = StoreCalls(farm);
        Assert.Equal(LeasedAfter + 1, (await SiteReply.ReadAsync(await client.GetAsync("/cart/inc"))).Count);
        var readWriteCalls = StoreCalls(farm) - before;

        before = StoreCalls(farm);
        var readOnly = await SiteReply.ReadAsync(await client.GetAsync("/ro/page"));
        var readOnlyCalls = StoreCalls(farm) - before;

        Assert.Equal(LeasedAfter + 1, readOnly.Count);
        Assert.Equal(replicationFactor, readWriteCalls);
        Assert.Equal(0, readOnlyCalls);
        Assert.Equal(1, Leases(farm.Gateway).Count);
    }

    [Fact]
    public async Task ASessionSeenOnce_IsNotLeased_SoItsLockIsReleasedAsWithoutLeases()
    {
        await using var farm = await StartAsync(replicationFactor: 1);
        using var client = farm.NewClient();
        await IncrementAsync(client, from: 1, times: LeasedAfter - 1);

        Assert.Equal(0, Leases(farm.Gateway).Count);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task ClientsAlternatingBetweenGateways_AreServedEveryTime_AndNeverSeeAnOldState(int replicationFactor)
    {
        // The lease outlasts the lock wait: without revocation every switch of gateway would wait and be refused. No
        // backoff after a revocation: every request leases the session again, the worst case.
        await using var pair = await TwoGateways.StartAsync(Options(replicationFactor, "00:00:30", "00:00:05", backoff: "00:00:00"));
        var (farm, first, other) = (pair.Farm, pair.First, pair.Other);
        await IncrementAsync(first, from: 1, times: LeasedAfter);
        var holders = 0;
        for (var count = LeasedAfter + 1; count <= LeasedAfter + 12; count++)
        {
            var (gateway, elsewhere) = count % 2 == 0 ? (other, first) : (first, other);
            var reply = await SiteReply.ReadAsync(await gateway.GetAsync("/cart/inc"));
            Assert.Equal(200, reply.Status);
            Assert.Equal(count, reply.Count);

            // A read-only request on the gateway that does not hold the lease reads the replicas: never older.
            Assert.Equal(count, (await SiteReply.ReadAsync(await elsewhere.GetAsync("/ro/page"))).Count);
            holders = Leases(farm.Gateways[0]).Count + Leases(farm.Gateways[1]).Count;
        }

        // Each gateway leased it in turn: exactly one holds it now.
        Assert.Equal(1, holders);
    }

    [Fact]
    public async Task AfterARevocation_TheSessionIsNotLeasedAgainForTheBackoff_SoSwitchingCostsNoMoreThanWithoutLeases()
    {
        await using var pair = await TwoGateways.StartAsync(Options(1, "00:00:30", "00:00:05", backoff: "00:01:00"));
        var (farm, first, other) = (pair.Farm, pair.First, pair.Other);
        await IncrementAsync(first, from: 1, times: LeasedAfter);
        await IncrementAsync(other, from: LeasedAfter + 1, times: 1);

        // The first gateway's lease was revoked: it loads and saves as without leases, and keeps no lease.
        var before = StoreCalls(farm);
        await IncrementAsync(first, from: LeasedAfter + 2, times: 1);
        var calls = StoreCalls(farm) - before;

        Assert.Equal(2, calls);
        Assert.Equal(0, Leases(farm.Gateways[0]).Count);
    }

    [Fact]
    public async Task AHolderThatDoesNotAnswerRevocation_IsFencedOut_OnceItsLeaseTimeHasPassed()
    {
        await using var pair = await TwoGateways.StartAsync(Options(1, "00:00:01", "00:00:10"), muted: true);
        var (farm, first, other) = (pair.Farm, pair.First, pair.Other);
        await IncrementAsync(first, from: 1, times: LeasedAfter);
        Assert.Equal(1, Leases(farm.Gateways[0]).Count);

        // The second gateway waits until the first one's lock is older than the lease time, then takes it over.
        Assert.Equal(LeasedAfter + 1, (await SiteReply.ReadAsync(await other.GetAsync("/cart/inc"))).Count);

        // The first gateway's lease has expired: it loads again and sees the second one's write.
        Assert.Equal(LeasedAfter + 2, (await SiteReply.ReadAsync(await first.GetAsync("/cart/inc"))).Count);
        Assert.Equal(LeasedAfter + 2, (await SiteReply.ReadAsync(await first.GetAsync("/ro/page"))).Count);
    }

    [Fact]
    public async Task ALeaseThatExpiresDuringASlowBackend_LosesItsSave_ToTheRequestThatTookItOver()
    {
        await using var pair = await TwoGateways.StartAsync(Options(1, "00:00:01", "00:00:10"), muted: true);
        var (farm, first, other) = (pair.Farm, pair.First, pair.Other);
        await IncrementAsync(first, from: 1, times: LeasedAfter);

        // Served from the lease, the slow request's save comes after its lock could be taken over ...
        var slow = first.GetAsync("/cart/inc?delayMs=3000");

        // (in the site, so the first gateway has served it from its lease, before the other request starts)
        await SessionPipelineTests.WaitUntilAsync(() => farm.Sites[0].Requests == LeasedAfter + 1);

        // ... and it was: the other gateway's request took the lock after the lease time and saved its increment.
        Assert.Equal(LeasedAfter + 1, (await SiteReply.ReadAsync(await other.GetAsync("/cart/inc"))).Count);
        var late = await slow;

        Assert.Equal(HttpStatusCode.Conflict, late.StatusCode);
        Assert.Equal(LeasedAfter + 2, (await SiteReply.ReadAsync(await other.GetAsync("/cart/inc"))).Count);
    }

    [Fact]
    public async Task UnderATightMemoryLimit_TheLeastRecentlyUsedLeasesAreGivenUp_AndNoStateIsLost()
    {
        // Room for three leases of a one-digit count: 3 × (overhead + 1 byte).
        var limit = (3 * (LeaseTable.OverheadBytes + 1)) + 10;
        await using var farm = await StartAsync(replicationFactor: 1, maxBytes: limit);
        var clients = Enumerable.Range(0, 6).Select(_ => farm.NewClient()).ToList();
        foreach (var client in clients)
        {
            await IncrementAsync(client, from: 1, times: LeasedAfter);
        }

        var table = Leases(farm.Gateway);
        for (var attempt = 0; attempt < 100 && table.Bytes > limit; attempt++)
        {
            await Task.Delay(50);
        }

        Assert.True(table.Bytes <= limit, $"{table.Bytes} bytes leased, limit {limit}");
        Assert.InRange(table.Count, 1, 3);
        foreach (var client in clients)
        {
            Assert.Equal(LeasedAfter + 1, (await SiteReply.ReadAsync(await client.GetAsync("/cart/inc"))).Count);
            client.Dispose();
        }
    }

    [Fact]
    public async Task AGatewayThatStops_GivesItsLeasesUp_SoTheOtherOneNeedNotWait()
    {
        // A lease far longer than the lock wait, and no revocation: only the stop's release lets the other gateway in.
        await using var farm = await StartAsync(replicationFactor: 2, leaseTime: "00:00:50", lockWait: "00:00:03");
        var second = await farm.StartAnotherGatewayAsync(Options(2, "00:00:50", "00:00:03"));
        MuteContention(farm);
        var cookies = new CookieContainer();
        using var other = farm.NewClient(second, cookies);
        using (var first = farm.NewClient(cookies: cookies))
        {
            await IncrementAsync(first, from: 1, times: LeasedAfter);
        }

        Assert.Equal(1, Leases(farm.Gateway).Count);
        await farm.Gateway.StopAsync();

        Assert.Equal(LeasedAfter + 1, (await SiteReply.ReadAsync(await other.GetAsync("/cart/inc"))).Count);
    }

    /// <summary>A farm of two gateways over the same nodes, and a client of each sharing one cookie jar (one session).</summary>
    private sealed class TwoGateways : IAsyncDisposable
    {
        private TwoGateways(GatewayFarm farm, HttpClient first, HttpClient other) => (Farm, First, Other) = (farm, first, other);

        public GatewayFarm Farm { get; }

        public HttpClient First { get; }

        public HttpClient Other { get; }

        /// <param name="muted">The nodes' announcements reach no gateway: a holder is never told to give a lease up.</param>
        public static async Task<TwoGateways> StartAsync(FarmOptions options, bool muted = false)
        {
            var farm = await GatewayFarm.StartAsync(options);
            var second = await farm.StartAnotherGatewayAsync(options);
            if (muted)
            {
                MuteContention(farm);
            }

            var cookies = new CookieContainer();
            return new TwoGateways(farm, farm.NewClient(cookies: cookies), farm.NewClient(second, cookies));
        }

        public async ValueTask DisposeAsync()
        {
            First.Dispose();
            Other.Dispose();
            await Farm.DisposeAsync();
        }
    }

    private static void MuteContention(GatewayFarm farm)
    {
        foreach (var store in farm.InMemoryNodes!.Stores.Values)
        {
            // The holder hears nothing: as a gateway that died or is cut off from the node.
            store.MuteContention = true;
        }
    }

    private static LeaseTable Leases(WebApplication gateway) => gateway.Services.GetRequiredService<LeaseTable>();

    private static int StoreCalls(GatewayFarm farm) => farm.InMemoryNodes!.Stores.Values.Sum(store => store.Calls);

    private static async Task IncrementAsync(HttpClient client, int from, int times)
    {
        for (var count = from; count < from + times; count++)
        {
            var reply = await SiteReply.ReadAsync(await client.GetAsync("/cart/inc"));
            Assert.Equal(200, reply.Status);
            Assert.Equal(count, reply.Count);
        }
    }

    private static Task<GatewayFarm> StartAsync(int replicationFactor, string leaseTime = "00:00:30", string lockWait = "00:00:10", long? maxBytes = null, string? backoff = null)
        => GatewayFarm.StartAsync(Options(replicationFactor, leaseTime, lockWait, maxBytes, backoff));

    private static FarmOptions Options(int replicationFactor, string leaseTime, string lockWait, long? maxBytes = null, string? backoff = null) => new()
    {
        Sites = 1,
        LockWaitTimeout = lockWait,
        LockTimeout = "00:01:00",
        NodeAddresses = ["http://127.0.0.1:1", "http://127.0.0.1:2", "http://127.0.0.1:3"],
        Edit = config =>
        {
            var section = config["SessionRouter"]!;
            section["ReplicationFactor"] = replicationFactor;
            var leases = new JsonObject { ["Enabled"] = true, ["Time"] = leaseTime };
            if (maxBytes is { } limit)
            {
                leases["MaxBytes"] = limit;
            }

            if (backoff is not null)
            {
                leases["ContentionBackoff"] = backoff;
            }

            section["Leases"] = leases;
        },
    };
}
