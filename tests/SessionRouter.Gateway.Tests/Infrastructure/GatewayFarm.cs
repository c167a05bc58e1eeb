#pragma warning disable CA1507 // JSON keys of yarp.json, not member names.
using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SessionRouter.Gateway.Configuration;
using SessionRouter.Gateway.Hosting;
using SessionRouter.Gateway.Nodes;

namespace SessionRouter.Gateway.Tests.Infrastructure;

/// <summary>
/// A gateway on 127.0.0.1 port 0 with real contract sites behind it, configured by a yarp.json written
/// into a temporary directory (with its own DataProtection key ring).
/// </summary>
public sealed class GatewayFarm : IAsyncDisposable
{
    private readonly List<WebApplication> _gateways = [];

    private GatewayFarm(string directory, byte[] key)
    {
        Directory = directory;
        SignatureKey = key;
        ConfigPath = Path.Combine(directory, "yarp.json");
    }

    public string Directory { get; }

    public string ConfigPath { get; }

    public byte[] SignatureKey { get; }

    public List<ContractSite> Sites { get; } = [];

    public Uri Address { get; private set; } = null!;

    public WebApplication Gateway => _gateways[0];

    /// <summary>Every gateway instance of the farm, the first one first.</summary>
    public IReadOnlyList<WebApplication> Gateways => _gateways;

    internal GatewaySnapshotProvider Snapshots => Gateway.Services.GetRequiredService<GatewaySnapshotProvider>();

    /// <summary>The in-memory nodes when the farm runs without engines (tests of the gateway's own logic).</summary>
    internal InMemoryNodeConnector? InMemoryNodes { get; private set; }

    public TestLogSink Logs { get; } = new();

    public JsonObject Config { get; private set; } = null!;

    public static async Task<GatewayFarm> StartAsync(FarmOptions options)
    {
        var directory = Path.Combine(Path.GetTempPath(), "sr-gw-" + Guid.NewGuid().ToString("N")[..12]);
        System.IO.Directory.CreateDirectory(directory);
        var farm = new GatewayFarm(directory, RandomNumberGenerator.GetBytes(32));
        try
        {
            for (var i = 0; i < options.Sites; i++)
            {
                farm.Sites.Add(await ContractSite.StartAsync("site-" + (char)('a' + i), farm.SignatureKey));
            }

            farm.Config = farm.BuildConfig(options);
            options.Edit?.Invoke(farm.Config);
            options.Prepare?.Invoke(directory);
            await File.WriteAllTextAsync(farm.ConfigPath, farm.Config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            if (options.Connector is null && !options.RealNodes)
            {
                farm.InMemoryNodes = new InMemoryNodeConnector();
            }

            var app = await farm.StartGatewayAsync(options);
            farm.Address = new Uri(app.Urls.First());
            return farm;
        }
        catch
        {
            await farm.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts one more gateway instance on the same file and key ring (a second gateway of the farm).</summary>
    public async Task<Uri> StartAnotherGatewayAsync(FarmOptions options)
    {
        var app = await StartGatewayAsync(options);
        return new Uri(app.Urls.First());
    }

    private async Task<WebApplication> StartGatewayAsync(FarmOptions options)
    {
        var connector = options.Connector ?? InMemoryNodes;
        var app = GatewayApp.Build(new GatewayAppOptions
        {
            ConfigPath = ConfigPath,
            Urls = "http://127.0.0.1:0",
            ConfigureLogging = logging =>
            {
                logging.ClearProviders();
                logging.AddProvider(Logs);
                logging.SetMinimumLevel(LogLevel.Information);
                logging.AddFilter("Microsoft", LogLevel.Warning);
                logging.AddFilter("Yarp", LogLevel.Warning);
            },
            ConfigureServices = services =>
            {
                if (connector is not null)
                {
                    services.AddSingleton<IStateNodeConnector>(connector);
                }
            },
        });
        await app.StartAsync();
        _gateways.Add(app);
        return app;
    }

    private JsonObject BuildConfig(FarmOptions options)
    {
        var destinations = new JsonObject();
        for (var i = 0; i < Sites.Count; i++)
        {
            destinations["d" + i] = new JsonObject { ["Address"] = Sites[i].Address };
        }

        var nodes = new JsonArray();
        for (var i = 0; i < options.NodeAddresses.Count; i++)
        {
            nodes.Add(new JsonObject
            {
                ["Id"] = "node-" + (char)('a' + i),
                ["Engine"] = "Builtin",
                ["Address"] = options.NodeAddresses[i],
            });
        }

        return new JsonObject
        {
            ["ReverseProxy"] = new JsonObject
            {
                ["Routes"] = new JsonObject
                {
                    ["static"] = Route("/static/{**rest}", "None"),
                    ["readonly"] = Route("/ro/{**rest}", "ReadOnly"),
                    ["all"] = Route("{**catchall}", null),
                },
                ["Clusters"] = new JsonObject
                {
                    ["sites"] = new JsonObject
                    {
                        ["LoadBalancingPolicy"] = "RoundRobin",
                        ["Destinations"] = destinations,
                    },
                },
            },
            ["SessionRouter"] = new JsonObject
            {
                ["ApplicationName"] = "GatewayTests",
                ["SignatureKey"] = Convert.ToBase64String(SignatureKey),
                ["LockWaitTimeout"] = options.LockWaitTimeout,
                ["LockTimeout"] = options.LockTimeout,
                ["MaxStateBytes"] = options.MaxStateBytes,
                ["WhenNoHealthyNode"] = options.WhenNoHealthyNode,
                ["DataProtection"] = new JsonObject { ["KeyRingPath"] = "keys" },
                ["HealthChecks"] = new JsonObject { ["Interval"] = "00:00:00.200", ["Timeout"] = options.ProbeTimeout, ["FailuresToDown"] = options.FailuresToDown, ["SuccessesToUp"] = 1 },
                ["Nodes"] = nodes,
            },
        };

        static JsonObject Route(string path, string? session)
        {
            var route = new JsonObject
            {
                ["ClusterId"] = "sites",
                ["Match"] = new JsonObject { ["Path"] = path },
            };
            if (session is not null)
            {
                route["Metadata"] = new JsonObject { ["Session"] = session };
            }

            return route;
        }
    }

    /// <summary>Writes <see cref="Config"/> (after <paramref name="edit"/>) and waits until the admin status shows the gateway applied or refused it.</summary>
    public Task<bool> EditConfigAsync(Action<JsonObject> edit)
    {
        edit(Config);
        return WriteConfigTextAsync(Config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>Writes <paramref name="text"/> as the configuration file, valid or not, and waits until the admin status shows the gateway applied or refused it.</summary>
    public async Task<bool> WriteConfigTextAsync(string text)
    {
        using var admin = new HttpClient { BaseAddress = Address };
        var before = (await ReadReloadsAsync(admin)).Count;
        await File.WriteAllTextAsync(ConfigPath, text, System.Text.Encoding.UTF8);
        for (var attempt = 0; attempt < 600; attempt++)
        {
            var (count, lastApplied) = await ReadReloadsAsync(admin);
            if (count > before)
            {
                return lastApplied;
            }

            await Task.Delay(25);
        }

        throw new TimeoutException("the gateway neither applied nor refused the edit within 15 s");
    }

    private static async Task<(long Count, bool LastApplied)> ReadReloadsAsync(HttpClient admin)
    {
        using var json = System.Text.Json.JsonDocument.Parse(await admin.GetStringAsync("/_sessionrouter/status"));
        var reloads = json.RootElement.GetProperty("reloads");
        var lastApplied = reloads.GetArrayLength() > 0 && reloads[0].GetProperty("applied").GetBoolean();
        return (json.RootElement.GetProperty("reloadCount").GetInt64(), lastApplied);
    }

    /// <summary>Waits until the admin status reports <paramref name="nodeId"/> (or every node, when null) as <paramref name="healthy"/>.</summary>
    public async Task WaitForHealthAsync(string? nodeId, bool healthy)
    {
        using var admin = new HttpClient { BaseAddress = Address };
        for (var attempt = 0; attempt < 200; attempt++)
        {
            using var json = System.Text.Json.JsonDocument.Parse(await admin.GetStringAsync("/_sessionrouter/status"));
            var nodes = json.RootElement.GetProperty("nodes").EnumerateArray()
                .Where(n => nodeId is null || n.GetProperty("id").GetString() == nodeId)
                .ToList();
            if (nodes.Count > 0 && nodes.All(n => n.GetProperty("healthy").GetBoolean() == healthy))
            {
                return;
            }

            await Task.Delay(25);
        }

        throw new TimeoutException($"node {nodeId ?? "(all)"} did not become healthy={healthy} within 5 s");
    }

    /// <summary>A browser-like client: keeps the cookies the gateway sets.</summary>
    public HttpClient NewClient(Uri? address = null, CookieContainer? cookies = null)
        => new(new HttpClientHandler { CookieContainer = cookies ?? new CookieContainer(), UseCookies = true, AllowAutoRedirect = false })
        {
            BaseAddress = address ?? Address,
            Timeout = TimeSpan.FromSeconds(30),
        };

    public async ValueTask DisposeAsync()
    {
        foreach (var app in _gateways)
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }

        foreach (var site in Sites)
        {
            await site.DisposeAsync();
        }

        if (InMemoryNodes is not null)
        {
            foreach (var store in InMemoryNodes.Stores.Values)
            {
                store.Inner.Dispose();
            }
        }

        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

public sealed class FarmOptions
{
    public int Sites { get; set; } = 3;

    /// <summary>State node addresses; ids are node-a, node-b, ... (in-memory nodes ignore the address).</summary>
    public IReadOnlyList<string> NodeAddresses { get; set; } = ["http://127.0.0.1:1", "http://127.0.0.1:2", "http://127.0.0.1:3"];

    public string LockWaitTimeout { get; set; } = "00:00:10";

    public string LockTimeout { get; set; } = "00:01:00";

    public int MaxStateBytes { get; set; } = 64 * 1024;

    public string WhenNoHealthyNode { get; set; } = "Reject";

    public string ProbeTimeout { get; set; } = "00:00:00.500";

    public int FailuresToDown { get; set; } = 1;

    /// <summary>Use the gateway's own connector: <see cref="NodeAddresses"/> are real engines.</summary>
    public bool RealNodes { get; set; }

    /// <summary>The node connector; null runs in-memory nodes (unless <see cref="RealNodes"/>).</summary>
    internal IStateNodeConnector? Connector { get; set; }

    public Action<JsonObject>? Edit { get; set; }

    /// <summary>Called with the farm's directory (where yarp.json goes) before the gateway starts, e.g. to write files the configuration names.</summary>
    public Action<string>? Prepare { get; set; }
}

/// <summary>Captures log lines so tests can check that a failure was logged.</summary>
public sealed class TestLogSink : ILoggerProvider
{
    public ConcurrentQueue<string> Lines { get; } = new();

    public bool Contains(string text) => Lines.Any(l => l.Contains(text, StringComparison.OrdinalIgnoreCase));

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(TestLogSink sink, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            => sink.Lines.Enqueue($"{logLevel} {category}: {formatter(state, exception)} {exception}");
    }
}
