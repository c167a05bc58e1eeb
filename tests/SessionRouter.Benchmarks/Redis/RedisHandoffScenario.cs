using System.Diagnostics;
using System.Globalization;
using SessionRouter.Core.Storage;
using SessionRouter.Redis;
using SessionRouter.Redis.Configuration;
using SessionRouter.Testing.Redis;

namespace SessionRouter.Benchmarks.Redis;

/// <summary>
/// Lock hand-off latency of the Redis backend: from the moment the holder starts its release to the
/// moment a waiting exclusive read returns with the lock, when the waiter is in the same process (one
/// gateway) and in another store instance with its own connection (another gateway). Then how long a
/// call takes to fail with <c>SessionStoreUnavailableException</c> after the server is killed.
/// Run: <c>dotnet run -c Release --project tests/SessionRouter.Benchmarks -- redis-handoff [--handoffs 300]</c>.
/// </summary>
internal sealed class RedisHandoffScenario : IBenchmarkScenario
{
    private static readonly TimeSpan ItemTimeout = TimeSpan.FromMinutes(20);

    public string Name => "redis-handoff";

    public string Description => "Redis backend: lock hand-off latency to a waiter (same and other instance), failure detection after a kill";

    public async Task<int> RunAsync(string[] args, CancellationToken cancellationToken)
    {
        var index = Array.IndexOf(args, "--handoffs");
        var handoffs = index >= 0 && index + 1 < args.Length ? int.Parse(args[index + 1], CultureInfo.InvariantCulture) : 300;

        await using var server = await RedisServerProcess.StartAsync(cancellationToken: cancellationToken);
        var options = new RedisStoreOptions { NodeId = "bench", ConnectionString = server.ConnectionString };
        await using var holder = await RedisSessionStore.ConnectAsync(options, cancellationToken: cancellationToken);
        await using var otherGateway = await RedisSessionStore.ConnectAsync(options, cancellationToken: cancellationToken);

        Console.WriteLine($"redis-handoff: redis-server {server.ConnectionString}, {handoffs} hand-offs per case, {Environment.ProcessorCount} cores");
        Console.WriteLine($"{"waiter",-40} {"p50",10} {"p90",10} {"p99",10} {"max",10}");
        await MeasureHandoffAsync("same store instance (one gateway)", holder, holder, handoffs, cancellationToken);
        await MeasureHandoffAsync("other store instance (other gateway)", holder, otherGateway, handoffs, cancellationToken);
        Console.WriteLine("(classic ASP.NET session state polls a locked session every 500 ms)");
        Console.WriteLine();

        // Failure detection: how long until a call reports the node unavailable after a crash.
        var key = new SessionKey("bench", "kill");
        await holder.SetAsync(key, new SessionWrite(new byte[16], ItemTimeout), cancellationToken);
        server.Kill();
        var watch = Stopwatch.StartNew();
        string outcome;
        try
        {
            await holder.GetAsync(key, cancellationToken);
            outcome = "no failure";
        }
        catch (SessionStoreUnavailableException e)
        {
            outcome = e.InnerException?.GetType().Name ?? nameof(SessionStoreUnavailableException);
        }

        Console.WriteLine($"first call after kill -9 of redis-server failed after {watch.Elapsed.TotalMilliseconds:0.0} ms ({outcome})");
        watch.Restart();
        try
        {
            await holder.ProbeAsync(cancellationToken);
            outcome = "probe passed";
        }
        catch (SessionStoreUnavailableException)
        {
            outcome = "probe failed";
        }

        Console.WriteLine($"probe after the kill: {outcome} after {watch.Elapsed.TotalMilliseconds:0.0} ms");
        return 0;
    }

    private static async Task MeasureHandoffAsync(string name, RedisSessionStore holder, RedisSessionStore waiterStore, int handoffs, CancellationToken cancellationToken)
    {
        var key = new SessionKey("bench", "handoff-" + Guid.NewGuid().ToString("N"));
        await holder.SetAsync(key, new SessionWrite(new byte[1024], ItemTimeout), cancellationToken);
        var samples = new List<double>(handoffs);
        for (var i = 0; i < handoffs + 10; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var held = await holder.GetExclusiveAsync(key, LockRequest.NoWait, cancellationToken);
            var waiting = waiterStore.GetExclusiveAsync(key, new LockRequest(TimeSpan.FromSeconds(10), TimeSpan.FromMinutes(5)), cancellationToken).AsTask();
            for (var spin = 0; spin < 1000 && waiterStore.WaitingCallers(key) == 0; spin++)
            {
                await Task.Delay(1, cancellationToken);
            }

            // Let the waiter settle after its re-check, so the release really finds it waiting.
            await Task.Delay(5, cancellationToken);
            var started = Stopwatch.GetTimestamp();
            await holder.ReleaseAsync(key, held.Lock.LockId, cancellationToken);
            var woken = await waiting;
            var elapsed = Stopwatch.GetElapsedTime(started);
            if (woken.Status != StoreStatus.Ok)
            {
                throw new InvalidOperationException($"The waiter got {woken.Status}.");
            }

            await waiterStore.ReleaseAsync(key, woken.Lock.LockId, cancellationToken);
            if (i >= 10)
            {
                samples.Add(elapsed.TotalMilliseconds);
            }
        }

        samples.Sort();
        double At(double q) => samples[Math.Min(samples.Count - 1, (int)(q * samples.Count))];
        Console.WriteLine($"{name,-40} {At(0.5),7:0.00} ms {At(0.9),7:0.00} ms {At(0.99),7:0.00} ms {samples[^1],7:0.00} ms");
    }
}
