using System.Diagnostics.Metrics;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SessionRouter.Core.Configuration;
using SessionRouter.StateServer.Connections;
using SessionRouter.StateServer.Diagnostics;
using SessionRouter.StateServer.Operations;
using SessionRouter.StateServer.Protocol;
using SessionRouter.StateServer.Storage;
using SessionRouter.StateServer.Tls;

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
    private readonly ConnectionGuard _guard;
    private readonly X509Certificate2? _certificate;
    private readonly ILogger _logger;
    private int _stopped;

    private StateServerRunner(WebApplication app, InMemorySessionStore store, StateServerOptions options, IPEndPoint classic, IPEndPoint? http2, ConnectionGuard guard, X509Certificate2? certificate, ILogger logger)
    {
        _app = app;
        _guard = guard;
        _certificate = certificate;
        _logger = logger;
        Store = store;
        Options = options;
        var scheme = certificate is null ? Uri.UriSchemeHttp : Uri.UriSchemeHttps;
        ClassicAddress = ToUri(scheme, classic);
        Http2Address = http2 is null ? null : ToUri(scheme, http2);
        Port = classic.Port;
        Http2Port = http2?.Port;
    }

    /// <summary>The address a <c>StateServerClient</c> should use: the HTTP/2 port when open, else the MS-ASP port.</summary>
    public Uri BaseAddress => Http2Address ?? ClassicAddress;

    /// <summary>The MS-ASP (HTTP/1.x) address classic clients use (<c>https://</c> when the node serves TLS).</summary>
    public Uri ClassicAddress { get; }

    /// <summary>The HTTP/2 address (cleartext with prior knowledge, or TLS with ALPN), or null when none was opened.</summary>
    public Uri? Http2Address { get; }

    /// <summary>The bound MS-ASP port.</summary>
    public int Port { get; }

    /// <summary>The bound HTTP/2 port, or null.</summary>
    public int? Http2Port { get; }

    /// <summary>The node's store (for statistics and tests).</summary>
    public InMemorySessionStore Store { get; }

    /// <summary>The validated options in force.</summary>
    public StateServerOptions Options { get; }

    /// <summary>Connections the node holds open from <paramref name="address"/> (both ports), as its per-address limit counts them.</summary>
    internal int OpenConnectionsFrom(IPAddress address) => _guard.OpenConnections(address);

    /// <summary>Validates <paramref name="options"/>, binds the ports and starts serving.</summary>
    /// <exception cref="ArgumentException">Settings are invalid; the message names every one.</exception>
    public static Task<StateServerRunner> StartAsync(StateServerOptions options, ILoggerFactory? loggerFactory = null, CancellationToken cancellationToken = default) =>
        StartAsync(options, loggerFactory, TimeProvider.System, cancellationToken);

    /// <summary>As the public overload; <paramref name="connectionTime"/> is the clock of the connections' first-request deadline (tests move it by hand).</summary>
    internal static async Task<StateServerRunner> StartAsync(StateServerOptions options, ILoggerFactory? loggerFactory, TimeProvider connectionTime, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = StateServerOptionsValidator.Validate(options);
        if (errors.Count > 0)
        {
            throw new ArgumentException(ValidationErrors.Describe("Invalid state server settings", errors), nameof(options));
        }

        var loggers = loggerFactory ?? NullLoggerFactory.Instance;
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ApplicationName = "SessionRouter.StateServer" });
        builder.Services.AddLogging();
        builder.Services.AddMetrics();
        builder.Services.AddSingleton(loggers);
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = options.ShutdownTimeout);
        builder.WebHost.UseKestrelCore();
        EngineOperations.AddServices(builder.Services, options);

        // With the runtime's inline socket completions switched on for the process, let Kestrel run its
        // connection loops inline too (the request handler never blocks: lock waits are parked tasks).
        // Off by default; see docs/engine.md for the measured effect.
        var inlineCompletions = Environment.GetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS") == "1";
        builder.WebHost.UseSockets(sockets => sockets.UnsafePreferInlineScheduling = inlineCompletions);

        // Loaded before anything is bound, so an unreadable certificate fails the start naming its setting.
        var certificate = ServerCertificateLoader.Load(options);
        var guard = new ConnectionGuard(options.MaxConnectionsPerAddress, options.FirstRequestTimeout, connectionTime, loggers.CreateLogger<ConnectionGuard>());
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

            // Idle and slow peers: what Kestrel closes on its own (its heartbeat checks once a second).
            // Connections that never present the access key are the guard's (FirstRequestTimeout).
            limits.KeepAliveTimeout = options.IdleConnectionTimeout;
            limits.RequestHeadersTimeout = options.RequestHeadersTimeout;
            limits.Http2.KeepAlivePingDelay = options.Http2KeepAlivePingDelay;
            limits.Http2.KeepAlivePingTimeout = options.Http2KeepAlivePingTimeout;
            limits.MinRequestBodyDataRate = options.MinRequestBodyBytesPerSecond > 0
                ? new MinDataRate(options.MinRequestBodyBytesPerSecond, TimeSpan.FromSeconds(5))
                : null;

            var address = BindAddress(options);
            kestrel.Listen(address, options.Port, listen =>
            {
                listen.Protocols = HttpProtocols.Http1;
                Secure(listen);
                classicListener = listen;
            });
            if (options.Http2Port >= 0)
            {
                // Over TLS the client asks for h2 by ALPN; in cleartext it speaks HTTP/2 with prior knowledge.
                kestrel.Listen(address, options.Http2Port, listen =>
                {
                    listen.Protocols = HttpProtocols.Http2;
                    Secure(listen);
                    http2Listener = listen;
                });
            }
        });

        // The guard comes first: a connection it refuses costs no TLS handshake, and the handshake counts
        // against the connection's first-request deadline.
        void Secure(ListenOptions listen)
        {
            listen.Use(guard.Wrap);
            if (certificate is not null)
            {
                listen.UseHttps(new HttpsConnectionAdapterOptions
                {
                    ServerCertificate = certificate,
                    HandshakeTimeout = options.FirstRequestTimeout,
                });
            }
        }

        var app = builder.Build();
        var logger = loggers.CreateLogger<StateServerRunner>();
        var store = new InMemorySessionStore(options.ToStoreOptions(), TimeProvider.System, app.Services.GetService<IMeterFactory>(), loggers.CreateLogger<InMemorySessionStore>());
        EngineOperations.Use(app, store, options);
        var handler = new StateServerRequestHandler(store, options.AccessKey, loggers.CreateLogger<StateServerRequestHandler>(), app.Lifetime.ApplicationStopping);
        app.Run(handler.HandleAsync);

        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            store.Dispose();
            await app.DisposeAsync().ConfigureAwait(false);
            certificate?.Dispose();
            throw;
        }

        var classic = classicListener!.IPEndPoint!;
        var http2 = http2Listener?.IPEndPoint;
        var runner = new StateServerRunner(app, store, options, classic, http2, guard, certificate, logger);
        var keyRequired = !string.IsNullOrEmpty(options.AccessKey);
        StateServerLog.Started(logger, runner.ClassicAddress, runner.Http2Address, options.AllowRemoteConnections, keyRequired);
        if (options.AllowRemoteConnections && certificate is null)
        {
            StateServerLog.RemoteWithoutTls(logger);
        }

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
        _certificate?.Dispose();
    }

    private static IPAddress BindAddress(StateServerOptions options)
    {
        if (!options.AllowRemoteConnections)
        {
            return IPAddress.Loopback;
        }

        return options.BindAddress is { } configured ? IPAddress.Parse(configured) : IPAddress.IPv6Any;
    }

    private static Uri ToUri(string scheme, IPEndPoint endPoint)
    {
        var address = endPoint.Address;
        if (address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any))
        {
            address = IPAddress.Loopback;
        }

        return new Uri($"{scheme}://{new IPEndPoint(address, endPoint.Port)}/");
    }
}
