#pragma warning disable CA2262 // MaxResponseHeadersLength is in KiB: 256 is meant.
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SessionRouter.AspNetCore.Configuration;
using SessionRouter.AspNetCore.Session;

namespace SessionRouter.AspNetCore.Tests.Infrastructure;

/// <summary>A real Kestrel site on 127.0.0.1:0 that uses the library exactly as a user would.</summary>
public sealed class TestSite : IAsyncDisposable
{
    private readonly WebApplication _app;
    private System.Collections.Concurrent.ConcurrentQueue<string>? _captured;

    /// <summary>The log lines written since start-up.</summary>
    public IReadOnlyList<string> LogLines => _captured?.ToArray() ?? [];

    private TestSite(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
        // A full-size state is ~87 KB of base64url in one response header; HttpClient's default cap is 64 KiB.
        Client = new HttpClient(new SocketsHttpHandler { MaxResponseHeadersLength = 256 /* KiB */ }) { BaseAddress = address };
    }

    public Uri Address { get; }

    public HttpClient Client { get; }

    /// <param name="configure">Applied after the default test key is set.</param>
    /// <param name="settings">When given, configuration entries instead of the default key (binding test).</param>
    /// <param name="time">The site's clock (the signed timestamp is checked against it); the system clock when null.</param>
    public static async Task<TestSite> StartAsync(
        Action<SessionRouterSessionOptions>? configure = null,
        IReadOnlyDictionary<string, string?>? settings = null,
        TimeProvider? time = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        if (time is not null)
        {
            builder.Services.AddSingleton(time);
        }

        builder.Logging.ClearProviders();
        var logs = new System.Collections.Concurrent.ConcurrentQueue<string>();
        builder.Logging.AddProvider(new CapturingLoggerProvider(logs));
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        if (settings is not null)
        {
            builder.Configuration.AddInMemoryCollection(settings);
            builder.Services.AddSessionRouterSession(configure);
        }
        else
        {
            builder.Services.AddSessionRouterSession(o =>
            {
                o.SignatureKey = TestKeys.SignatureKey;
                configure?.Invoke(o);
            });
        }

        var app = builder.Build();
        app.UseSessionRouterSession();
        MapEndpoints(app);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return new TestSite(app, new Uri(address)) { _captured = logs };
    }

    private static void MapEndpoints(WebApplication app)
    {
        app.MapGet("/info", (HttpContext ctx) =>
        {
            var feature = ctx.GetSessionRouterFeature();
            return Results.Json(new SessionInfo(
                ctx.Session.IsAvailable, feature.Status.ToString(), feature.Mode.ToString(), ctx.Session.Id,
                ctx.Session.Keys.OrderBy(k => k, StringComparer.Ordinal).ToArray(), feature.UnavailableReason));
        });

        app.MapGet("/get/{key}", (HttpContext ctx, string key) =>
            ctx.Session.GetString(key) is { } value ? Results.Text(value) : Results.NotFound());

        // A GET that writes: under the gateway's ReadOnly route /get/… it must fail.
        app.MapGet("/get/set/{key}/{value}", (HttpContext ctx, string key, string value) =>
            Attempt(() => ctx.Session.SetString(key, value)));

        app.MapPost("/set/{key}/{value}", (HttpContext ctx, string key, string value) =>
            Attempt(() => ctx.Session.SetString(key, value)));

        // No body at all: the state must still leave in the headers.
        app.MapPost("/set-nobody/{key}/{value}", (HttpContext ctx, string key, string value) =>
        {
            ctx.Session.SetString(key, value);
            return Results.NoContent();
        });

        app.MapPost("/remove/{key}", (HttpContext ctx, string key) => Attempt(() => ctx.Session.Remove(key)));
        app.MapPost("/clear", (HttpContext ctx) => Attempt(ctx.Session.Clear));
        app.MapPost("/abandon", (HttpContext ctx) => Attempt(ctx.AbandonSession));

        app.MapPost("/counter", (HttpContext ctx) =>
        {
            var next = (ctx.Session.GetInt32("counter") ?? 0) + 1;
            ctx.Session.SetInt32("counter", next);
            return Results.Text(next.ToString(System.Globalization.CultureInfo.InvariantCulture));
        });

        // Sets a value of the given size and commits explicitly before answering.
        app.MapPost("/big-commit/{bytes:int}", async (HttpContext ctx, int bytes) =>
        {
            ctx.Session.Set("big", new byte[bytes]);
            try
            {
                await ctx.Session.CommitAsync();
                return Results.Text("committed");
            }
            catch (SessionStateTooLargeException ex)
            {
                return Results.Text(ex.Message, statusCode: StatusCodes.Status413PayloadTooLarge);
            }
        });

        // Sets a value of the given size and writes the body at once, without committing.
        app.MapPost("/big-stream/{bytes:int}", async (HttpContext ctx, int bytes) =>
        {
            ctx.Session.Set("big", new byte[bytes]);
            await ctx.Response.WriteAsync("streamed");
        });

        // Sets a value of the given size and lets the middleware commit after the endpoint (no body).
        app.MapPost("/big-nobody/{bytes:int}", (HttpContext ctx, int bytes) =>
        {
            ctx.Session.Set("big", new byte[bytes]);
            return Results.NoContent();
        });

        app.MapPost("/write-then-set", async (HttpContext ctx) =>
        {
            await ctx.Response.WriteAsync("started;");
            try
            {
                ctx.Session.SetString("late", "value");
                await ctx.Response.WriteAsync("set");
            }
            catch (InvalidOperationException ex)
            {
                await ctx.Response.WriteAsync(ex.Message);
            }
        });
    }

    private static IResult Attempt(Action action)
    {
        try
        {
            action();
            return Results.Text("ok");
        }
        catch (InvalidOperationException ex)
        {
            return Results.Text(ex.Message, statusCode: StatusCodes.Status409Conflict);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

public sealed record SessionInfo(bool IsAvailable, string Status, string Mode, string Id, string[] Keys, string? UnavailableReason);

internal sealed class CapturingLoggerProvider(System.Collections.Concurrent.ConcurrentQueue<string> lines) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => new CapturingLogger(lines, categoryName);

    public void Dispose()
    {
    }

    private sealed class CapturingLogger(System.Collections.Concurrent.ConcurrentQueue<string> lines, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information && category.StartsWith("SessionRouter", StringComparison.Ordinal);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                lines.Enqueue($"{logLevel}: {formatter(state, exception)}");
            }
        }
    }
}

/// <summary>A clock that always reads the same instant, so a test knows exactly what the site compares with.</summary>
public sealed class FixedClock(DateTimeOffset now) : TimeProvider
{
    public DateTimeOffset Now { get; } = now;

    public override DateTimeOffset GetUtcNow() => Now;
}
