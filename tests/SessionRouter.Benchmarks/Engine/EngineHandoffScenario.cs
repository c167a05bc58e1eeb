using System.Diagnostics;
using System.Globalization;
using SessionRouter.Core.Storage;
using SessionRouter.StateServer.Client;
using SessionRouter.StateServer.Hosting;
using SessionRouter.StateServer.Storage;

namespace SessionRouter.Benchmarks.Engine;

/// <summary>
/// Lock hand-off latency to a parked waiter: from the moment the holder starts its set-and-release to
/// the moment the waiting exclusive read returns holding the lock. In process and through the client
/// over HTTP/2 (the holder's release and the waiter's answer both cross the network).
/// Run: <c>dotnet run -c Release --project tests/SessionRouter.Benchmarks -- engine-handoff [--handoffs 1000]</c>.
/// </summary>
internal sealed class EngineHandoffScenario : IBenchmarkScenario
{
    public string Name => "engine-handoff";

    public string Description => "Engine: lock hand-off latency to a parked waiter (p50/p90/p99), in process and via the client";

    public async Task<int> RunAsync(string[] args, CancellationToken cancellationToken)
    {
        var handoffs = EngineBench.IntArgument(args, "--handoffs", 1000);
        Console.WriteLine($"engine-handoff: {handoffs} hand-offs per case, {Environment.ProcessorCount} cores");
        Console.WriteLine($"{"path",-40} {"p50 ms",10} {"p90 ms",10} {"p99 ms",10}");

        using (var store = new InMemorySessionStore())
        {
            await MeasureAsync("in process", store, store, handoffs, cancellationToken);
        }

        await using (var node = await StateServerRunner.StartAsync(new StateServerOptions { Port = 0, Http2Port = 0 }, cancellationToken: cancellationToken))
        using (var holder = new StateServerClient(new StateServerClientOptions { NodeId = "bench", BaseAddress = node.BaseAddress }))
        using (var waiter = new StateServerClient(new StateServerClientOptions { NodeId = "bench", BaseAddress = node.BaseAddress }))
        {
            await MeasureAsync("StateServerClient over HTTP/2", node.Store, holder, waiter, handoffs, cancellationToken);
        }

        Console.WriteLine("(classic ASP.NET session state polls a locked session every 500 ms)");
        return 0;
    }

    private static Task MeasureAsync(string path, InMemorySessionStore engine, ISessionStore store, int handoffs, CancellationToken cancellationToken) =>
        MeasureAsync(path, engine, store, store, handoffs, cancellationToken);

    private static async Task MeasureAsync(string path, InMemorySessionStore engine, ISessionStore holder, ISessionStore waiter, int handoffs, CancellationToken cancellationToken)
    {
        var data = EngineBench.Blob(1024, 3);
        var latencies = new List<double>(handoffs);
        var waitRequest = new LockRequest(TimeSpan.FromSeconds(10));
        for (var i = 0; i < handoffs + 50; i++)
        {
            var key = new SessionKey("handoff", EngineBench.SessionId(i));
            await holder.SetAsync(key, new SessionWrite(data, EngineBench.ItemTimeout), cancellationToken);
            var held = await holder.GetExclusiveAsync(key, LockRequest.NoWait, cancellationToken);
            var parkedBefore = engine.GetStatistics().LocksWaited;

            var waiting = Task.Run(async () =>
            {
                var read = await waiter.GetExclusiveAsync(key, waitRequest, cancellationToken);
                var at = Stopwatch.GetTimestamp();
                return (read, at);
            }, cancellationToken);

            // Wait until the store has parked the waiter (bounded).
            for (var spin = 0; spin < 10_000 && engine.GetStatistics().LocksWaited == parkedBefore; spin++)
            {
                await Task.Delay(1, cancellationToken);
            }

            var start = Stopwatch.GetTimestamp();
            await holder.SetAsync(key, new SessionWrite(data, EngineBench.ItemTimeout, held.Lock.LockId), cancellationToken);
            var (woken, end) = await waiting;
            if (woken.Status != StoreStatus.Ok)
            {
                throw new InvalidOperationException($"waiter answered {woken.Status}");
            }

            await waiter.RemoveAsync(key, woken.Lock.LockId, cancellationToken);
            if (i >= 50)
            {
                latencies.Add(Stopwatch.GetElapsedTime(start, end).TotalMilliseconds);
            }
        }

        latencies.Sort();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{path,-40} {EngineBench.Percentile(latencies, 0.5),10:0.000} {EngineBench.Percentile(latencies, 0.9),10:0.000} {EngineBench.Percentile(latencies, 0.99),10:0.000}"));
    }
}
