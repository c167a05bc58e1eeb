using SampleFarm.Logging;

namespace SampleFarm.Hosting;

/// <summary>The parts of a farm.</summary>
[Flags]
public enum FarmParts
{
    None = 0,
    Nodes = 1,
    Sites = 2,
    Gateway = 4,
    All = Nodes | Sites | Gateway,
}

/// <summary>What <see cref="Farm.StartAsync"/> starts.</summary>
public sealed class FarmOptions
{
    /// <summary>The gateway configuration; null: <c>yarp.json</c> (or <c>config/redis.json</c> with <see cref="UseRedis"/>) found upwards from the current directory.</summary>
    public string? ConfigPath { get; set; }

    /// <summary>The parts to start (<c>--only gateway,sites,nodes</c>); the others are expected to run elsewhere.</summary>
    public FarmParts Parts { get; set; } = FarmParts.All;

    /// <summary>Use the Redis example configuration and start a local <c>redis-server</c> per Redis node.</summary>
    public bool UseRedis { get; set; }

    /// <summary>
    /// Ignore the ports in the configuration: every part listens on a free loopback port and the gateway reads a
    /// rewritten copy of the configuration (tests; several farms side by side).
    /// </summary>
    public bool UseFreePorts { get; set; }

    /// <summary>Where the farm's prefixed log lines go.</summary>
    public FarmLog Log { get; set; } = FarmLog.Null;
}
