using System.Globalization;
using SessionRouter.Core.Storage;
using SessionRouter.StateServer.Storage;
using SessionRouter.Testing.Redis;
using StackExchange.Redis;

namespace SessionRouter.Benchmarks.Engine;

/// <summary>
/// Bytes held per idle session with 1 KiB of state after 100,000 sessions: the engine store's own
/// accounting and the managed heap's growth, against redis-server's <c>used_memory</c> growth for the
/// same sessions (ASP.NET Core's RedisCache layout, and a lock-capable hash layout).
/// Run: <c>dotnet run -c Release --project tests/SessionRouter.Benchmarks -- engine-memory [--sessions 100000]</c>.
/// </summary>
internal sealed class EngineMemoryScenario : IBenchmarkScenario
{
    public string Name => "engine-memory";

    public string Description => "Engine: bytes per idle 1 KiB session after 100k sessions (accounting, GC heap) vs redis-server used_memory";

    public async Task<int> RunAsync(string[] args, CancellationToken cancellationToken)
    {
        var sessions = EngineBench.IntArgument(args, "--sessions", 100_000);
        var data = EngineBench.Blob(1024, 2);
        var ids = Enumerable.Range(0, sessions).Select(EngineBench.SessionId).ToArray();
        Console.WriteLine($"engine-memory: {sessions:N0} sessions, 1 KiB state each, {ids[0].Length}-character session ids");

        // Engine: the ids array stays alive on both sides of the measurement, so only what the store holds is counted.
        var before = EngineBench.HeapAfterFullCollection();
        var store = new InMemorySessionStore();
        foreach (var id in ids)
        {
            await store.SetAsync(new SessionKey("bench", id), new SessionWrite(data, EngineBench.ItemTimeout), cancellationToken);
        }

        var after = EngineBench.HeapAfterFullCollection();
        var statistics = store.GetStatistics();
        var heapPerSession = (after - before) / (double)sessions;
        var accountedPerSession = statistics.BytesHeld / (double)sessions;
        GC.KeepAlive(store);
        store.Dispose();

        // Redis: the same sessions, written with pipelined commands.
        double cacheLayout, lockLayout;
        await using (var server = await RedisServerProcess.StartAsync(cancellationToken: cancellationToken))
        using (var connection = await ConnectionMultiplexer.ConnectAsync(server.ConnectionString + ",allowAdmin=true"))
        {
            var database = connection.GetDatabase();
            var redisServer = connection.GetServer(server.ConnectionString);
            var expiry = EngineBench.ItemTimeout;

            var start = await UsedMemoryAsync(redisServer);
            await WriteAllAsync(ids, id => database.HashSetAsync(id, [new HashEntry("absexp", -1), new HashEntry("sldexp", expiry.Ticks), new HashEntry("data", data)]), id => database.KeyExpireAsync(id, expiry));
            var cache = await UsedMemoryAsync(redisServer);
            cacheLayout = (cache - start) / (double)sessions;

            await database.ExecuteAsync("FLUSHALL");
            start = await UsedMemoryAsync(redisServer);
            await WriteAllAsync(ids, id => database.HashSetAsync(id, [new HashEntry("d", data), new HashEntry("v", 1), new HashEntry("l", 0)]), id => database.KeyExpireAsync(id, expiry));
            lockLayout = (await UsedMemoryAsync(redisServer) - start) / (double)sessions;
        }

        Console.WriteLine($"{"store",-58} {"bytes/session",14}");
        Print("engine, its own accounting (BytesHeld)", accountedPerSession);
        Print("engine, managed heap growth (GC.GetTotalMemory, full GC)", heapPerSession);
        Print("redis-server used_memory, ASP.NET Core RedisCache layout", cacheLayout);
        Print("redis-server used_memory, hash d/v/l layout", lockLayout);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"engine heap / redis cache layout: {heapPerSession / cacheLayout:0.00}x"));
        return 0;
    }

    private static async Task WriteAllAsync(string[] ids, Func<RedisKey, Task> write, Func<RedisKey, Task> expire)
    {
        const int batch = 1000;
        for (var i = 0; i < ids.Length; i += batch)
        {
            var pending = new List<Task>(batch * 2);
            foreach (var id in ids.AsSpan(i, Math.Min(batch, ids.Length - i)))
            {
                pending.Add(write(id));
                pending.Add(expire(id));
            }

            await Task.WhenAll(pending);
        }
    }

    private static async Task<long> UsedMemoryAsync(IServer server)
    {
        var info = await server.InfoAsync("memory");
        var value = info.SelectMany(group => group).First(pair => pair.Key == "used_memory").Value;
        return long.Parse(value, CultureInfo.InvariantCulture);
    }

    private static void Print(string store, double bytes) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{store,-58} {bytes,14:N0}"));
}
