using System.Diagnostics;
using System.Globalization;

namespace SessionRouter.Benchmarks.Engine;

/// <summary>Small helpers shared by the engine scenarios.</summary>
internal static class EngineBench
{
    public static TimeSpan ItemTimeout { get; } = TimeSpan.FromMinutes(20);

    public static int IntArgument(string[] args, string name, int fallback)
    {
        var index = Array.IndexOf(args, name);
        return index >= 0 && index + 1 < args.Length ? int.Parse(args[index + 1], CultureInfo.InvariantCulture) : fallback;
    }

    public static byte[] Blob(int length, int seed)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    /// <summary>Session ids as the gateway makes them: 128 random bits, 32 hex characters.</summary>
    /// <summary>The managed heap after full, compacting collections: what is still referenced.</summary>
    public static long HeapAfterFullCollection()
    {
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    public static string SessionId(int index) => Guid.CreateVersion7().ToString("N")[..24] + index.ToString("x8", CultureInfo.InvariantCulture);

    /// <summary>Runs <paramref name="callers"/> loops of <paramref name="operation"/>; counts completions after the warm-up.</summary>
    public static async Task<double> MeasureRateAsync(int callers, TimeSpan warmup, TimeSpan duration, Func<int, long, Task> operation, CancellationToken cancellationToken) =>
        (await MeasureAsync(callers, warmup, duration, operation, [], cancellationToken)).Rate;

    /// <summary>
    /// Runs <paramref name="callers"/> loops of <paramref name="operation"/>; counts completions after the
    /// warm-up and the CPU time each of <paramref name="processIds"/> spent in the same window.
    /// </summary>
    public static async Task<Measurement> MeasureAsync(int callers, TimeSpan warmup, TimeSpan duration, Func<int, long, Task> operation, int[] processIds, CancellationToken cancellationToken)
    {
        long completed = 0;
        var measuring = false;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var loops = Enumerable.Range(0, callers).Select(caller => Task.Run(async () =>
        {
            for (long i = 0; !stop.IsCancellationRequested; i++)
            {
                await operation(caller, i);
                if (Volatile.Read(ref measuring))
                {
                    Interlocked.Increment(ref completed);
                }
            }
        })).ToArray();

        await Task.Delay(warmup, cancellationToken);
        var cpuBefore = processIds.Select(ProcessCpu.Of).ToArray();
        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: false);
        Volatile.Write(ref measuring, true);
        var watch = Stopwatch.StartNew();
        await Task.Delay(duration, cancellationToken);
        var count = Interlocked.Read(ref completed);
        var elapsed = watch.Elapsed;
        var cpuAfter = processIds.Select(ProcessCpu.Of).ToArray();
        var allocated = GC.GetTotalAllocatedBytes(precise: false) - allocatedBefore;
        await stop.CancelAsync();
        await Task.WhenAll(loops);
        var cpuPerOperation = cpuAfter.Select((after, i) => count == 0 ? double.NaN : (after - cpuBefore[i]).TotalMicroseconds / count).ToArray();
        return new Measurement(count / elapsed.TotalSeconds, cpuPerOperation, count == 0 ? double.NaN : (double)allocated / count);
    }

    public static double Percentile(List<double> sorted, double p) => sorted[Math.Min(sorted.Count - 1, (int)(p * sorted.Count))];
}

/// <summary>Operations per second, per watched process CPU microseconds per operation, and bytes this process allocated per operation.</summary>
internal sealed record Measurement(double Rate, double[] CpuMicrosecondsPerOperation, double AllocatedBytesPerOperation);
