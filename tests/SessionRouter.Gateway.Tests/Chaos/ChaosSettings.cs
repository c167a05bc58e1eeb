using System.Globalization;

namespace SessionRouter.Gateway.Tests.Chaos;

/// <summary>
/// How long and how wide a chaos run is. The test run uses the defaults (about a minute of faults); scripts/chaos/run.sh
/// sets the environment variables for longer runs. Every value is bounded, so no setting makes a run endless.
/// </summary>
internal sealed record ChaosSettings(int ScheduleSeconds, int Sessions, int Seed, int ReplicationFactor, bool Leases)
{
    public const string SecondsVariable = "SESSIONROUTER_CHAOS_SECONDS";
    public const string ReplicasVariable = "SESSIONROUTER_CHAOS_REPLICAS";
    public const string SessionsVariable = "SESSIONROUTER_CHAOS_SESSIONS";
    public const string SeedVariable = "SESSIONROUTER_CHAOS_SEED";
    public const string LeasesVariable = "SESSIONROUTER_CHAOS_LEASES";

    /// <summary>
    /// The lease time while leases are on: below the lock wait, so a request whose revocation was lost (a node's
    /// watch broken by a crash) still gets the session when the lease expires instead of being refused.
    /// </summary>
    public static readonly TimeSpan LeaseTime = TimeSpan.FromSeconds(3);

    /// <summary>How long the gateway waits for a session's lock (LockWaitTimeout).</summary>
    public static readonly TimeSpan LockWait = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The lock timeout (LockTimeout), far below the default 110 s: a lock left behind by a fault is taken over after
    /// it, so a stuck session shows within the run, and the final check's bound can wait it out.
    /// </summary>
    public static readonly TimeSpan LockTimeout = TimeSpan.FromSeconds(15);

    /// <summary>
    /// The sessions' idle timeout, which is also how long a replaced map is handed over: after it the engine of a
    /// removed node can be stopped. Every session is used several times a second, so none expires.
    /// </summary>
    public static readonly TimeSpan IdleTimeout = TimeSpan.FromMinutes(2);

    /// <summary>How long a crashed node stays dead before it restarts with empty memory.</summary>
    public static readonly TimeSpan CrashDownFor = TimeSpan.FromSeconds(4);

    /// <summary>How long a hung node stays stopped (SIGSTOP) before SIGCONT.</summary>
    public static readonly TimeSpan HangFor = TimeSpan.FromSeconds(5);

    /// <summary>The quiet time after each fault has settled, in which no request may fail.</summary>
    public static readonly TimeSpan QuietFor = TimeSpan.FromSeconds(5);

    /// <summary>How long every gateway must report every node of the map healthy before a fault counts as over.</summary>
    public static readonly TimeSpan SettledFor = TimeSpan.FromSeconds(3);

    /// <summary>The longest the farm may take to settle after a fault before the run fails.</summary>
    public static readonly TimeSpan SettleBound = TimeSpan.FromSeconds(90);

    /// <summary>
    /// At the end each session must answer 200 within this: time for a lock a fault left behind to reach its
    /// timeout and for the next request to wait for it, and then some for a slow machine.
    /// </summary>
    public static readonly TimeSpan FinalBound = LockTimeout + LockWait + TimeSpan.FromSeconds(10);

    /// <summary>Every client request's own bound; a request that takes longer counts as failed ("timeout").</summary>
    public static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(30);

    /// <summary>The pause of each session between two requests, drawn anew each time (milliseconds).</summary>
    public const int MinThinkMs = 20;
    public const int MaxThinkMs = 80;

    /// <summary>The share of requests that go to the read-only route (one in this many).</summary>
    public const int ReadOnlyOneIn = 4;

    /// <summary>The whole run's bound: the schedule, its last fault and settle, the start and the final check.</summary>
    public TimeSpan OverallBound => TimeSpan.FromSeconds(ScheduleSeconds) + TimeSpan.FromMinutes(5);

    public static ChaosSettings FromEnvironment() => new(
        Read(SecondsVariable, 60, 20, 3600),
        Read(SessionsVariable, 32, 1, 256),
        Read(SeedVariable, Random.Shared.Next(1, 1_000_000), 0, int.MaxValue),

        // The map never has fewer than three nodes, so R = 3 always fits.
        Read(ReplicasVariable, 2, 2, 3),

        // Leases on unless SESSIONROUTER_CHAOS_LEASES=0: clients switch gateway at random, their worst case.
        Read(LeasesVariable, 1, 0, 1) == 1);

    private static int Read(string variable, int fallback, int min, int max)
    {
        var text = Environment.GetEnvironmentVariable(variable);
        if (string.IsNullOrWhiteSpace(text))
        {
            return fallback;
        }

        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
        {
            throw new ArgumentOutOfRangeException(variable, text, $"{variable} must be a whole number from {min} to {max}.");
        }

        return value;
    }
}
