using System.Globalization;
using SessionRouter.Core.Storage;
using SessionRouter.StateServer.Client;
using SessionRouter.StateServer.Hosting;
using SessionRouter.StateServer.Storage;
using SessionRouter.Testing.Redis;
using StackExchange.Redis;

namespace SessionRouter.Benchmarks.Engine;

/// <summary>
/// Lock-get + set-release pairs per second with 32 concurrent callers (each on its own sessions, 1 KiB
/// state): through <see cref="StateServerClient"/> to a real engine node (HTTP/2 and HTTP/1.1), in
/// process, and the same pattern on a real redis-server started here (two Lua scripts via
/// StackExchange.Redis, one round trip each). Reported as ratios to Redis, with the CPU time each
/// process spent per pair (the steadier figure on a shared machine).
/// Run: <c>dotnet build -c Release src/SessionRouter.StateServer.Host &amp;&amp; dotnet run -c Release --project tests/SessionRouter.Benchmarks -- engine-throughput [--seconds 10] [--warmup 2] [--callers 32] [--rounds 1] [--in-flight 4] [--only h2proc,h2single,redis] [--engine-env DOTNET_gcServer=1] [--no-process]</c>.
/// </summary>
internal sealed class EngineThroughputScenario : IBenchmarkScenario
{
    private const string LockGetScript = """
        local f = redis.call('HMGET', KEYS[1], 'l', 'd', 'v')
        if not f[1] then return false end
        if f[1] ~= '0' then return {0, f[1]} end
        local id = redis.call('INCR', KEYS[2])
        redis.call('HSET', KEYS[1], 'l', id)
        redis.call('PEXPIRE', KEYS[1], ARGV[1])
        return {1, id, f[2], f[3]}
        """;

    private const string SetReleaseScript = """
        if redis.call('HGET', KEYS[1], 'l') ~= ARGV[1] then return 0 end
        local v = redis.call('HINCRBY', KEYS[1], 'v', 1)
        redis.call('HSET', KEYS[1], 'd', ARGV[2], 'l', '0')
        redis.call('PEXPIRE', KEYS[1], ARGV[3])
        return v
        """;

    public string Name => "engine-throughput";

    public string Description => "Engine: lock-get + set-release pairs/s and CPU per pair, 32 callers, client (h2, h1) and in process vs redis-server Lua";

    /// <summary>The paths, in run order; <c>--only</c> picks some by key.</summary>
    private static readonly (string Key, string Label)[] Paths =
    [
        ("bare", "bare HttpClient h2c, 2 health GETs (ceiling)"),
        ("h2proc", "engine process, StateServerClient HTTP/2 (h2c), batching"),
        ("h2single", "engine process, StateServerClient HTTP/2, no batching"),
        ("h1proc", "engine process, StateServerClient HTTP/1.1"),
        ("h2", "engine in the benchmark process, client HTTP/2"),
        ("h2nobreaker", "engine in the benchmark process, client HTTP/2, no breaker"),
        ("h1", "engine in the benchmark process, client HTTP/1.1"),
        ("store", "engine store in process (no network)"),
        ("redis", "redis-server, 2 Lua scripts (SE.Redis)"),
    ];

    public async Task<int> RunAsync(string[] args, CancellationToken cancellationToken)
    {
        var seconds = EngineBench.IntArgument(args, "--seconds", 10);
        var callers = EngineBench.IntArgument(args, "--callers", 32);
        var rounds = EngineBench.IntArgument(args, "--rounds", 1);
        var inFlight = EngineBench.IntArgument(args, "--in-flight", new StateServerClientOptions().MaxRequestsInFlight);
        var onlyIndex = Array.IndexOf(args, "--only");
        var selected = onlyIndex >= 0 && onlyIndex + 1 < args.Length
            ? args[onlyIndex + 1].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.OrdinalIgnoreCase)
            : Paths.Select(p => p.Key).Where(k => Array.IndexOf(args, "--no-process") < 0 || !k.EndsWith("proc", StringComparison.Ordinal)).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var unknown = selected.Where(k => !Paths.Any(p => p.Key.Equals(k, StringComparison.OrdinalIgnoreCase))).ToArray();
        if (unknown.Length > 0)
        {
            Console.Error.WriteLine($"Unknown path(s) {string.Join(", ", unknown)}; known: {string.Join(", ", Paths.Select(p => p.Key))}");
            return 2;
        }

        // --engine-env NAME=VALUE (repeatable): runtime settings for the engine host process (h2proc, h1proc).
        var engineEnvironment = args.Select((a, i) => (a, i))
            .Where(x => x.a == "--engine-env" && x.i + 1 < args.Length)
            .Select(x => args[x.i + 1].Split('=', 2))
            .ToDictionary(kv => kv[0], kv => kv.Length > 1 ? kv[1] : string.Empty, StringComparer.Ordinal);
        const int sessionsPerCaller = 16;
        var duration = TimeSpan.FromSeconds(seconds);
        var warmup = TimeSpan.FromSeconds(EngineBench.IntArgument(args, "--warmup", 2));
        var data = EngineBench.Blob(1024, 1);
        var keys = Enumerable.Range(0, callers * sessionsPerCaller).Select(i => new SessionKey("bench", EngineBench.SessionId(i))).ToArray();
        var lockRequest = new LockRequest(TimeSpan.FromSeconds(1));
        var self = Environment.ProcessId;

        Console.WriteLine($"engine-throughput: {callers} callers, {sessionsPerCaller} sessions each, batching bound {inFlight} in flight, 1 KiB state, {seconds} s per run after {warmup.TotalSeconds} s warm-up, {rounds} round(s), {Environment.ProcessorCount} cores");

        async Task<Measurement> RunStoreAsync(ISessionStore store, int[] processIds)
        {
            foreach (var key in keys)
            {
                await store.SetAsync(key, new SessionWrite(data, EngineBench.ItemTimeout), cancellationToken);
            }

            return await EngineBench.MeasureAsync(callers, warmup, duration, async (caller, i) =>
            {
                var key = keys[(caller * sessionsPerCaller) + (int)(i % sessionsPerCaller)];
                var read = await store.GetExclusiveAsync(key, lockRequest, CancellationToken.None);
                if (read.Status != StoreStatus.Ok)
                {
                    throw new InvalidOperationException($"lock-get answered {read.Status}");
                }

                var write = await store.SetAsync(key, new SessionWrite(data, EngineBench.ItemTimeout, read.Lock.LockId), CancellationToken.None);
                if (write.Status != StoreStatus.Ok)
                {
                    throw new InvalidOperationException($"set-release answered {write.Status}");
                }
            }, processIds, cancellationToken);
        }

        // One engine client per path, with the bound of --in-flight; prints how the operations travelled.
        async Task<Measurement> RunClientAsync(string path, Uri address, bool http2, bool batching, bool breaker, int[] processIds)
        {
            using var client = new StateServerClient(new StateServerClientOptions
            {
                NodeId = "bench",
                BaseAddress = address,
                UseHttp2 = http2,
                EnableBatching = batching,
                MaxRequestsInFlight = inFlight,
                EnableCircuitBreaker = breaker,
            });
            var measured = await RunStoreAsync(client, processIds);
            var (batches, batched, direct) = client.BatchCounts;
            if (batches + direct > 0)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {path}: {batched + direct:N0} operations, {(double)batched / (batched + direct):P0} in {batches:N0} batches (mean {(batches == 0 ? 0 : (double)batched / batches):0.0} per batch), {direct:N0} alone"));
            }

            return measured;
        }

        async Task<Measurement> RunPathAsync(string path)
        {
            switch (path)
            {
                case "bare":
                {
                    await using var node = await StateServerRunner.StartAsync(new StateServerOptions { Port = 0, Http2Port = 0 }, cancellationToken: cancellationToken);

                    // The transport's ceiling: two bare HTTP/2 requests per pair (health endpoint), no resilience pipeline.
                    using var bare = new HttpClient(new SocketsHttpHandler { EnableMultipleHttp2Connections = true, UseProxy = false })
                    {
                        DefaultRequestVersion = System.Net.HttpVersion.Version20,
                        DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
                    };
                    var health = new Uri(node.BaseAddress, "/health");
                    return await EngineBench.MeasureAsync(callers, warmup, duration, async (_, _) =>
                    {
                        using (await bare.GetAsync(health, CancellationToken.None))
                        {
                        }

                        using (await bare.GetAsync(health, CancellationToken.None))
                        {
                        }
                    }, [self], cancellationToken);
                }

                case "h2proc" or "h2single" or "h1proc":
                {
                    // The engine as its own process, as redis-server is.
                    await using var engine = await EngineProcess.StartAsync(cancellationToken, engineEnvironment);
                    var http2 = path != "h1proc";
                    return await RunClientAsync(path, http2 ? engine.Http2Address! : engine.ClassicAddress, http2, batching: path != "h2single", breaker: true, [self, engine.ProcessId]);
                }

                case "h2" or "h2nobreaker" or "h1":
                {
                    await using var node = await StateServerRunner.StartAsync(new StateServerOptions { Port = 0, Http2Port = 0 }, cancellationToken: cancellationToken);
                    var http2 = path != "h1";
                    return await RunClientAsync(path, http2 ? node.BaseAddress : node.ClassicAddress, http2, batching: true, breaker: path != "h2nobreaker", [self]);
                }

                case "store":
                {
                    using var store = new InMemorySessionStore();
                    return await RunStoreAsync(store, [self]);
                }

                default:
                    return await RunRedisAsync(callers, warmup, duration, keys, sessionsPerCaller, data, cancellationToken);
            }
        }

        var results = new Dictionary<string, List<Measurement>>(StringComparer.Ordinal);
        for (var round = 0; round < rounds; round++)
        {
            foreach (var (key, _) in Paths)
            {
                if (selected.Contains(key))
                {
                    var measurement = await RunPathAsync(key);
                    if (!results.TryGetValue(key, out var list))
                    {
                        results[key] = list = [];
                    }

                    list.Add(measurement);
                }
            }
        }

        Console.WriteLine($"{"path",-60} {"pairs/s",10} {"vs redis",9}  CPU µs/pair: {"client",7} {"server",7}  {"B/pair",7}");
        for (var round = 0; round < rounds; round++)
        {
            if (rounds > 1)
            {
                Console.WriteLine($"round {round + 1}");
            }

            var redis = results.TryGetValue("redis", out var redisRuns) ? redisRuns[round].Rate : double.NaN;
            foreach (var (key, label) in Paths)
            {
                if (results.TryGetValue(key, out var runs))
                {
                    Print(label, runs[round], redis);
                }
            }
        }

        if (rounds > 1)
        {
            // Medians over the rounds; each round's ratio compares runs taken minutes apart at most.
            Console.WriteLine($"median of {rounds} rounds: {"pairs/s",10} {"vs redis",9}  CPU µs/pair: {"client",7} {"server",7}");
            foreach (var (key, label) in Paths)
            {
                if (!results.TryGetValue(key, out var runs))
                {
                    continue;
                }

                var ratios = results.TryGetValue("redis", out var redisRuns) ? runs.Select((m, i) => m.Rate / redisRuns[i].Rate).ToList() : [double.NaN];
                var client = Median(runs.Select(m => m.CpuMicrosecondsPerOperation.ElementAtOrDefault(0)).ToList());
                var server = runs[0].CpuMicrosecondsPerOperation.Length > 1 ? Median(runs.Select(m => m.CpuMicrosecondsPerOperation[1]).ToList()).ToString("0.0", CultureInfo.InvariantCulture) : "(same)";
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{label,-60} {Median(runs.Select(m => m.Rate).ToList()),10:N0} {Median(ratios),8:0.00}x  {"",12} {client,7:0.0} {server,7}"));
            }
        }

        return 0;
    }

    private static double Median(List<double> values)
    {
        values.Sort();
        return values.Count % 2 == 1 ? values[values.Count / 2] : (values[(values.Count / 2) - 1] + values[values.Count / 2]) / 2;
    }

    private static async Task<Measurement> RunRedisAsync(int callers, TimeSpan warmup, TimeSpan duration, SessionKey[] keys, int sessionsPerCaller, byte[] data, CancellationToken cancellationToken)
    {
        await using var server = await RedisServerProcess.StartAsync(cancellationToken: cancellationToken);
        using var connection = await ConnectionMultiplexer.ConnectAsync(server.ConnectionString);
        var database = connection.GetDatabase();
        var expiry = (long)EngineBench.ItemTimeout.TotalMilliseconds;
        var redisKeys = keys.Select(k => (RedisKey)$"{k.Application}/{k.SessionId}").ToArray();
        RedisKey counter = "bench/lock-counter";
        foreach (var key in redisKeys)
        {
            await database.HashSetAsync(key, [new HashEntry("d", data), new HashEntry("v", 1), new HashEntry("l", "0")]);
        }

        return await EngineBench.MeasureAsync(callers, warmup, duration, async (caller, i) =>
        {
            var key = redisKeys[(caller * sessionsPerCaller) + (int)(i % sessionsPerCaller)];
            var read = (RedisResult[])(await database.ScriptEvaluateAsync(LockGetScript, [key, counter], [expiry]))!;
            if ((int)read[0] != 1)
            {
                throw new InvalidOperationException("redis lock-get found the session locked");
            }

            var version = (long)await database.ScriptEvaluateAsync(SetReleaseScript, [key], [(long)read[1], data, expiry]);
            if (version == 0)
            {
                throw new InvalidOperationException("redis set-release refused");
            }
        }, [Environment.ProcessId, server.ProcessId], cancellationToken);
    }

    private static void Print(string path, Measurement measurement, double redis)
    {
        var cpu = measurement.CpuMicrosecondsPerOperation;
        var client = cpu.Length > 0 ? cpu[0].ToString("0.0", CultureInfo.InvariantCulture) : "-";
        var server = cpu.Length > 1 ? cpu[1].ToString("0.0", CultureInfo.InvariantCulture) : "(same)";
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{path,-60} {measurement.Rate,10:N0} {measurement.Rate / redis,8:0.00}x  {"",12} {client,7} {server,7}  {measurement.AllocatedBytesPerOperation,7:0}"));
    }
}
