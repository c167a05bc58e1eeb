using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SampleSite.Cart;
using SampleSite.Diagnostics;
using SampleSite.Pages;
using SessionRouter.Core.Configuration;

namespace SampleSite.Hosting;

/// <summary>
/// The sample shop: a real ASP.NET Core site whose only SessionRouter-specific lines are
/// <c>AddSessionRouterSession()</c> and <c>UseSessionRouterSession()</c>; everything else uses
/// <c>HttpContext.Session</c> as any site does.
/// </summary>
public static class SampleSiteApp
{
    public const string DefaultUrl = "http://127.0.0.1:5101";

    /// <summary>Builds from a command line: <c>--urls</c>, <c>--config path/to/yarp.json</c>, configuration overrides.</summary>
    public static WebApplication Build(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var options = new SampleSiteHostOptions();
        var rest = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == "--config" && i + 1 < args.Length)
            {
                options.ConfigPath = args[++i];
            }
            else if (args[i].StartsWith("--config=", StringComparison.Ordinal))
            {
                options.ConfigPath = args[i]["--config=".Length..];
            }
            else
            {
                rest.Add(args[i]);
            }
        }

        options.Args = rest;
        return Build(options);
    }

    /// <summary>Builds the site (not started).</summary>
    public static WebApplication Build(SampleSiteHostOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var args = options.Args.ToArray();
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args,
            ContentRootPath = AppContext.BaseDirectory,
            ApplicationName = typeof(SampleSiteApp).Assembly.GetName().Name,
        });

        // Share the gateway's SignatureKey and MaxStateBytes: read only the SessionRouter section of its
        // yarp.json (the rest of that file - Urls, ReverseProxy - belongs to the gateway).
        builder.Configuration.AddInMemoryCollection(ReadSharedSessionSettings(options.ConfigPath));
        builder.Configuration.AddInMemoryCollection(options.Settings);
        builder.Configuration.AddCommandLine(args);
        // One line per page or change from the site itself; ASP.NET Core's per-request lines only on warnings.
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Logging.AddFilter("System.Net.Http.HttpClient", LogLevel.Warning);
        options.ConfigureLogging?.Invoke(builder.Logging);
        builder.WebHost.UseUrls(options.Urls ?? builder.Configuration["urls"] ?? builder.Configuration["Urls"] ?? DefaultUrl);

        builder.Services.AddOptions<SampleSiteOptions>().BindConfiguration(SampleSiteOptions.SectionName);
        builder.Services.AddHttpClient<GatewayAdminClient>(http => http.Timeout = TimeSpan.FromSeconds(2));

        // The one SessionRouter line (instead of AddSession()).
        builder.Services.AddSessionRouterSession();
        options.ConfigureServices?.Invoke(builder.Services);

        var app = builder.Build();
        app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = new EmbeddedFileProvider(typeof(SampleSiteApp).Assembly, "SampleSite.static"),
            RequestPath = "/static",
        });

        // Instead of UseSession().
        app.UseSessionRouterSession();
        MapEndpoints(app);
        return app;
    }

    private static Dictionary<string, string?> ReadSharedSessionSettings(string? configPath)
    {
        var settings = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        var path = configPath ?? FindUpwards("yarp.json");
        if (path is null)
        {
            return settings;
        }

        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"The configuration file '{Path.GetFullPath(path)}' does not exist.", path);
        }

        var file = new ConfigurationBuilder().AddJsonFile(Path.GetFullPath(path), optional: false).Build();
        foreach (var key in new[] { "SessionRouter:SignatureKey", "SessionRouter:MaxStateBytes" })
        {
            if (file[key] is { } value)
            {
                settings[key] = value;
            }
        }

        return settings;
    }

    private static string? FindUpwards(string fileName)
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var directory = new DirectoryInfo(start); directory is not null; directory = directory.Parent)
            {
                var candidate = Path.Combine(directory.FullName, fileName);
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        return null;
    }

    private static void MapEndpoints(WebApplication app)
    {
        app.MapGet("/health", (HttpContext context, IOptions<SampleSiteOptions> options) =>
            Results.Text($"ok {InstanceName(context, options.Value)}\n"));

        app.MapGet("/", async (HttpContext context, GatewayAdminClient admin, IOptions<SampleSiteOptions> options, ILoggerFactory loggers) =>
        {
            var session = context.Session;
            var feature = context.GetSessionRouterFeature();
            var views = 0;
            if (session.IsAvailable && feature.Mode == SessionMode.ReadWrite)
            {
                views = (session.GetInt32("views") ?? 0) + 1;
                session.SetInt32("views", views);
            }

            var cart = ShoppingCart.Load(session);
            var node = session.IsAvailable
                ? await admin.WhereAsync(session.Id, context.RequestAborted)
                : new StateNodeAnswer(null, [], "no session");
            var name = InstanceName(context, options.Value);
            var logger = loggers.CreateLogger("SampleSite");
            SampleSiteLog.PageServed(logger, name, cart.ItemCount, node.NodeId ?? "?");

            var changedBy = context.Request.Query["changedBy"].ToString();
            var model = new CartPageModel(
                name,
                changedBy.Length is > 0 and <= 64 ? changedBy : null,
                $"{context.Connection.LocalIpAddress}:{context.Connection.LocalPort}",
                feature.Mode.ToString(),
                session.IsAvailable ? session.Id[..Math.Min(6, session.Id.Length)] : null,
                feature.UnavailableReason,
                views,
                cart,
                node);
            return Results.Content(CartPage.Render(model), "text/html; charset=utf-8");
        });

        app.MapPost("/cart/add", async (HttpContext context, ILoggerFactory loggers, IOptions<SampleSiteOptions> options) =>
        {
            var form = await context.Request.ReadFormAsync(context.RequestAborted);
            var product = Catalog.Find(form["sku"]);
            if (product is null)
            {
                return Results.Text("Unknown product.", statusCode: StatusCodes.Status400BadRequest);
            }

            if (!int.TryParse(form["quantity"], NumberStyles.None, CultureInfo.InvariantCulture, out var quantity) || quantity is < 1 or > ShoppingCart.MaxQuantityPerLine)
            {
                quantity = 1;
            }

            return ChangeCart(context, cart => cart.Add(product, quantity), loggers, options.Value, $"added {quantity} × {product.Sku}");
        });

        app.MapPost("/cart/remove", async (HttpContext context, ILoggerFactory loggers, IOptions<SampleSiteOptions> options) =>
        {
            var form = await context.Request.ReadFormAsync(context.RequestAborted);
            var sku = form["sku"].ToString();
            return ChangeCart(context, cart => cart.Remove(sku), loggers, options.Value, $"removed {sku}");
        });

        app.MapPost("/cart/clear", (HttpContext context, ILoggerFactory loggers, IOptions<SampleSiteOptions> options) =>
            Change(context, () => context.Session.Remove(ShoppingCart.SessionKey), loggers, options.Value, "emptied the cart"));

        app.MapPost("/session/abandon", (HttpContext context, ILoggerFactory loggers, IOptions<SampleSiteOptions> options) =>
            Change(context, context.AbandonSession, loggers, options.Value, "abandoned the session"));

        // A ReadOnly route in yarp.json: reads the session, never writes it.
        app.MapGet("/cart/summary", (HttpContext context, IOptions<SampleSiteOptions> options) =>
        {
            var cart = ShoppingCart.Load(context.Session);
            return Results.Json(new CartSummary(
                InstanceName(context, options.Value),
                context.GetSessionRouterFeature().Mode.ToString(),
                context.Session.IsAvailable,
                cart.ItemCount,
                ShoppingCart.FormatCents(cart.TotalCents),
                cart.Lines.Select(l => new CartSummaryLine(l.Key, Catalog.Find(l.Key)!.Name, l.Value)).ToArray()));
        });
    }

    private static IResult ChangeCart(HttpContext context, Action<ShoppingCart> change, ILoggerFactory loggers, SampleSiteOptions options, string what)
        => Change(context, () =>
        {
            var cart = ShoppingCart.Load(context.Session);
            change(cart);
            cart.Save(context.Session);
        }, loggers, options, what);

    private static IResult Change(HttpContext context, Action change, ILoggerFactory loggers, SampleSiteOptions options, string what)
    {
        var logger = loggers.CreateLogger("SampleSite");
        try
        {
            change();
        }
        catch (InvalidOperationException ex)
        {
            // No session (request not through the gateway) or a read-only route: say so rather than pretend.
            SampleSiteLog.ChangeRefused(logger, InstanceName(context, options), ex.Message);
            return Results.Text(ex.Message, statusCode: StatusCodes.Status409Conflict);
        }

        // Name the server that made the change in the redirect, so the next page (often served by another
        // server) can show both.
        var name = InstanceName(context, options);
        SampleSiteLog.CartChanged(logger, name, what);
        return Results.Redirect("/?changedBy=" + Uri.EscapeDataString(name), permanent: false, preserveMethod: false);
    }

    private static string InstanceName(HttpContext context, SampleSiteOptions options)
        => string.IsNullOrWhiteSpace(options.InstanceName)
            ? "site-" + context.Connection.LocalPort.ToString(CultureInfo.InvariantCulture)
            : options.InstanceName;
}

public sealed record CartSummary(string ServedBy, string SessionMode, bool SessionAvailable, int ItemCount, string Total, CartSummaryLine[] Lines);

public sealed record CartSummaryLine(string Sku, string Name, int Quantity);
