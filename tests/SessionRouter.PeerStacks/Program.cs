using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SessionRouter.StateServer.Hosting;
using Yarp.ReverseProxy.Configuration;

// The peer stacks of scripts/load/run.sh, one role per process, all on 127.0.0.1:
//   site     --port P --session none|inproc|redis|router [--redis host:port] [--key base64]
//            GET /…/plain  answers without touching the session;
//            GET /…/ro     reads the counter; any other path increments the counter in HttpContext.Session.
//   yarp     --port P --backend http://127.0.0.1:Q   plain YARP, one catch-all route, no session; with two
//            backends (a,b) a request with X-Ping-Pong: 1 goes to the second (the load script's ping-pong front).
//   engine   --port P --http2-port Q                 a built-in state engine node.
//   gateway  --config path/yarp.json --urls URL [--store in-process]
//            the SessionRouter gateway; with --store in-process every node of the map is an in-memory
//            store inside the gateway (no store round trips: the load script's ceiling stack h).
if (args.Length == 0)
{
    await Console.Error.WriteLineAsync("usage: SessionRouter.PeerStacks site|yarp|engine|gateway [options]");
    return 2;
}

var options = ParseOptions(args);
switch (args[0])
{
    case "site":
        await RunSiteAsync(options);
        return 0;
    case "yarp":
        await RunPlainYarpAsync(options);
        return 0;
    case "engine":
        await using (var engine = await StateServerRunner.StartAsync(new StateServerOptions
        {
            Port = int.Parse(options["port"], CultureInfo.InvariantCulture),
            Http2Port = int.Parse(options["http2-port"], CultureInfo.InvariantCulture),
        }))
        {
            Console.WriteLine($"engine listening on {engine.ClassicAddress} and {engine.Http2Address}");
            await engine.WaitForShutdownSignalAsync();
        }

        return 0;
    case "gateway":
        var gateway = SessionRouter.Gateway.GatewayApp.Build(new SessionRouter.Gateway.Hosting.GatewayAppOptions
        {
            ConfigPath = options["config"],
            Urls = options["urls"],
            Args = ["--Logging:LogLevel:Default=Warning"],
            ConfigureServices = services =>
            {
                if (options.TryGetValue("store", out var store) && store == "in-process")
                {
                    services.AddSingleton<SessionRouter.Gateway.Nodes.IStateNodeConnector>(new SessionRouter.PeerStacks.InProcessNodeConnector());
                }
            },
        });
        await gateway.RunAsync();
        return 0;
    default:
        await Console.Error.WriteLineAsync($"unknown role '{args[0]}'");
        return 2;
}

static Dictionary<string, string> ParseOptions(string[] args)
{
    var options = new Dictionary<string, string>(StringComparer.Ordinal);
    for (var i = 1; i + 1 < args.Length; i += 2)
    {
        options[args[i].TrimStart('-')] = args[i + 1];
    }

    return options;
}

static WebApplicationBuilder QuietBuilder(int port)
{
    var builder = WebApplication.CreateBuilder();
    builder.Logging.ClearProviders();
    builder.Logging.AddConsole().SetMinimumLevel(LogLevel.Warning);
    builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
    return builder;
}

static async Task RunSiteAsync(Dictionary<string, string> options)
{
    var builder = QuietBuilder(int.Parse(options["port"], CultureInfo.InvariantCulture));
    var session = options.GetValueOrDefault("session", "none");
    switch (session)
    {
        case "inproc":
            builder.Services.AddDistributedMemoryCache();
            builder.Services.AddSession();
            break;
        case "redis":
            builder.Services.AddStackExchangeRedisCache(redis => redis.Configuration = options["redis"]);
            builder.Services.AddSession();
            break;
        case "router":
            builder.Services.AddSessionRouterSession(router => router.SignatureKey = options["key"]);
            break;
        case "none":
            break;
        default:
            throw new ArgumentException($"unknown session kind '{session}'");
    }

    var app = builder.Build();
    if (session is "inproc" or "redis")
    {
        app.UseSession();
    }
    else if (session == "router")
    {
        app.UseSessionRouterSession();
    }

    app.Run(async context =>
    {
        var path = context.Request.Path.Value ?? "";
        if (session == "none" || path.EndsWith("/plain", StringComparison.Ordinal))
        {
            await context.Response.WriteAsync("ok");
            return;
        }

        // Load asynchronously, as ASP.NET Core's docs advise: the synchronous first access would block a
        // thread on the cache (and starve the pool under load with the Redis cache).
        await context.Session.LoadAsync();
        var count = context.Session.GetInt32("n") ?? 0;
        if (!path.EndsWith("/ro", StringComparison.Ordinal))
        {
            count++;
            context.Session.SetInt32("n", count);
        }

        await context.Response.WriteAsync(count.ToString(CultureInfo.InvariantCulture));
    });
    await app.RunAsync();
}

static async Task RunPlainYarpAsync(Dictionary<string, string> options)
{
    var builder = QuietBuilder(int.Parse(options["port"], CultureInfo.InvariantCulture));

    // Two backends (a,b): the ping-pong front of the load script, which sends a request with X-Ping-Pong: 1 to the
    // second and any other to the first, so a session's requests alternate between two gateways.
    var backends = options["backend"].Split(',');
    var routes = new List<RouteConfig> { new() { RouteId = "all", ClusterId = "b0", Match = new RouteMatch { Path = "{**catchall}" } } };
    var clusters = backends.Select((address, i) => new ClusterConfig
    {
        ClusterId = "b" + i.ToString(CultureInfo.InvariantCulture),
        Destinations = new Dictionary<string, DestinationConfig> { ["d"] = new() { Address = address } },
    }).ToList();
    if (backends.Length > 1)
    {
        routes.Add(new RouteConfig
        {
            RouteId = "pong",
            ClusterId = "b1",
            Order = -1,
            Match = new RouteMatch { Path = "{**catchall}", Headers = [new RouteHeader { Name = "X-Ping-Pong", Values = ["1"], Mode = HeaderMatchMode.ExactHeader }] },
        });
    }

    builder.Services.AddReverseProxy().LoadFromMemory(routes, clusters);
    var app = builder.Build();
    app.MapReverseProxy();
    await app.RunAsync();
}
