using System.Globalization;
using SessionRouter.Cli.Configuration;
using SessionRouter.Core.Configuration;
using SessionRouter.Core.Partitioning;

namespace SessionRouter.Cli;

/// <summary>
/// The <c>sessionrouter</c> tool: inspects a partition map before anyone applies it.
/// Exit codes: 0 success, 1 the configuration has errors, 2 the command line is wrong.
/// </summary>
internal static class CliApp
{
    public const string DefaultConfigPath = "yarp.json";
    public const int Success = 0;
    public const int InvalidConfiguration = 1;
    public const int UsageError = 2;

    private const string Usage = """
        Usage:
          sessionrouter where <session-id> [--config yarp.json]   preference list of a session, primary first
          sessionrouter diff <old.json> <new.json>                 share of sessions an edit of the map moves, per node
          sessionrouter check [yarp.json]                          validate a configuration file, naming each faulty field
        The default configuration file is ./yarp.json.
        """;

    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            (args.Length == 0 ? error : output).WriteLine(Usage);
            return args.Length == 0 ? UsageError : Success;
        }

        var rest = args[1..];
        return args[0] switch
        {
            "where" => Where(rest, output, error),
            "diff" => Diff(rest, output, error),
            "check" => Check(rest, output, error),
            _ => Fail(error, $"Unknown command '{args[0]}'."),
        };
    }

    private static int Where(string[] args, TextWriter output, TextWriter error)
    {
        string? sessionId = null;
        var configPath = DefaultConfigPath;
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] is "--config" or "-c")
            {
                if (++i >= args.Length)
                {
                    return Fail(error, "--config needs a file path.");
                }

                configPath = args[i];
            }
            else if (args[i] == "--" && sessionId is null && i + 1 < args.Length)
            {
                sessionId = args[++i];
            }
            else if (sessionId is null)
            {
                // Session ids are base64url and may start with '-': anything that is not an option is the id.
                sessionId = args[i];
            }
            else
            {
                return Fail(error, $"Unexpected argument '{args[i]}'.");
            }
        }

        if (string.IsNullOrEmpty(sessionId))
        {
            return Fail(error, "where needs a session id.");
        }

        var config = LoadValid(configPath, error);
        if (config is null)
        {
            return InvalidConfiguration;
        }

        var resolver = BuildResolver(config.Options!);
        var list = new int[resolver.Nodes.Count];
        var count = resolver.GetPreferenceList(sessionId, list);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"session {sessionId}: hash 0x{PartitionResolver.HashSessionId(sessionId):x16}"));
        for (var i = 0; i < count; i++)
        {
            var node = resolver.Nodes[list[i]];
            var options = config.Options!.Nodes.First(n => n.Id == node.Id);

            // The session is served by the first healthy node of the list; the others take it over in order.
            var role = i == 0 ? "primary" : node.Weight > 0 ? "failover" : "fallback";
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{i + 1,3}. {node.Id,-24} {role,-9} weight {node.Weight,-6} {Describe(options)}"));
        }

        return Success;
    }

    private static int Diff(string[] args, TextWriter output, TextWriter error)
    {
        if (args.Length != 2)
        {
            return Fail(error, "diff needs two files: <old.json> <new.json>.");
        }

        var before = LoadValid(args[0], error);
        var after = LoadValid(args[1], error);
        if (before is null || after is null)
        {
            return InvalidConfiguration;
        }

        var diff = PartitionMapDiff.Compare(BuildResolver(before.Options!), BuildResolver(after.Options!));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{Percent(diff.MovedFraction)} of sessions change primary node."));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"(measured on {diff.SampleCount:N0} evenly spaced points of the session hash space; ±{Percent(0.5 / Math.Sqrt(diff.SampleCount))} at most)"));
        output.WriteLine();
        output.WriteLine($"{"node",-24} {"share before",12} {"share after",12} {"moves away",12} {"moves in",12}");
        foreach (var node in diff.Nodes)
        {
            output.WriteLine($"{node.Id,-24} {Percent(node.ShareBefore),12} {Percent(node.ShareAfter),12} {Percent(node.Lost),12} {Percent(node.Gained),12}");
        }

        if (diff.Moves.Count > 0)
        {
            output.WriteLine();
            output.WriteLine("moves (from -> to, share of all sessions):");
            foreach (var move in diff.Moves)
            {
                output.WriteLine($"  {move.From} -> {move.To}: {Percent(move.Fraction)}");
            }

            // The gateway keeps the replaced map for the idle timeout its sessions were written under.
            var handover = before.Options!.IdleTimeout;
            output.WriteLine();
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"handover: for {handover} (the old file's IdleTimeout) after the gateway applies the edit, a moved session's next request reads it from its old node and copies it forward; a removed node stays connected until then."));
        }

        return Success;
    }

    private static int Check(string[] args, TextWriter output, TextWriter error)
    {
        if (args.Length > 1)
        {
            return Fail(error, "check takes one file.");
        }

        var path = args.Length == 1 ? args[0] : DefaultConfigPath;
        var result = ConfigFileLoader.Load(path);
        foreach (var warning in result.Warnings)
        {
            error.WriteLine($"warning: {warning}");
        }

        if (!result.IsValid)
        {
            foreach (var problem in result.Errors)
            {
                error.WriteLine($"error: {problem}");
            }

            error.WriteLine($"{path}: {result.Errors.Count} error(s).");
            return InvalidConfiguration;
        }

        var options = result.Options!;
        var resolver = BuildResolver(options);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{path}: valid. Application '{options.ApplicationName}', {options.Nodes.Count} state node(s)."));
        for (var i = 0; i < resolver.Nodes.Count; i++)
        {
            output.WriteLine($"  {resolver.Nodes[i].Id,-24} share {Percent(resolver.GetShare(i)),8}  {Describe(options.Nodes.First(n => n.Id == resolver.Nodes[i].Id))}");
        }

        return Success;
    }

    private static ConfigFileResult? LoadValid(string path, TextWriter error)
    {
        var result = ConfigFileLoader.Load(path);
        if (result.IsValid)
        {
            return result;
        }

        foreach (var problem in result.Errors)
        {
            error.WriteLine($"error: {problem}");
        }

        return null;
    }

    private static PartitionResolver BuildResolver(SessionRouterOptions options)
        => PartitionResolver.Create(options.Nodes.Select(n => new PartitionNode(n.Id, n.Weight)));

    /// <summary>A node's engine and where it is, without secrets.</summary>
    private static string Describe(StateNodeOptions node) => $"{node.Engine.ToString().ToLowerInvariant()} {StateNodeKinds.Describe(node)}";

    private static string Percent(double fraction) => fraction.ToString("0.000%", CultureInfo.InvariantCulture);

    private static int Fail(TextWriter error, string message)
    {
        error.WriteLine($"error: {message}");
        error.WriteLine(Usage);
        return UsageError;
    }
}
