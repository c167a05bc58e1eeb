#pragma warning disable CA1507 // JSON keys of yarp.json, not member names.
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;
using SessionRouter.Gateway;
using SessionRouter.Gateway.Hosting;
using SessionRouter.StateServer.Hosting;

namespace SessionRouter.AspNetCore.Tests.Infrastructure;

/// <summary>
/// The real thing around a <see cref="TestSite"/>: a built-in engine node and the gateway, both on free
/// loopback ports, configured by a yarp.json in a temporary directory. Routes: <c>/get/…</c> ReadOnly,
/// <c>/info</c> None, everything else ReadWrite.
/// </summary>
public sealed class GatewayWithEngine : IAsyncDisposable
{
    private readonly string _directory;
    private StateServerRunner? _engine;
    private WebApplication? _gateway;

    private GatewayWithEngine(string directory) => _directory = directory;

    public TestSite Site { get; private set; } = null!;

    public Uri Address { get; private set; } = null!;

    /// <summary>A client that keeps the gateway's cookie, like a browser.</summary>
    public HttpClient NewBrowser() => new(new SocketsHttpHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false }) { BaseAddress = Address };

    public static async Task<GatewayWithEngine> StartAsync()
    {
        var farm = new GatewayWithEngine(Path.Combine(Path.GetTempPath(), "sr-aspnetcore-" + Guid.NewGuid().ToString("N")[..12]));
        Directory.CreateDirectory(farm._directory);
        try
        {
            farm.Site = await TestSite.StartAsync();
            farm._engine = await StateServerRunner.StartAsync(new StateServerOptions { Port = 0, Http2Port = 0 });
            var configPath = Path.Combine(farm._directory, "yarp.json");
            await File.WriteAllTextAsync(configPath, BuildConfig(farm.Site.Address, farm._engine.Http2Address!).ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            farm._gateway = GatewayApp.Build(new GatewayAppOptions
            {
                ConfigPath = configPath,
                Urls = "http://127.0.0.1:0",
                ConfigureLogging = logging => logging.ClearProviders(),
            });
            await farm._gateway.StartAsync();
            farm.Address = new Uri(farm._gateway.Urls.First());
            return farm;
        }
        catch
        {
            await farm.DisposeAsync();
            throw;
        }
    }

    private static JsonObject BuildConfig(Uri site, Uri engine) => new()
    {
        ["ReverseProxy"] = new JsonObject
        {
            ["Routes"] = new JsonObject
            {
                ["readonly"] = Route("/get/{**rest}", "ReadOnly"),
                ["none"] = Route("/info", "None"),
                ["all"] = Route("{**catchall}", "ReadWrite"),
            },
            ["Clusters"] = new JsonObject
            {
                ["sites"] = new JsonObject
                {
                    ["Destinations"] = new JsonObject { ["site"] = new JsonObject { ["Address"] = site.ToString() } },
                },
            },
        },
        ["SessionRouter"] = new JsonObject
        {
            ["ApplicationName"] = "AspNetCoreTests",
            ["SignatureKey"] = TestKeys.SignatureKey,
            ["DataProtection"] = new JsonObject { ["KeyRingPath"] = "keys" },
            ["Nodes"] = new JsonArray(new JsonObject { ["Id"] = "node-a", ["Engine"] = "Builtin", ["Address"] = engine.ToString() }),
        },
    };

    private static JsonObject Route(string path, string mode) => new()
    {
        ["ClusterId"] = "sites",
        ["Match"] = new JsonObject { ["Path"] = path },
        ["Metadata"] = new JsonObject { ["Session"] = mode },
    };

    public async ValueTask DisposeAsync()
    {
        if (_gateway is not null)
        {
            await _gateway.StopAsync();
            await _gateway.DisposeAsync();
        }

        if (_engine is not null)
        {
            await _engine.DisposeAsync();
        }

        if (Site is not null)
        {
            await Site.DisposeAsync();
        }

        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
