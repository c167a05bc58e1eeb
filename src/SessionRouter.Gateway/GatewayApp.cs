using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using SessionRouter.Core.Configuration;
using SessionRouter.Gateway.Admin;
using SessionRouter.Gateway.Configuration;
using SessionRouter.Gateway.Cookies;
using SessionRouter.Gateway.Diagnostics;
using SessionRouter.Gateway.Leases;
using SessionRouter.Gateway.Hosting;
using SessionRouter.Gateway.Nodes;
using SessionRouter.Gateway.Pipeline;

namespace SessionRouter.Gateway;

/// <summary>
/// Builds the SessionRouter gateway: an ASP.NET Core host running YARP from yarp.json (its stock
/// <c>ReverseProxy</c> section) with the session pipeline configured by the <c>SessionRouter</c> section.
/// </summary>
/// <example>
/// <code>
/// var app = GatewayApp.Build(new GatewayAppOptions { ConfigPath = "yarp.json", Urls = "http://127.0.0.1:0" });
/// await app.StartAsync();
/// var address = app.Urls.First();
/// </code>
/// </example>
public static class GatewayApp
{
    /// <summary>The listen address when neither the options, the command line nor the file name one.</summary>
    public const string DefaultUrl = "http://127.0.0.1:5000";

    /// <summary>The configuration file looked for when none is given.</summary>
    public const string DefaultConfigFileName = "yarp.json";

    private const string HostingDiagnosticsCategory = "Microsoft.AspNetCore.Hosting.Diagnostics";

    /// <summary>
    /// Builds the gateway from command-line arguments: <c>--config path</c> (or <c>--config=path</c>)
    /// selects the file, <c>--urls</c> the listen address; other arguments override configuration keys.
    /// </summary>
    /// <exception cref="GatewayConfigurationException">The file is missing or a setting is invalid (the message names it).</exception>
    public static WebApplication Build(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var options = new GatewayAppOptions();
        var rest = new List<string>(args.Length);
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            if (arg is "--config" or "-c")
            {
                if (i + 1 >= args.Length)
                {
                    throw new GatewayConfigurationException("--config needs a path to a yarp.json file.");
                }

                options.ConfigPath = args[++i];
            }
            else if (arg.StartsWith("--config=", StringComparison.Ordinal))
            {
                options.ConfigPath = arg["--config=".Length..];
            }
            else
            {
                rest.Add(arg);
            }
        }

        options.Args = rest;
        return Build(options);
    }

    /// <summary>Builds the gateway (not started: call <c>StartAsync</c> or <c>RunAsync</c>).</summary>
    /// <exception cref="GatewayConfigurationException">The file is missing or a setting is invalid (the message names it).</exception>
    public static WebApplication Build(GatewayAppOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var configPath = ResolveConfigPath(options.ConfigPath);
        var configDirectory = Path.GetDirectoryName(configPath)!;
        var args = new string[options.Args.Count];
        for (var i = 0; i < args.Length; i++)
        {
            args[i] = options.Args[i];
        }

        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args,
            ContentRootPath = configDirectory,
            ApplicationName = typeof(GatewayApp).Assembly.GetName().Name,
        });

        var configFile = ConfigFileSource.Add(builder.Configuration, configPath);
        builder.Configuration.AddCommandLine(args);

        // With this category enabled at any level, ASP.NET Core hosting starts an Activity for every
        // request only to give log scopes a trace id; HttpClient then starts a child Activity and adds
        // trace headers to the site call (about 4% of the gateway's CPU per request in the profile of
        // docs/performance.md). A tracer that listens (OpenTelemetry) still gets its Activity, and a
        // client's traceparent still reaches the site. A level for the category under Logging:LogLevel
        // (or ConfigureLogging) turns it back on.
        if (builder.Configuration[$"Logging:LogLevel:{HostingDiagnosticsCategory}"] is null)
        {
            builder.Logging.AddFilter(HostingDiagnosticsCategory, LogLevel.None);
        }

        options.ConfigureLogging?.Invoke(builder.Logging);

        var sessionOptions = ReadValidOptions(builder.Configuration, configPath);
        builder.WebHost.UseUrls(options.Urls ?? builder.Configuration["Urls"] ?? DefaultUrl);

        KeyRingSetup.Add(builder.Services, sessionOptions, configPath);
        AddSessionRouter(builder.Services, builder.Configuration, configFile, sessionOptions, configPath);
        GatewayTelemetry.AddServices(builder.Services, sessionOptions.Metrics);
        builder.Services.AddReverseProxy()
            .LoadFromConfig(builder.Configuration.GetSection("ReverseProxy"))
            .AddTransforms<SessionTransformProvider>()
            .ConfigureHttpClient((_, handler) =>
            {
                // The state travels in a response header: make room for MaxStateBytes in base64url.
                handler.MaxResponseHeadersLength = ResponseHeaderLimitKiB(sessionOptions.MaxStateBytes);
            });
        options.ConfigureServices?.Invoke(builder.Services);

        var app = builder.Build();

        // Connect the nodes of the configuration now, so that a broken map fails start-up, not the first request.
        _ = app.Services.GetRequiredService<GatewaySnapshotProvider>();
        app.UseMiddleware<AdminMiddleware>(GatewayTelemetry.CreateScrape(app, sessionOptions.Metrics));
        try
        {
            app.MapReverseProxy(proxy =>
            {
                proxy.UseMiddleware<SessionMiddleware>();
                proxy.UseSessionAffinity();
                proxy.UseLoadBalancing();
                proxy.UsePassiveHealthChecks();
            });
        }
        catch (InvalidOperationException ex)
        {
            // YARP loads its section here; report its findings like ours: the file, then each problem.
            throw new GatewayConfigurationException($"{configPath}: {Describe(ex)}", ex);
        }

        return app;
    }

    /// <summary>The file <see cref="Build(GatewayAppOptions)"/> reads for <paramref name="configPath"/> (null: search upwards for yarp.json).</summary>
    public static string ResolveConfigPath(string? configPath)
    {
        if (!string.IsNullOrEmpty(configPath))
        {
            var full = Path.GetFullPath(configPath);
            return File.Exists(full) ? full : throw new GatewayConfigurationException($"The configuration file '{full}' does not exist.");
        }

        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var directory = new DirectoryInfo(start); directory is not null; directory = directory.Parent)
            {
                var candidate = Path.Combine(directory.FullName, DefaultConfigFileName);
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        throw new GatewayConfigurationException(
            $"No {DefaultConfigFileName} found in {Directory.GetCurrentDirectory()} or its parents; pass --config <path>.");
    }

    private static string Describe(Exception error)
    {
        var messages = new List<string>();
        for (var current = error; current is not null; current = current.InnerException)
        {
            if (current is AggregateException aggregate)
            {
                foreach (var inner in aggregate.InnerExceptions)
                {
                    messages.Add(inner.Message);
                }

                break;
            }

            messages.Add(current.Message);
        }

        return string.Join(Environment.NewLine + "  ", messages);
    }

    private static SessionRouterOptions ReadValidOptions(IConfiguration configuration, string configPath)
    {
        var options = SessionRouterConfigReader.Read(configuration, configPath, out var errors);
        if (errors.Count > 0)
        {
            throw new GatewayConfigurationException(ValidationErrors.Describe(configPath, errors));
        }

        return options;
    }

    private static void AddSessionRouter(IServiceCollection services, IConfiguration configuration, ConfigFileProvider configFile, SessionRouterOptions options, string configPath)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddMetrics();
        services.TryAddSingleton<GatewayMetrics>();
        services.TryAddSingleton<SessionCookieCodec>();
        services.TryAddSingleton<KeySpaceShares>();
        services.TryAddSingleton<StateNodesHealthCheck>();
        services.TryAddSingleton<NodeReports>();
        services.TryAddSingleton<StatusPageFiles>();
        services.TryAddSingleton<StoreCallRecorder>();
        services.TryAddSingleton<SessionExchangeFactory>();
        services.TryAddSingleton<OrphanedLockReleaser>();
        services.AddHostedService(sp => sp.GetRequiredService<OrphanedLockReleaser>());
        services.TryAddSingleton<LeaseTable>();
        services.TryAddSingleton<LeaseKeeper>();
        services.AddHostedService(sp => sp.GetRequiredService<LeaseKeeper>());
        services.TryAddSingleton<SessionResponseTransform>();
        services.TryAddSingleton<IStateNodeConnector, StateNodeConnector>();
        services.TryAddSingleton(options);
        services.TryAddSingleton<GatewayNodeHealth>();
        services.TryAddSingleton<IGatewayNodeHealth>(sp => sp.GetRequiredService<GatewayNodeHealth>());
        services.AddHostedService(sp => sp.GetRequiredService<GatewayNodeHealth>());
        services.AddSingleton(sp => new GatewaySnapshotProvider(
            configuration,
            configFile,
            options,
            configPath,
            sp.GetRequiredService<IStateNodeConnector>(),
            sp.GetRequiredService<IGatewayNodeHealth>(),
            sp.GetRequiredService<StoreCallRecorder>(),
            sp.GetRequiredService<GatewayMetrics>(),
            sp.GetRequiredService<ILogger<GatewaySnapshotProvider>>(),
            sp.GetRequiredService<TimeProvider>()));
    }

    /// <summary>HttpClient's response header limit (KiB) that fits a state of <paramref name="maxStateBytes"/> plus ordinary headers.</summary>
    internal static int ResponseHeaderLimitKiB(int maxStateBytes)
        => Math.Max(64, (int)(((long)maxStateBytes * 4 / 3 / 1024) + 32));
}
