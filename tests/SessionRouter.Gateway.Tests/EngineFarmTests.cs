using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using SessionRouter.Gateway.Diagnostics;
using SessionRouter.Gateway.Tests.Infrastructure;
using SessionRouter.StateServer.Hosting;
using Xunit;

namespace SessionRouter.Gateway.Tests;

/// <summary>The gateway over real built-in engines (StateServerRunner on loopback, the HTTP/2 client).</summary>
public sealed class EngineFarmTests : IAsyncLifetime
{
    private readonly List<StateServerRunner> _engines = [];
    private GatewayFarm _farm = null!;

    public async Task InitializeAsync()
    {
        for (var i = 0; i < 3; i++)
        {
            _engines.Add(await StateServerRunner.StartAsync(new StateServerOptions { Port = 0, Http2Port = 0 }));
        }

        _farm = await GatewayFarm.StartAsync(new FarmOptions
        {
            RealNodes = true,
            NodeAddresses = _engines.Select(e => e.BaseAddress.ToString()).ToList(),
            LockWaitTimeout = "00:00:20",
            ProbeTimeout = "00:00:03",
            FailuresToDown = 3,
        });
    }

    public async Task DisposeAsync()
    {
        await _farm.DisposeAsync();
        foreach (var engine in _engines)
        {
            await engine.DisposeAsync();
        }
    }

    [Fact]
    public async Task ThreeBackends_ServeOneSession_AndFiftyConcurrentIncrementsEndAtFifty()
    {
        using var client = _farm.NewClient();
        var servers = new HashSet<string>();
        for (var i = 1; i <= 6; i++)
        {
            var reply = await SiteReply.ReadAsync(await client.GetAsync("/cart/inc"));
            Assert.True(i == reply.Count, reply.Body + string.Join("\n", _farm.Logs.Lines.Where(l => !l.Contains("joined"))));
            servers.Add(reply.Server);
        }

        Assert.Equal(3, servers.Count);

        var replies = await Task.WhenAll(Enumerable.Range(0, 50).Select(async _ => await SiteReply.ReadAsync(await client.GetAsync("/cart/inc"))));
        Assert.All(replies, r => Assert.Equal(200, r.Status));
        Assert.Equal(Enumerable.Range(7, 50), replies.Select(r => r.Count).Order());
        Assert.Equal(56, (await SiteReply.ReadAsync(await client.GetAsync("/ro/show"))).Count);
    }

    [Fact]
    public async Task EveryStoreCall_IsTimedWithItsNodeAndOperation()
    {
        // Only this farm's gateway: other tests' gateways run in the same process with meters of their own.
        var meterFactory = _farm.Gateway.Services.GetRequiredService<IMeterFactory>();
        var calls = new ConcurrentQueue<(string Node, string Operation, double Seconds)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Scope == meterFactory && instrument.Name == GatewayMetrics.StoreDurationName)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<double>((_, seconds, tags, _) =>
        {
            string node = "", operation = "";
            foreach (var tag in tags)
            {
                if (tag.Key == "node")
                {
                    node = (string)tag.Value!;
                }
                else if (tag.Key == "operation")
                {
                    operation = (string)tag.Value!;
                }
            }

            calls.Enqueue((node, operation, seconds));
        });
        listener.Start();

        using var client = _farm.NewClient();
        var first = await SiteReply.ReadAsync(await client.GetAsync("/cart/inc"));
        Assert.Equal(1, first.Count);
        var primary = (await FailureTests.Where(_farm, first.Id))[0];
        Assert.Equal(2, (await SiteReply.ReadAsync(await client.GetAsync("/cart/inc"))).Count);
        Assert.Equal(2, (await SiteReply.ReadAsync(await client.GetAsync("/ro/show"))).Count);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/cart/abandon")).StatusCode);

        // A new session is not read (nobody else knows its id): save; then load + save; read; load + remove.
        Assert.Equal(
            ["save", "load", "save", "read", "load", "remove"],
            calls.Select(c => c.Operation).ToArray());
        Assert.All(calls, c => Assert.Equal(primary, c.Node));
        Assert.All(calls, c => Assert.True(c.Seconds > 0, $"{c.Operation} took {c.Seconds} s"));
    }

    [Fact]
    public async Task NodeKilledMidRun_ItsSessionsMoveToTheirNextNode_OtherSessionsAreUnaffected()
    {
        // Enough sessions that every node is the primary of some.
        var sessions = new List<(HttpClient Client, string Id, string Primary)>();
        for (var i = 0; i < 24; i++)
        {
            var client = _farm.NewClient();
            var reply = await SiteReply.ReadAsync(await client.GetAsync("/cart/inc"));
            Assert.Equal(1, reply.Count);
            sessions.Add((client, reply.Id, (await FailureTests.Where(_farm, reply.Id))[0]));
        }

        var victim = sessions[0].Primary;
        Assert.Contains(sessions, s => s.Primary != victim);
        var victimEngine = _engines[victim[^1] - 'a'];

        // Requests are running on every session while the victim dies.
        var load = Task.WhenAll(sessions.Select(async s => (await SiteReply.ReadAsync(await s.Client.GetAsync("/cart/inc?delayMs=200"))).Status));
        await Task.Delay(50);
        await victimEngine.StopAsync();
        var statuses = await load;
        Assert.All(statuses, status => Assert.True(status is 200 or 409 or 503, $"status {status}"));

        foreach (var (client, id, primary) in sessions)
        {
            var reply = await SiteReply.ReadAsync(await client.GetAsync("/cart/inc"));
            Assert.Equal(200, reply.Status);
            Assert.Equal(id, reply.Id);
            if (primary != victim)
            {
                Assert.Equal(3, reply.Count);
            }
            else
            {
                // R = 1: the state lived only on the dead node; the session goes on from its next node
                // (with the in-flight save, if that request had loaded before the node died).
                Assert.InRange(reply.Count, 1, 3);
            }
        }

        await _farm.WaitForHealthAsync(victim, healthy: false);
        foreach (var session in sessions)
        {
            session.Client.Dispose();
        }
    }
}
