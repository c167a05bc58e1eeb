using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using SessionRouter.Benchmarks.Engine;
using SessionRouter.Core.Storage;
using SessionRouter.Gateway.Diagnostics;
using SessionRouter.Gateway.Leases;

namespace SessionRouter.Benchmarks.Gateway;

/// <summary>
/// The gateway's memory per idle leased session with 1 KiB of state, after 100,000 leases: the lease table's own
/// accounting (Leases:MaxBytes counts against it) and the managed heap's growth. The leases are taken the way a
/// request takes them (enter the session's in-process lock, hold the state, exit); the session ids stay alive on
/// both sides of the measurement, so only what the table holds is counted.
/// Run: <c>dotnet run -c Release --project tests/SessionRouter.Benchmarks -- gateway-lease-memory [--sessions 100000]</c>.
/// </summary>
internal sealed class LeaseMemoryScenario : IBenchmarkScenario
{
    public string Name => "gateway-lease-memory";

    public string Description => "Gateway: bytes per idle leased 1 KiB session after 100k leases (lease table accounting, GC heap)";

    public async Task<int> RunAsync(string[] args, CancellationToken cancellationToken)
    {
        var sessions = EngineBench.IntArgument(args, "--sessions", 100_000);
        var keys = Enumerable.Range(0, sessions).Select(i => new SessionKey("bench", EngineBench.SessionId(i))).ToArray();
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var metrics = new GatewayMetrics(services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>());
        Console.WriteLine($"gateway-lease-memory: {sessions:N0} leases, 1 KiB state each, {keys[0].SessionId.Length}-character session ids");

        var before = EngineBench.HeapAfterFullCollection();

        // Nothing is released in this measurement: the releaser of locks a failed release leaves behind is never called.
        var table = new LeaseTable(metrics, orphanedLocks: null!, NullLogger<LeaseTable>.Instance, TimeProvider.System);
        var validUntil = TimeProvider.System.GetTimestamp() + (TimeProvider.System.TimestampFrequency * 3600);
        var lockId = 1L;
        foreach (var key in keys)
        {
            var lease = (await table.EnterAsync(key, TimeSpan.Zero))!;
            lease.StartLock(lockId++);
            lease.Node = 0;

            // A save's state: its own buffer, as the gateway decodes each response's state into a new one.
            table.Hold(lease, EngineBench.Blob(1024, (int)lockId), validUntil, long.MaxValue);
            await table.ExitAsync(lease);
        }

        var after = EngineBench.HeapAfterFullCollection();
        GC.KeepAlive(table);
        GC.KeepAlive(keys);
        var heap = (after - before) / (double)sessions;
        var accounted = table.Bytes / (double)sessions;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{"lease table",-58} {"bytes/session",14}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{"its own accounting (Leases:MaxBytes counts this)",-58} {accounted,14:N0}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{"managed heap growth (GC.GetTotalMemory, full GC)",-58} {heap,14:N0}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"leases held: {table.Count:N0}; goal: at most 2,048 bytes per idle 1 KiB session"));
        return 0;
    }
}
