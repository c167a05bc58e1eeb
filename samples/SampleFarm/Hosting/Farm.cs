using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SampleFarm.Logging;
using SampleSite.Hosting;
using SessionRouter.Gateway;
using SessionRouter.Gateway.Hosting;
using SessionRouter.StateServer.Hosting;

namespace SampleFarm.Hosting;

/// <summary>A started web server of the farm.</summary>
public sealed record FarmSite(string Name, Uri Address);

/// <summary>A started state node of the farm (an engine in this process, or a redis-server child process).</summary>
public sealed record FarmNode(string Id, string Engine, string Address);

/// <summary>
/// A whole SessionRouter farm in one process: the state nodes and web servers that the gateway configuration
/// names on loopback, then the gateway itself. Stops in reverse order.
/// </summary>
public sealed class Farm : IAsyncDisposable
{
    /// <summary>The engine's HTTP/2 port is its MS-ASP port plus this (MS-ASP 42424, HTTP/2 43424), as in the engine's own settings.</summary>
    public const int Http2PortOffset = 1000;

    /// <summary>The memory cap of the farm's engines: 64 MiB, far above what a demo stores.</summary>
    public const long SampleMemoryCapBytes = 64L * 1024 * 1024;

    private const string NodesKey = "Nodes";

    private readonly FarmLog _log;
    private readonly List<Func<ValueTask>> _stops = [];
    private readonly List<FarmSite> _sites = [];
    private readonly List<FarmNode> _nodes = [];
    private readonly Dictionary<string, StateServerRunner> _engines = new(StringComparer.Ordinal);
    private string? _temporaryDirectory;
    private int _disposed;

    private Farm(FarmLog log) => _log = log;

    /// <summary>The gateway's address, or null when the gateway is not part of this farm.</summary>
    public Uri? GatewayAddress { get; private set; }

    /// <summary>The configuration the gateway reads (a rewritten copy with <see cref="FarmOptions.UseFreePorts"/>).</summary>
    public string ConfigPath { get; private set; } = "";

    public IReadOnlyList<FarmSite> Sites => _sites;

    public IReadOnlyList<FarmNode> Nodes => _nodes;

    /// <summary>The configuration file the options select.</summary>
    public static string ResolveConfigPath(FarmOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!string.IsNullOrEmpty(options.ConfigPath))
        {
            var full = Path.GetFullPath(options.ConfigPath);
            return File.Exists(full) ? full : throw new FileNotFoundException($"The configuration file '{full}' does not exist.", full);
        }

        var name = options.UseRedis ? Path.Combine("config", "redis.json") : "yarp.json";
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var directory = new DirectoryInfo(start); directory is not null; directory = directory.Parent)
            {
                var candidate = Path.Combine(directory.FullName, name);
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        throw new FileNotFoundException($"No {name} found in {Directory.GetCurrentDirectory()} or its parents; pass --config <path>.");
    }

    /// <summary>Starts the selected parts; on failure stops what was started and rethrows.</summary>
    public static async Task<Farm> StartAsync(FarmOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var farm = new Farm(options.Log);
        try
        {
            await farm.StartPartsAsync(options, cancellationToken).ConfigureAwait(false);
            return farm;
        }
        catch
        {
            await farm.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task StartPartsAsync(FarmOptions options, CancellationToken cancellationToken)
    {
        var configPath = ResolveConfigPath(options);
        var layout = FarmLayout.Read(configPath);
        _log.Info($"configuration: {configPath}");

        // Addresses that differ from the file (free ports): written into a copy the gateway reads.
        var nodeAddresses = new Dictionary<int, (string Key, string Value)>();
        var siteAddresses = new Dictionary<SiteSlot, Uri>();

        if (options.Parts.HasFlag(FarmParts.Nodes))
        {
            foreach (var node in layout.Nodes)
            {
                var rewritten = node.IsRedis
                    ? await StartRedisNodeAsync(node, options.UseFreePorts, cancellationToken).ConfigureAwait(false)
                    : await StartEngineNodeAsync(node, options.UseFreePorts, cancellationToken).ConfigureAwait(false);
                if (rewritten is { } value)
                {
                    nodeAddresses[node.Index] = value;
                }
            }
        }

        // The sites start before the gateway (the gateway's copy of the configuration needs their addresses), so
        // they learn the gateway's admin address only once it runs: see ShareAdminUrl.
        var siteOptions = new List<SampleSiteOptions>();
        if (options.Parts.HasFlag(FarmParts.Sites))
        {
            foreach (var slot in layout.Sites)
            {
                var (address, settings) = await StartSiteAsync(slot, configPath, options.UseFreePorts, cancellationToken).ConfigureAwait(false);
                siteAddresses[slot] = address;
                siteOptions.Add(settings);
            }
        }

        ConfigPath = options.UseFreePorts && (nodeAddresses.Count > 0 || siteAddresses.Count > 0)
            ? WriteRewrittenConfig(configPath, nodeAddresses, siteAddresses)
            : configPath;

        if (options.Parts.HasFlag(FarmParts.Gateway))
        {
            await StartGatewayAsync(options.UseFreePorts, cancellationToken).ConfigureAwait(false);
        }

        var adminUrl = new Uri(GatewayAddress ?? layout.GatewayUrl, layout.AdminPathPrefix.TrimEnd('/') + "/").ToString();
        ShareAdminUrl(siteOptions, adminUrl);
    }

    /// <summary>
    /// Hands the gateway's admin address to the started sites. Their options are resolved once and cached by
    /// IOptions, and the gateway's health probes of <c>/health</c> resolve them as soon as the gateway starts,
    /// before its address is known here: so the address is written into the resolved instance, not into a
    /// configure callback that may already have run. Until then the site has none and its page says so.
    /// </summary>
    private static void ShareAdminUrl(List<SampleSiteOptions> sites, string adminUrl)
    {
        foreach (var site in sites)
        {
            site.GatewayAdminUrl = adminUrl;
        }
    }

    private async Task<(string, string)?> StartEngineNodeAsync(NodeSlot node, bool freePorts, CancellationToken cancellationToken)
    {
        if (node.Address is not { IsLoopback: true } address)
        {
            _log.Warn($"{node.Id}: {node.Address} is not a loopback address; expected to run elsewhere.");
            return null;
        }

        // The gateway talks HTTP/2 to the address in the file by default; classic clients use the MS-ASP port.
        var engineOptions = new StateServerOptions
        {
            Port = freePorts ? 0 : node.Http2 ? address.Port - Http2PortOffset : address.Port,
            Http2Port = freePorts ? 0 : node.Http2 ? address.Port : address.Port + Http2PortOffset,

            // A cap, so the gateway's status page draws each node's memory against it (warning at 80%).
            MemoryCapBytes = SampleMemoryCapBytes,
        };
        var loggers = _log.FactoryFor(node.Id);
        var runner = await StateServerRunner.StartAsync(engineOptions, loggers, cancellationToken).ConfigureAwait(false);
        _stops.Add(async () =>
        {
            await runner.ShutdownAsync().ConfigureAwait(false);
            loggers.Dispose();
        });
        _engines[node.Id] = runner;
        var gatewayAddress = node.Http2 ? runner.Http2Address! : runner.ClassicAddress;
        _nodes.Add(new FarmNode(node.Id, "Builtin", $"{gatewayAddress} (MS-ASP {runner.ClassicAddress})"));
        return freePorts ? ("Address", gatewayAddress.ToString()) : null;
    }

    private async Task<(string, string)?> StartRedisNodeAsync(NodeSlot node, bool freePorts, CancellationToken cancellationToken)
    {
        var configuredPort = FarmLayout.LoopbackRedisPort(node.ConnectionString);
        if (configuredPort is null)
        {
            _log.Warn($"{node.Id}: '{node.ConnectionString}' is not a loopback Redis; expected to run elsewhere.");
            return null;
        }

        var port = freePorts ? FreeLoopbackPort() : configuredPort.Value;
        if (!freePorts && await RedisServer.IsListeningAsync(port, cancellationToken).ConfigureAwait(false))
        {
            _log.Info($"{node.Id}: a server already listens on 127.0.0.1:{port}; using it.");
            _nodes.Add(new FarmNode(node.Id, "Redis", $"127.0.0.1:{port} (already running)"));
            return null;
        }

        var executable = RedisServer.FindExecutable()
            ?? throw new InvalidOperationException($"{node.Id}: nothing listens on 127.0.0.1:{port} and redis-server is not installed (apt-get install redis-server).");
        var server = await RedisServer.StartAsync(executable, port, node.Id, _log, cancellationToken).ConfigureAwait(false);
        _stops.Add(server.DisposeAsync);
        _nodes.Add(new FarmNode(node.Id, "Redis", $"127.0.0.1:{port}"));

        if (!freePorts)
        {
            return null;
        }

        // Keep the connection string's options (password, ssl) and replace only the first endpoint.
        var parts = node.ConnectionString!.Split(',');
        parts[0] = string.Create(CultureInfo.InvariantCulture, $"127.0.0.1:{port}");
        return ("ConnectionString", string.Join(',', parts));
    }

    private async Task<(Uri Address, SampleSiteOptions Options)> StartSiteAsync(SiteSlot slot, string configPath, bool freePorts, CancellationToken cancellationToken)
    {
        var name = slot.DestinationId;
        var siteOptions = new SampleSiteHostOptions
        {
            ConfigPath = configPath,
            Urls = freePorts ? "http://127.0.0.1:0" : $"http://{slot.Address.Host}:{slot.Address.Port}",
            ConfigureLogging = logging =>
            {
                logging.ClearProviders();
                logging.AddProvider(_log.ProviderFor(name));
            },
            ConfigureServices = services =>
            {
                services.AddSingleton<IHostLifetime, FarmHostLifetime>();
                services.PostConfigure<SampleSiteOptions>(o =>
                {
                    o.InstanceName ??= name;
                    o.GatewayAdminUrl = null;
                });
            },
        };
        var app = SampleSiteApp.Build(siteOptions);
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        _stops.Add(async () =>
        {
            await app.StopAsync().ConfigureAwait(false);
            await app.DisposeAsync().ConfigureAwait(false);
        });

        var address = ListenAddress(app);
        _sites.Add(new FarmSite(name, address));
        return (address, app.Services.GetRequiredService<IOptions<SampleSiteOptions>>().Value);
    }

    private async Task StartGatewayAsync(bool freePorts, CancellationToken cancellationToken)
    {
        var app = GatewayApp.Build(new GatewayAppOptions
        {
            ConfigPath = ConfigPath,
            Urls = freePorts ? "http://127.0.0.1:0" : null,
            ConfigureLogging = logging =>
            {
                logging.ClearProviders();
                logging.AddProvider(_log.ProviderFor("gateway"));
            },
            ConfigureServices = services => services.AddSingleton<IHostLifetime, FarmHostLifetime>(),
        });
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        _stops.Add(async () =>
        {
            await app.StopAsync().ConfigureAwait(false);
            await app.DisposeAsync().ConfigureAwait(false);
        });
        GatewayAddress = ListenAddress(app);
    }

    private string WriteRewrittenConfig(string configPath, Dictionary<int, (string Key, string Value)> nodes, Dictionary<SiteSlot, Uri> sites)
    {
        var documentOptions = new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };
        var root = JsonNode.Parse(File.ReadAllText(configPath), documentOptions: documentOptions)!.AsObject();
        foreach (var (slot, address) in sites)
        {
            root["ReverseProxy"]!["Clusters"]![slot.ClusterId]!["Destinations"]![slot.DestinationId]!["Address"] = address.ToString();
        }

        var nodeArray = root["SessionRouter"]?[NodesKey]?.AsArray();
        foreach (var (index, (key, value)) in nodes)
        {
            nodeArray![index]![key] = value;
        }

        _temporaryDirectory = Path.Combine(Path.GetTempPath(), "sessionrouter-farm-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_temporaryDirectory);

        // A farm on free ports is a throwaway (tests, side-by-side runs): its DataProtection key ring lives and
        // dies with the copy, so it never touches the key ring of the farm on the fixed ports.
        if (root["SessionRouter"]?["DataProtection"] is JsonObject dataProtection && dataProtection["KeyRingPath"] is not null)
        {
            dataProtection["KeyRingPath"] = Path.Combine(_temporaryDirectory, "keys");
        }

        var path = Path.Combine(_temporaryDirectory, "yarp.json");
        File.WriteAllText(path, root.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        return path;
    }

    private static Uri ListenAddress(WebApplication app)
    {
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses;
        var first = addresses?.FirstOrDefault() ?? throw new InvalidOperationException("The host reports no listen address.");
        return new Uri(first.Replace("[::]", "127.0.0.1", StringComparison.Ordinal).Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal));
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>
    /// Stops the built-in engine node <paramref name="id"/> at once, like a crash (its sessions are gone): what the
    /// gateway and its status page do without it can be watched.
    /// </summary>
    public Task StopEngineNodeAsync(string id)
        => _engines.TryGetValue(id, out var runner)
            ? runner.StopAsync()
            : throw new ArgumentException($"The farm runs no built-in engine node '{id}'.", nameof(id));

    /// <summary>Stops the gateway, then the sites, then the nodes.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        for (var i = _stops.Count - 1; i >= 0; i--)
        {
            try
            {
                await _stops[i]().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                _log.Warn("a part did not stop cleanly: " + ex.Message);
            }
        }

        if (_temporaryDirectory is not null)
        {
            try
            {
                Directory.Delete(_temporaryDirectory, recursive: true);
            }
            catch (IOException)
            {
                // A leftover temp directory is harmless.
            }
        }
    }
}

/// <summary>The farm, not each host, reacts to Ctrl+C and SIGTERM, and stops the hosts in order.</summary>
internal sealed class FarmHostLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
