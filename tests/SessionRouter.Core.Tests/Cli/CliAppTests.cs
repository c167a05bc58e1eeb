using System.Text.Json;
using System.Text.Json.Nodes;
using SessionRouter.Cli;
using SessionRouter.Core.Partitioning;

namespace SessionRouter.Core.Tests.Cli;

/// <summary>The sessionrouter tool, run in-process on real files in a temporary directory.</summary>
public sealed class CliAppTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("sessionrouter-cli-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void Check_OfAValidFile_Succeeds()
    {
        var path = Write("yarp.json", Config());
        var (code, output, error) = Run("check", path);
        Assert.Equal(CliApp.Success, code);
        Assert.Contains("valid", output, StringComparison.Ordinal);
        Assert.Contains("engine-2", output, StringComparison.Ordinal);
        Assert.Equal("", error);
    }

    [Fact]
    public void Check_WithoutAPath_ReadsYarpJsonOfTheCurrentDirectory()
    {
        var (code, _, error) = Run("check");
        Assert.Equal(CliApp.InvalidConfiguration, code);
        Assert.Contains("yarp.json", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_OfBrokenJson_ReportsTheSyntaxErrorWithItsPosition()
    {
        var path = Write("broken.json", """{ "SessionRouter": { "Nodes": [ } }""");
        var (code, _, error) = Run("check", path);
        Assert.Equal(CliApp.InvalidConfiguration, code);
        Assert.Contains("not valid JSON", error, StringComparison.Ordinal);
        Assert.Contains("BytePositionInLine", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_OfAnUnknownEnumValue_NamesTheField_InsteadOfDroppingTheNode()
    {
        var config = Config();
        config["SessionRouter"]!["Nodes"]![1]!["Engine"] = "Bultin";
        var (code, _, error) = Run("check", Write("enum.json", config));
        Assert.Equal(CliApp.InvalidConfiguration, code);
        Assert.Contains("SessionRouter:Nodes:1:Engine", error, StringComparison.Ordinal);
        Assert.Contains("Builtin, Redis", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_OfAMistypedSetting_NamesIt()
    {
        var config = Config();
        config["SessionRouter"]!["HealthChecks"] = new JsonObject { ["Intervall"] = "00:00:01" };
        var (code, _, error) = Run("check", Write("typo.json", config));
        Assert.Equal(CliApp.InvalidConfiguration, code);
        Assert.Contains("SessionRouter:HealthChecks:Intervall is not a setting", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_OfAMalformedTimeSpan_NamesIt()
    {
        var config = Config();
        config["SessionRouter"]!["IdleTimeout"] = "20 minutes";
        var (code, _, error) = Run("check", Write("time.json", config));
        Assert.Equal(CliApp.InvalidConfiguration, code);
        Assert.Contains("SessionRouter:IdleTimeout", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_ReportsTheValidatorsFindings()
    {
        var config = Config();
        config["SessionRouter"]!["Nodes"]![0]!["Address"] = "not a url";
        config["SessionRouter"]!["ReplicationFactor"] = 9;
        var (code, _, error) = Run("check", Write("invalid.json", config));
        Assert.Equal(CliApp.InvalidConfiguration, code);
        Assert.Contains("SessionRouter:Nodes:0:Address", error, StringComparison.Ordinal);
        Assert.Contains("SessionRouter:ReplicationFactor", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_OfAMissingSection_Fails()
    {
        var (code, _, error) = Run("check", Write("empty.json", "{}"));
        Assert.Equal(CliApp.InvalidConfiguration, code);
        Assert.Contains("no SessionRouter section", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Where_PrintsThePreferenceListOfTheResolver()
    {
        var path = Write("yarp.json", Config());
        const string session = "abcdefghijklmnopqrstuv";
        var (code, output, _) = Run("where", session, "--config", path);
        Assert.Equal(CliApp.Success, code);

        var map = PartitionResolver.Create([new("engine-1"), new("engine-2"), new("engine-3")]);
        var list = new int[3];
        map.GetPreferenceList(session, list);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(4, lines.Length);
        for (var i = 0; i < 3; i++)
        {
            Assert.Contains(map.Nodes[list[i]].Id, lines[i + 1], StringComparison.Ordinal);
        }

        Assert.Contains("primary", lines[1], StringComparison.Ordinal);
    }

    [Fact]
    public void Where_AcceptsSessionIdsThatStartWithADash()
    {
        var path = Write("yarp.json", Config());
        var (code, output, _) = Run("where", "-_-_-_-_-_-_-_-_-_-_-_", "--config", path);
        Assert.Equal(CliApp.Success, code);
        Assert.Contains("session -_-_-_-_-_-_-_-_-_-_-_", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Where_WithoutASessionId_IsAUsageError()
        => Assert.Equal(CliApp.UsageError, Run("where").Code);

    [Fact]
    public void Diff_ReportsTheShareThatMovesPerNode()
    {
        var before = Write("old.json", Config());
        var edited = Config();
        edited["SessionRouter"]!["Nodes"]!.AsArray().Add(new JsonObject { ["Id"] = "engine-4", ["Address"] = "http://127.0.0.1:42427" });
        var after = Write("new.json", edited);

        var (code, output, _) = Run("diff", before, after);
        Assert.Equal(CliApp.Success, code);

        var expected = PartitionMapDiff.Compare(
            PartitionResolver.Create([new("engine-1"), new("engine-2"), new("engine-3")]),
            PartitionResolver.Create([new("engine-1"), new("engine-2"), new("engine-3"), new("engine-4")]));
        Assert.StartsWith($"{expected.MovedFraction:0.000%} of sessions", output, StringComparison.Ordinal);
        Assert.Contains("engine-1 -> engine-4", output, StringComparison.Ordinal);
        Assert.Contains("handover: for 00:20:00 (the old file's IdleTimeout)", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Diff_OfAnInvalidFile_Fails()
    {
        var before = Write("old.json", Config());
        var (code, _, error) = Run("diff", before, Path.Combine(_directory, "missing.json"));
        Assert.Equal(CliApp.InvalidConfiguration, code);
        Assert.Contains("file not found", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_AcceptsTheRepositorysConfigurationFiles()
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "SessionRouter.sln")))
        {
            root = root.Parent;
        }

        Assert.NotNull(root);
        var files = Directory.GetFiles(Path.Combine(root.FullName, "config"), "*.json").Append(Path.Combine(root.FullName, "yarp.json")).Where(File.Exists).ToArray();
        Assert.NotEmpty(files);
        foreach (var file in files)
        {
            var (code, _, error) = Run("check", file);
            Assert.True(code == CliApp.Success, $"{file}: {error}");
        }
    }

    [Fact]
    public void UnknownCommand_IsAUsageError()
    {
        var (code, _, error) = Run("frobnicate");
        Assert.Equal(CliApp.UsageError, code);
        Assert.Contains("Usage", error, StringComparison.Ordinal);
    }

    private (int Code, string Output, string Error) Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var previous = Environment.CurrentDirectory;
        int code;
        lock (typeof(CliAppTests))
        {
            Environment.CurrentDirectory = _directory;
            try
            {
                code = CliApp.Run(args, output, error);
            }
            finally
            {
                Environment.CurrentDirectory = previous;
            }
        }

        return (code, output.ToString(), error.ToString());
    }

    private string Write(string name, JsonNode json) => Write(name, json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));

    private string Write(string name, string text)
    {
        var path = Path.Combine(_directory, name);
        File.WriteAllText(path, text);
        return path;
    }

    private static JsonObject Config() => new()
    {
        ["ReverseProxy"] = new JsonObject { ["Routes"] = new JsonObject(), ["Clusters"] = new JsonObject() },
        ["SessionRouter"] = new JsonObject
        {
            ["SignatureKey"] = Convert.ToBase64String(new byte[32]),
            ["ReplicationFactor"] = 2,
            ["Nodes"] = new JsonArray(
                new JsonObject { ["Id"] = "engine-1", ["Engine"] = "Builtin", ["Address"] = "http://127.0.0.1:42424" },
                new JsonObject { ["Id"] = "engine-2", ["Engine"] = "Builtin", ["Address"] = "http://127.0.0.1:42425" },
                new JsonObject { ["Id"] = "engine-3", ["Engine"] = "Redis", ["ConnectionString"] = "127.0.0.1:6379" }),
        },
    };
}
