using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using SampleFarm.Hosting;
using SampleFarm.Logging;

// The whole farm in one command:
//   dotnet run --project samples/SampleFarm [-- --only gateway,sites,nodes] [--redis] [--config path] [--verbose]
// Starts the state nodes and web servers that the gateway configuration names on loopback, then the gateway.

FarmOptions? options;
try
{
    options = FarmArguments.Parse(args);
}
catch (ArgumentException error)
{
    await Console.Error.WriteLineAsync("SampleFarm: " + error.Message + Environment.NewLine + FarmArguments.Usage);
    return 2;
}

if (options is null)
{
    Console.WriteLine(FarmArguments.Usage);
    return 0;
}

using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.Cancel();
};
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
{
    context.Cancel = true;
    stop.Cancel();
});

var log = options.Log;
Farm farm;
try
{
    farm = await Farm.StartAsync(options, stop.Token);
}
catch (OperationCanceledException)
{
    return 130;
}
catch (Exception error) when (error is not OutOfMemoryException)
{
    log.Warn("the farm could not start: " + error.Message);
    return 1;
}

await using (farm)
{
    foreach (var node in farm.Nodes)
    {
        log.Info($"state node {node.Id,-8} {node.Engine,-8} {node.Address}");
    }

    foreach (var site in farm.Sites)
    {
        log.Info($"web server {site.Name,-8} {site.Address}");
    }

    if (farm.GatewayAddress is { } gateway)
    {
        log.Info($"gateway             {gateway}  (status page: {gateway}_sessionrouter/ui/, metrics: {gateway}_sessionrouter/metrics)");
        log.Info("");
        log.Info($"  Open {gateway} in a browser. Ctrl+C stops everything.");
        log.Info("");
    }
    else
    {
        log.Info("Running without a gateway (--only). Ctrl+C stops everything.");
    }

    try
    {
        await Task.Delay(Timeout.Infinite, stop.Token);
    }
    catch (OperationCanceledException)
    {
        log.Info("stopping: gateway, then web servers, then state nodes…");
    }
}

log.Info("stopped.");
return 0;

/// <summary>The farm's command line.</summary>
internal static class FarmArguments
{
    public const string Usage = """
        Usage: dotnet run --project samples/SampleFarm -- [options]
          --only gateway,sites,nodes   start only these parts (the others run elsewhere)
          --redis                      use config/redis.json: start a local redis-server per Redis node
          --config <path>              another gateway configuration (default: yarp.json, found upwards)
          --verbose                    debug logs
          --help                       this text
        """;

    /// <summary>Null when help was asked for.</summary>
    public static FarmOptions? Parse(string[] args)
    {
        var options = new FarmOptions();
        var level = LogLevel.Information;
        for (var i = 0; i < args.Length; i++)
        {
            var (name, inlineValue) = Split(args[i]);
            switch (name)
            {
                case "--help" or "-h" or "-?":
                    return null;
                case "--redis":
                    options.UseRedis = true;
                    break;
                case "--verbose":
                    level = LogLevel.Debug;
                    break;
                case "--config":
                    options.ConfigPath = inlineValue ?? Next(args, ref i, name);
                    break;
                case "--only":
                    options.Parts = ParseParts(inlineValue ?? Next(args, ref i, name));
                    break;
                default:
                    throw new ArgumentException($"unknown option '{args[i]}'.");
            }
        }

        options.Log = FarmLog.Console(level);
        return options;
    }

    private static FarmParts ParseParts(string text)
    {
        var parts = FarmParts.None;
        foreach (var word in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            parts |= word.ToLowerInvariant() switch
            {
                "gateway" => FarmParts.Gateway,
                "sites" or "site" => FarmParts.Sites,
                "nodes" or "node" => FarmParts.Nodes,
                _ => throw new ArgumentException($"--only takes gateway, sites and nodes; '{word}' is none of them."),
            };
        }

        return parts == FarmParts.None ? throw new ArgumentException("--only needs at least one part.") : parts;
    }

    private static (string Name, string? Value) Split(string arg)
    {
        var equals = arg.IndexOf('=', StringComparison.Ordinal);
        return arg.StartsWith("--", StringComparison.Ordinal) && equals > 0 ? (arg[..equals], arg[(equals + 1)..]) : (arg, null);
    }

    private static string Next(string[] args, ref int i, string name)
        => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{name} needs a value.");
}
