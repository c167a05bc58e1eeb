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
/// StackExchange.Redis, one round trip each). Reported as ratios to Redis.
/// Run: <c>dotnet build -c Release src/SessionRouter.StateServer.Host &amp;&amp; dotnet run -c Release --project tests/SessionRouter.Benchmarks -- engine-throughput [--seconds 10] [--callers 32] [--no-process]</c>.
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

    public string Description => "Engine: lock-get + set-release pairs/s, 32 callers, client (h2, h1) and in process vs redis-server Lua";

    public async Task<int> RunAsync(string[] args, CancellationToken cancellationToken)
    {
        var seconds = EngineBench.IntArgument(args, "--seconds", 10);
        var callers = EngineBench.IntArgument(args, "--callers", 32);
        const int sessionsPerCaller = 16;
        var duration = TimeSpan.FromSeconds(seconds);
        var warmup = TimeSpan.FromSeconds(2);
        var data = EngineBench.Blob(1024, 1);
        var keys = Enumerable.Range(0, callers * sessionsPerCaller).Select(i => new SessionKey("bench", EngineBench.SessionId(i))).ToArray();
        var lockRequest = new LockRequest(TimeSpan.FromSeconds(1));

        Console.WriteLine($"engine-throughput: {callers} callers, {sessionsPerCaller} sessions each, 1 KiB state, {seconds} s per run after {warmup.TotalSeconds} s warm-up, {Environment.ProcessorCount} cores");

        async Task<double> RunStoreAsync(ISessionStore store)
        {
            foreach (var key in keys)
            {
                await store.SetAsync(key, new SessionWrite(data, EngineBench.ItemTimeout), cancellationToken);
            }

            return await EngineBench.MeasureRateAsync(callers, warmup, duration, async (caller, i) =>
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
            }, cancellationToken);
        }

        double http2, http2NoBreaker, http1, inProcess, redis, transport, http2Process = double.NaN, http1Process = double.NaN;
        await using (var node = await StateServerRunner.StartAsync(new StateServerOptions { Port = 0, Http2Port = 0 }, cancellationToken: cancellationToken))
        {
            // The transport's ceiling: two bare HTTP/2 requests per pair (health endpoint), no resilience pipeline.
            using (var bare = new HttpClient(new SocketsHttpHandler { EnableMultipleHttp2Connections = true, UseProxy = false })
            {
                DefaultRequestVersion = System.Net.HttpVersion.Version20,
                DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
            })
            {
                var health = new Uri(node.BaseAddress, "/health");
                transport = await EngineBench.MeasureRateAsync(callers, warmup, duration, async (_, _) =>
                {
                    using (await bare.GetAsync(health, CancellationToken.None))
                    {
                    }

                    using (await bare.GetAsync(health, CancellationToken.None))
                    {
                    }
                }, cancellationToken);
            }

            using (var client = new StateServerClient(new StateServerClientOptions { NodeId = "bench", BaseAddress = node.BaseAddress }))
            {
                http2 = await RunStoreAsync(client);
            }

            using (var client = new StateServerClient(new StateServerClientOptions { NodeId = "bench", BaseAddress = node.BaseAddress, EnableCircuitBreaker = false }))
            {
                http2NoBreaker = await RunStoreAsync(client);
            }

            using (var client = new StateServerClient(new StateServerClientOptions { NodeId = "bench", BaseAddress = node.ClassicAddress, UseHttp2 = false }))
            {
                http1 = await RunStoreAsync(client);
            }
        }

        if (Array.IndexOf(args, "--no-process") < 0)
        {
            // The engine as its own process, as redis-server is.
            await using var engine = await EngineProcess.StartAsync(cancellationToken);
            using (var client = new StateServerClient(new StateServerClientOptions { NodeId = "bench", BaseAddress = engine.Http2Address }))
            {
                http2Process = await RunStoreAsync(client);
            }

            using (var client = new StateServerClient(new StateServerClientOptions { NodeId = "bench", BaseAddress = engine.ClassicAddress, UseHttp2 = false }))
            {
                http1Process = await RunStoreAsync(client);
            }
        }

        using (var store = new InMemorySessionStore())
        {
            inProcess = await RunStoreAsync(store);
        }

        await using (var server = await RedisServerProcess.StartAsync(cancellationToken: cancellationToken))
        using (var connection = await ConnectionMultiplexer.ConnectAsync(server.ConnectionString))
        {
            var database = connection.GetDatabase();
            var expiry = (long)EngineBench.ItemTimeout.TotalMilliseconds;
            var redisKeys = keys.Select(k => (RedisKey)$"{k.Application}/{k.SessionId}").ToArray();
            RedisKey counter = "bench/lock-counter";
            foreach (var key in redisKeys)
            {
                await database.HashSetAsync(key, [new HashEntry("d", data), new HashEntry("v", 1), new HashEntry("l", "0")]);
            }

            redis = await EngineBench.MeasureRateAsync(callers, warmup, duration, async (caller, i) =>
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
            }, cancellationToken);
        }

        Console.WriteLine($"{"path",-58} {"pairs/s",12} {"vs redis",10}");
        Print("bare HttpClient h2c, 2 health GETs (ceiling)", transport, redis);
        Print("engine process, StateServerClient HTTP/2 (h2c)", http2Process, redis);
        Print("engine process, StateServerClient HTTP/1.1", http1Process, redis);
        Print("engine in the benchmark process, client HTTP/2", http2, redis);
        Print("engine in the benchmark process, client HTTP/2, no breaker", http2NoBreaker, redis);
        Print("engine in the benchmark process, client HTTP/1.1", http1, redis);
        Print("engine store in process (no network)", inProcess, redis);
        Print("redis-server, 2 Lua scripts (SE.Redis)", redis, redis);
        return 0;
    }

    private static void Print(string path, double rate, double redis) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{path,-58} {rate,12:N0} {rate / redis,9:0.00}x"));
}
