using System.Diagnostics;
using System.Globalization;

namespace SessionRouter.Testing.Fuzzing;

/// <summary>
/// Runs a seeded fuzz case again and again, up to a number of iterations or a time budget, whichever comes
/// first, so a fuzz test belongs in the ordinary test run: a busy machine runs fewer cases, never a slower
/// test. Every iteration gets its own <see cref="Random"/> derived from the seed and its number, so a failure
/// names the one case to replay (<c>SESSIONROUTER_FUZZ_SEED</c> sets the seed of a run).
/// </summary>
public static class FuzzLoop
{
    /// <summary>The seed of this run: <c>SESSIONROUTER_FUZZ_SEED</c> when set, else a fixed one, so runs repeat.</summary>
    public static int Seed { get; } =
        int.TryParse(Environment.GetEnvironmentVariable("SESSIONROUTER_FUZZ_SEED"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var seed) ? seed : 20261203;

    /// <summary>
    /// Runs <paramref name="iteration"/> until <paramref name="maxIterations"/> ran or <paramref name="budget"/>
    /// elapsed, but at least <paramref name="minIterations"/> times whatever the clock says, so that what a test
    /// asserts about the cases as a whole holds on a slow machine too; returns how many ran.
    /// </summary>
    /// <exception cref="FuzzCaseException">An iteration failed; the message names the seed and the iteration, the inner exception why.</exception>
    public static async Task<int> RunAsync(int maxIterations, TimeSpan budget, Func<Random, int, Task> iteration, int minIterations = 1)
    {
        ArgumentNullException.ThrowIfNull(iteration);
        var clock = Stopwatch.StartNew();
        var ran = 0;
        while (ran < maxIterations && (ran < minIterations || clock.Elapsed < budget))
        {
            // Not HashCode.Combine: it is seeded per process, and a case must replay in another run.
            var random = new Random(unchecked((Seed * 1_000_003) + ran));
            try
            {
                await iteration(random, ran).ConfigureAwait(false);
            }
            catch (Exception error)
            {
                throw new FuzzCaseException(string.Create(CultureInfo.InvariantCulture, $"Fuzz case {ran} of seed {Seed} failed: {error.Message}"), error);
            }

            ran++;
        }

        return ran;
    }

    /// <summary>The synchronous form of <see cref="RunAsync"/>.</summary>
    public static int Run(int maxIterations, TimeSpan budget, Action<Random, int> iteration, int minIterations = 1)
    {
        ArgumentNullException.ThrowIfNull(iteration);
        return RunAsync(
            maxIterations,
            budget,
            (random, i) =>
            {
                iteration(random, i);
                return Task.CompletedTask;
            },
            minIterations).GetAwaiter().GetResult();
    }
}

/// <summary>A fuzz case failed; the message names the seed and the iteration to replay.</summary>
public sealed class FuzzCaseException : Exception
{
    public FuzzCaseException()
    {
    }

    public FuzzCaseException(string message)
        : base(message)
    {
    }

    public FuzzCaseException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
