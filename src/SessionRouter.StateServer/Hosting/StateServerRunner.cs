using System.Diagnostics.Metrics;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SessionRouter.Core.Configuration;
using SessionRouter.StateServer.Diagnostics;
using SessionRouter.StateServer.Operations;
using SessionRouter.StateServer.Protocol;
using SessionRouter.StateServer.Storage;

namespace SessionRouter.StateServer.Hosting;

/// <summary>
/// One running engine node in this process: Kestrel with the protocol handler over a fresh in-memory
/// store. Used by the host program, the sample farm and tests.
/// </summary>
/// <example>
/// <code>
/// await using var node = await StateServerRunner.StartAsync(new StateServerOptions { Port = 0 });
/// using var client = new StateServerClient(new StateServerClientOptions { NodeId = "a", BaseAddress = node.BaseAddress });
/// </code>
/// </example>
public sealed class StateServerRunner : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ILogger _logger;
    private int _stopped;

    private StateServerRunner(WebApplication app, InMemorySessionStore store, StateServerOptions options, IPEndPoint classic, IPEndPoint? http2, ILogger logger)
    {
        _app = app;
        _logger = logger;
        Store = store;
        Options = options;
        ClassicAddress = ToUri(classic);
        Http2Address = http2 is null ? null : ToUri(http2);
        Port = classic.Port;
        Http2Port = http2?.Port;
    }

    /// <summary>The address a <c>StateServerClient</c> should use: the HTTP/2 port when open, else the MS-ASP port.</summary>
    public Uri BaseAddress => Http2Address ?? ClassicAddress;

    /// <summary>The MS-ASP (HTTP/1.x) address classic clients use.</summary>
    public Uri ClassicAddress { get; }

    /// <summary>The HTTP/2 cleartext (prior knowledge) address, or null when none was opened.</summary>
    public Uri? Http2Address { get; }

    /// <summary>The bound MS-ASP port.</summary>
    public int Port { get; }

    /// <summary>The bound HTTP/2 port, or null.</summary>
    public int? Http2Port { get; }

    /// <summary>The node's store (for statistics and tests).</summary>
    public InMemorySessionStore Store { get; }

    /// <summary>The validated options in force.</summary>
    public StateServerOptions Options { get; }

    /// <summary>Validates <paramref name="options"/>, binds the ports and starts serving.</summary>
    /// <exception cref="ArgumentException">Settings are invalid; the message names every one.</exception>
    public static async Task<StateServerRunner> StartAsync(StateServerOptions options, ILoggerFactory? loggerFactory = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = StateServerOptionsValidator.Validate(options);
        if (errors.Count > 0)
        {
            throw new ArgumentException(ValidationErrors.Describe("Invalid state server settings", errors), nameof(options));
        }

        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ApplicationName = "SessionRouter.StateServer" });
        builder.Services.AddLogging();
        builder.Services.AddMetrics();
        builder.Services.AddSingleton(loggerFactory ?? NullLoggerFactory.Instance);
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = options.ShutdownTimeout);
        builder.WebHost.UseKestrelCore();
        EngineOperations.AddServices(builder.Services, options);

        // With the runtime's inline socket completions switched on for the process, let Kestrel run its
        // connection loops inline too (the request handler never blocks: lock waits are parked tasks).
        // Off by default; see docs/engine.md for the measured effect.
        var inlineCompletions = Environment.GetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS") == "1";
        builder.WebHost.UseSockets(sockets => sockets.UnsafePreferInlineScheduling = inlineCompletions);

        ListenOptions? classicListener = null;
        ListenOptions? http2Listener = null;
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            var limits = kestrel.Limits;
            limits.MaxRequestHeadersTotalSize = options.MaxRequestHeaderBytes;
            limits.MaxRequestLineSize = Math.Min(options.MaxRequestHeaderBytes, 8 * 1024);
            limits.MaxRequestBodySize = options.MaxItemBytes + (64L * 1024);
            limits.MaxConcurrentConnections = options.MaxConnections == 0 ? null : options.MaxConnections;
            limits.Http2.MaxStreamsPerConnection = options.MaxHttp2StreamsPerConnection;
            limits.Http2.MaxRequestHeaderFieldSize = Math.Max(options.MaxRequestHeaderBytes, 4096);

            var address = BindAddress(options);
            kestrel.Listen(address, options.Port, listen =>
            {
                listen.Protocols = HttpProtocols.Http1;
                classicListener = listen;
            });
            if (options.Http2Port >= 0)
            {
                kestrel.Listen(address, options.Http2Port, listen =>
                {
                    listen.Protocols = HttpProtocols.Http2;
                    http2Listener = listen;
                });
            }
        });

        var app = builder.Build();
        var logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<StateServerRunner>();
        var store = new InMemorySessionStore(options.ToStoreOptions(), TimeProvider.System, app.Services.GetService<IMeterFactory>(), (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<InMemorySessionStore>());
        EngineOperations.Use(app, store, options);
        var handler = new StateServerRequestHandler(store, options.AccessKey, (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<StateServerRequestHandler>());
        app.Run(handler.HandleAsync);

        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            store.Dispose();
            await app.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        var classic = classicListener!.IPEndPoint!;
        var http2 = http2Listener?.IPEndPoint;
        var runner = new StateServerRunner(app, store, options, classic, http2, logger);
        var keyRequired = !string.IsNullOrEmpty(options.AccessKey);
        StateServerLog.Started(logger, runner.ClassicAddress, runner.Http2Address, options.AllowRemoteConnections, keyRequired);
        return runner;
    }

    /// <summary>
    /// Stops at once, like a crash: the ports close (connections are refused from now on), requests in
    /// flight are aborted and every session held by this node is gone.
    /// </summary>
    public async Task StopAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        await _app.StopAsync(new CancellationToken(canceled: true)).ConfigureAwait(false);
        await DisposeCoreAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// Stops gracefully: no new connections, requests in flight finish (up to
    /// <see cref="StateServerOptions.ShutdownTimeout"/> or until <paramref name="cancellationToken"/>).
    /// </summary>
    public async Task ShutdownAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        StateServerLog.Stopping(_logger, ClassicAddress);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Options.ShutdownTimeout);
        await _app.StopAsync(timeout.Token).ConfigureAwait(false);
        await DisposeCoreAsync().ConfigureAwait(false);
    }

    /// <summary>Waits until the host is asked to stop (Ctrl+C, SIGTERM).</summary>
    public Task WaitForShutdownSignalAsync(CancellationToken cancellationToken = default)
    {
        var lifetime = _app.Services.GetRequiredService<IHostApplicationLifetime>();
        var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lifetime.ApplicationStopping.Register(() => signal.TrySetResult());
        cancellationToken.Register(() => signal.TrySetCanceled(cancellationToken));
        return signal.Task;
    }

    public ValueTask DisposeAsync() => new(StopAsync());

    private async Task DisposeCoreAsync()
    {
        await _app.DisposeAsync().ConfigureAwait(false);
        Store.Dispose();
    }

    private static IPAddress BindAddress(StateServerOptions options)
    {
        if (!options.AllowRemoteConnections)
        {
            return IPAddress.Loopback;
        }

        return options.BindAddress is { } configured ? IPAddress.Parse(configured) : IPAddress.IPv6Any;
    }

    private static Uri ToUri(IPEndPoint endPoint)
    {
        var address = endPoint.Address;
        if (address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any))
        {
            address = IPAddress.Loopback;
        }

        return new Uri($"http://{new IPEndPoint(address, endPoint.Port)}/");
    }
}
