using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.StackExchangeRedis;
using SessionRouter.Core.Storage;
using SessionRouter.Redis;
using SessionRouter.Redis.Configuration;
using SessionRouter.StateServer.Client;
using SessionRouter.StateServer.Hosting;
using SessionRouter.Testing.Redis;

namespace SessionRouter.Benchmarks.Redis;

/// <summary>
/// Session operation throughput, side by side in one run on one redis-server: the Redis backend's
/// read-write request (get-exclusive + set-and-release, two round trips) against ASP.NET Core's RedisCache
/// as its session uses it (GetAsync = get + refresh, then SetAsync: three round trips), and against the
/// built-in engine over its HTTP/2 client. Also the server memory one idle session costs in each layout.
/// Run: <c>dotnet run -c Release --project tests/SessionRouter.Benchmarks -- redis-store [--seconds 5] [--rounds 3] [--callers 32] [--size 1024] [--sessions 20000] [--commandstats]</c>.
/// </summary>
internal sealed class RedisStoreScenario : IBenchmarkScenario
{
    private static readonly TimeSpan ItemTimeout = TimeSpan.FromMinutes(20);

    public string Name => "redis-store";

    public string Description => "Redis backend vs ASP.NET Core RedisCache (get+refresh+set) vs built-in engine: ops/s and bytes per session";

    public async Task<int> RunAsync(string[] args, CancellationToken cancellationToken)
    {
        var seconds = IntOption(args, "--seconds", 5);
        var rounds = IntOption(args, "--rounds", 3);
        var callers = IntOption(args, "--callers", 32);
        var size = IntOption(args, "--size", 1024);
        var sessions = IntOption(args, "--sessions", 20_000);
        var verbose = args.Contains("--commandstats");
        var duration = TimeSpan.FromSeconds(seconds);
        var data = new byte[size];
        Random.Shared.NextBytes(data);

        await using var server = await RedisServerProcess.StartAsync(cancellationToken: cancellationToken);
        await using var store = await RedisSessionStore.ConnectAsync(new RedisStoreOptions { NodeId = "bench", ConnectionString = server.ConnectionString }, cancellationToken: cancellationToken);
        using var cache = new RedisCache(new RedisCacheOptions { Configuration = server.ConnectionString, InstanceName = "cache:" });
        await using var engine = await StateServerRunner.StartAsync(new StateServerOptions { Port = 0, Http2Port = 0 }, cancellationToken: cancellationToken);
        using var engineClient = new StateServerClient(new StateServerClientOptions { NodeId = "engine", BaseAddress = engine.BaseAddress });
        var cacheOptions = new DistributedCacheEntryOptions { SlidingExpiration = ItemTimeout };

        Console.WriteLine($"redis-store: redis-server {server.ConnectionString}, {callers} concurrent callers, {size} B state, {seconds} s per measurement, {rounds} rounds (stacks in turn)");
        Console.WriteLine($"{Environment.ProcessorCount} cores, .NET {Environment.Version}");

        // Each caller works on its own 64 sessions, so callers do not wait for each other's locks.
        static SessionKey KeyOf(int caller, long n) => new("bench", string.Create(CultureInfo.InvariantCulture, $"{caller}-{n % 64}"));

        var stacks = new (string Name, Func<int, long, Task> Request)[]
        {
            ("Redis backend: get-exclusive + set", async (caller, n) =>
            {
                var key = KeyOf(caller, n);
                var read = await store.GetExclusiveAsync(key, new LockRequest(TimeSpan.FromSeconds(5), CreateIfMissing: true, ItemTimeout: ItemTimeout));
                var write = await store.SetAsync(key, new SessionWrite(data, ItemTimeout, read.Lock.LockId));
                Check(read.Status, write.Status);
            }),
            ("RedisCache: get(+refresh) + set", async (caller, n) =>
            {
                var key = "s" + KeyOf(caller, n).SessionId;
                _ = await cache.GetAsync(key);
                await cache.SetAsync(key, data, cacheOptions);
            }),
            ("Built-in engine (HTTP/2): get-exclusive + set", async (caller, n) =>
            {
                var key = KeyOf(caller, n);
                var read = await engineClient.GetExclusiveAsync(key, new LockRequest(TimeSpan.FromSeconds(5), CreateIfMissing: true, ItemTimeout: ItemTimeout));
                var write = await engineClient.SetAsync(key, new SessionWrite(data, ItemTimeout, read.Lock.LockId));
                Check(read.Status, write.Status);
            }),
            ("Redis backend: get (read-only route)", async (caller, n) =>
            {
                var read = await store.GetAsync(KeyOf(caller, n));
                Check(read.Status, StoreStatus.Ok);
            }),
        };

        var results = stacks.ToDictionary(s => s.Name, _ => new List<double>());
        var serverCpu = stacks.ToDictionary(s => s.Name, _ => new List<double>());
        var processCpu = stacks.ToDictionary(s => s.Name, _ => new List<double>());
        using var self = Process.GetCurrentProcess();
        foreach (var (name, request) in stacks)
        {
            // Warm-up: connections, JIT, scripts, and every session created once.
            _ = await MeasureAsync(callers, TimeSpan.FromSeconds(1), request, cancellationToken);
        }

        for (var round = 0; round < rounds; round++)
        {
            foreach (var (name, request) in stacks)
            {
                if (verbose)
                {
                    await RespProbe.SendAsync(server.Port, TimeSpan.FromSeconds(5), "CONFIG", "RESETSTAT");
                }

                var cpuBefore = ServerCpuTime(server);
                self.Refresh();
                var selfBefore = self.TotalProcessorTime;
                var (rate, count) = await MeasureAsync(callers, duration, request, cancellationToken);
                self.Refresh();
                results[name].Add(rate);
                serverCpu[name].Add((ServerCpuTime(server) - cpuBefore).TotalMicroseconds / count);
                processCpu[name].Add((self.TotalProcessorTime - selfBefore).TotalMicroseconds / count);
                if (verbose)
                {
                    await PrintCommandStatsAsync(server, name, count);
                }
            }
        }

        var baseline = Median(results[stacks[1].Name]);
        Console.WriteLine();
        Console.WriteLine($"{"stack",-48} {"requests/s (median)",20} {"vs RedisCache",14} {"redis-server CPU/req",21} {"this process CPU/req",21}   rounds");
        foreach (var (name, _) in stacks)
        {
            var median = Median(results[name]);
            Console.WriteLine($"{name,-48} {median,20:N0} {median / baseline,13:0.00}x {Median(serverCpu[name]),18:0.0} us {Median(processCpu[name]),18:0.0} us   {string.Join(" / ", results[name].Select(r => r.ToString("N0", CultureInfo.InvariantCulture)))}");
        }

        Console.WriteLine("(this process runs the callers, the clients and, for the built-in engine, the engine itself)");
        Console.WriteLine();
        await MeasureMemoryAsync(server, store, cache, cacheOptions, data, sessions, cancellationToken);
        return 0;
    }

    private static async Task MeasureMemoryAsync(RedisServerProcess server, RedisSessionStore store, RedisCache cache, DistributedCacheEntryOptions cacheOptions, byte[] data, int sessions, CancellationToken cancellationToken)
    {
        Console.WriteLine($"Server memory per idle session ({sessions:N0} sessions of {data.Length} B, INFO used_memory delta after FLUSHALL; 32-hex-char session ids):");
        var ids = Enumerable.Range(0, sessions).Select(_ => Guid.NewGuid().ToString("N")).ToArray();

        var layouts = new (string Name, Func<string, Task> Write)[]
        {
            ("Redis backend (one string: 50 B header + state)", id => store.SetAsync(new SessionKey("app", id), new SessionWrite(data, ItemTimeout)).AsTask()),
            ("RedisCache (hash: data, absexp, sldexp)", id => cache.SetAsync(id, data, cacheOptions)),
        };

        foreach (var (name, write) in layouts)
        {
            cancellationToken.ThrowIfCancellationRequested();
            await RespProbe.SendAsync(server.Port, TimeSpan.FromSeconds(30), "FLUSHALL", "SYNC");
            var before = await UsedMemoryAsync(server);
            foreach (var chunk in ids.Chunk(256))
            {
                await Task.WhenAll(chunk.Select(write));
            }

            var after = await UsedMemoryAsync(server);
            Console.WriteLine($"  {name,-50} {(after - before) / (double)sessions,8:N0} bytes");
        }

        await RespProbe.SendAsync(server.Port, TimeSpan.FromSeconds(30), "FLUSHALL", "SYNC");
    }

    private static async Task<long> UsedMemoryAsync(RedisServerProcess server)
    {
        var info = await RespProbe.SendAsync(server.Port, TimeSpan.FromSeconds(10), "INFO", "memory") ?? "";
        var line = info.Split('\n').First(l => l.StartsWith("used_memory:", StringComparison.Ordinal));
        return long.Parse(line["used_memory:".Length..].Trim(), CultureInfo.InvariantCulture);
    }

    /// <summary>Prints the server's commands per request and their server-side cost (INFO commandstats).</summary>
    private static async Task PrintCommandStatsAsync(RedisServerProcess server, string stack, long requests)
    {
        var stats = await RespProbe.SendAsync(server.Port, TimeSpan.FromSeconds(5), "INFO", "commandstats") ?? "";
        Console.WriteLine($"  {stack}: commands per request (usec per call)");
        foreach (var line in stats.Split('\n').Where(l => l.StartsWith("cmdstat_", StringComparison.Ordinal)))
        {
            var name = line["cmdstat_".Length..line.IndexOf(':', StringComparison.Ordinal)];
            var fields = line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Split(',').Select(f => f.Split('=')).ToDictionary(f => f[0], f => f[1].Trim());
            var calls = long.Parse(fields["calls"], CultureInfo.InvariantCulture);
            if (calls >= requests / 10)
            {
                Console.WriteLine($"    {name,-12} {calls / (double)requests,6:0.00} ({fields["usec_per_call"]} us)");
            }
        }
    }

    /// <summary>CPU time the redis-server process has used so far (user + system, from /proc).</summary>
    private static TimeSpan ServerCpuTime(RedisServerProcess server)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{server.ProcessId}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            return TimeSpan.FromSeconds(ticks / 100.0);
        }
        catch (IOException)
        {
            return TimeSpan.Zero;
        }
    }

    private static async Task<(double Rate, long Count)> MeasureAsync(int callers, TimeSpan duration, Func<int, long, Task> request, CancellationToken cancellationToken)
    {
        var stop = 0;
        long total = 0;
        var watch = Stopwatch.StartNew();
        var tasks = Enumerable.Range(0, callers).Select(caller => Task.Run(async () =>
        {
            long n = 0;
            while (Volatile.Read(ref stop) == 0)
            {
                await request(caller, n);
                n++;
            }

            Interlocked.Add(ref total, n);
        }, cancellationToken)).ToArray();

        await Task.Delay(duration, cancellationToken);
        Volatile.Write(ref stop, 1);
        await Task.WhenAll(tasks);
        return (total / watch.Elapsed.TotalSeconds, total);
    }

    private static void Check(StoreStatus read, StoreStatus write)
    {
        if (read != StoreStatus.Ok || write != StoreStatus.Ok)
        {
            throw new InvalidOperationException($"Unexpected statuses during the benchmark: {read}, {write}.");
        }
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static int IntOption(string[] args, string name, int fallback)
    {
        var index = Array.IndexOf(args, name);
        return index >= 0 && index + 1 < args.Length ? int.Parse(args[index + 1], CultureInfo.InvariantCulture) : fallback;
    }
}
