#pragma warning disable CA1507 // JSON keys of yarp.json, not member names.
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;
using SessionRouter.AspNetCore.StateFormat;
using SessionRouter.Core.HeaderContract;
using SessionRouter.Gateway;
using SessionRouter.Gateway.Hosting;
using SessionRouter.Samples.Tests.Infrastructure;
using SessionRouter.StateServer.Hosting;
using Xunit;

namespace SessionRouter.Samples.Tests;

/// <summary>
/// The Python standard-library backend of docs/protocol.md: verified against headers signed by C#, and
/// behind a real gateway with a real engine node.
/// </summary>
public sealed class PythonSiteTests : IAsyncLifetime
{
    private static readonly string Key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
    private readonly SessionSignature _signature = new(Convert.FromBase64String(Key));
    private PythonSite _python = null!;
    private HttpClient _direct = null!;

    public async Task InitializeAsync()
    {
        _python = await PythonSite.StartAsync(Key);
        _direct = new HttpClient { BaseAddress = _python.Address };
    }

    public async Task DisposeAsync()
    {
        _direct.Dispose();
        await _python.DisposeAsync();
    }

    private HttpRequestMessage Signed(HttpMethod method, string path, string mode, string? state, long? timestamp = null, string? signatureOverride = null)
    {
        var id = "q3m5P1tW9yZc0vX2a4Bn7Q";
        var signedAt = timestamp ?? DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var request = new HttpRequestMessage(method, path);
        request.Headers.Add(SessionHeaders.Id, id);
        request.Headers.Add(SessionHeaders.Mode, mode);
        request.Headers.Add(SessionHeaders.Timestamp, signedAt.ToString());
        if (state is not null)
        {
            request.Headers.Add(SessionHeaders.State, state);
        }

        request.Headers.Add(SessionHeaders.Signature, signatureOverride ?? _signature.Sign(id, mode, signedAt, state));
        return request;
    }

    private static string Blob(params (string Key, byte[] Value)[] entries)
        => SessionStateFormat.ToHeaderValue(SessionStateFormat.Encode(entries.Select(e => new KeyValuePair<string, byte[]>(e.Key, e.Value)).ToList()));

    [Fact]
    public async Task Python_ReadsTheCSharpBlob_IncrementsTheCounter_AndKeepsOtherEntries()
    {
        var cart = Encoding.UTF8.GetBytes("{\"tea\":2}");
        using var request = Signed(HttpMethod.Get, "/", SessionModeValues.ReadWrite, Blob(("counter", [0, 0, 0, 41]), ("cart", cart)));
        using var response = await _direct.SendAsync(request);

        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(42, body.GetProperty("counter").GetInt32());
        Assert.Equal(2, body.GetProperty("cart").GetProperty("tea").GetInt32());

        // What Python hands back is a valid version 1 blob for the C# decoder: SetInt32 bytes, cart untouched.
        var state = SessionStateFormat.Decode(SessionStateFormat.FromHeaderValue(response.Headers.GetValues(SessionHeaders.State).Single()));
        Assert.Equal([0, 0, 0, 42], state["counter"]);
        Assert.Equal(cart, state["cart"]);
    }

    [Fact]
    public async Task Python_NewSession_StartsAtOne()
    {
        using var request = Signed(HttpMethod.Get, "/", SessionModeValues.ReadWrite, state: null);
        using var response = await _direct.SendAsync(request);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(1, body.GetProperty("counter").GetInt32());
        Assert.Equal([0, 0, 0, 1], SessionStateFormat.Decode(SessionStateFormat.FromHeaderValue(response.Headers.GetValues(SessionHeaders.State).Single()))["counter"]);
    }

    [Fact]
    public async Task Python_ReadOnly_ReadsButSendsNoState()
    {
        using var request = Signed(HttpMethod.Get, "/", SessionModeValues.ReadOnly, Blob(("counter", [0, 0, 0, 7])));
        using var response = await _direct.SendAsync(request);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(7, body.GetProperty("counter").GetInt32());
        Assert.False(response.Headers.Contains(SessionHeaders.State));
    }

    [Theory]
    [InlineData("forged")]
    [InlineData("stale")]
    [InlineData("garbage")]
    public async Task Python_RefusesForgedOrStaleHeaders(string kind)
    {
        var state = Blob(("counter", [0, 0, 0, 7]));
        using var request = kind switch
        {
            "forged" => Signed(HttpMethod.Get, "/", SessionModeValues.ReadWrite, state,
                signatureOverride: new SessionSignature(RandomNumberGenerator.GetBytes(32)).Sign("q3m5P1tW9yZc0vX2a4Bn7Q", SessionModeValues.ReadWrite, DateTimeOffset.UtcNow.ToUnixTimeSeconds(), state)),
            "stale" => Signed(HttpMethod.Get, "/", SessionModeValues.ReadWrite, state, timestamp: DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 3600),
            _ => Signed(HttpMethod.Get, "/", SessionModeValues.ReadWrite, state, signatureOverride: "not*base64"),
        };
        using var response = await _direct.SendAsync(request);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.False(body.GetProperty("session").GetBoolean());
        Assert.False(response.Headers.Contains(SessionHeaders.State));
    }

    [Fact]
    public async Task Python_UnreadableBlob_IsNeverOverwritten()
    {
        using var request = Signed(HttpMethod.Get, "/", SessionModeValues.ReadWrite, SessionStateFormat.ToHeaderValue([0x02, 0x00]));
        using var response = await _direct.SendAsync(request);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.False(body.GetProperty("session").GetBoolean());
        Assert.False(response.Headers.Contains(SessionHeaders.State));
    }

    [Fact]
    public async Task Python_BehindTheGateway_WithAnEngineNode_KeepsItsCounter()
    {
        var directory = Path.Combine(Path.GetTempPath(), "sr-python-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(directory);
        await using var engine = await StateServerRunner.StartAsync(new StateServerOptions { Port = 0, Http2Port = 0 });
        var config = new JsonObject
        {
            ["ReverseProxy"] = new JsonObject
            {
                ["Routes"] = new JsonObject
                {
                    ["all"] = new JsonObject { ["ClusterId"] = "python", ["Match"] = new JsonObject { ["Path"] = "{**catchall}" } },
                },
                ["Clusters"] = new JsonObject
                {
                    ["python"] = new JsonObject { ["Destinations"] = new JsonObject { ["py-1"] = new JsonObject { ["Address"] = _python.Address.ToString() } } },
                },
            },
            ["SessionRouter"] = new JsonObject
            {
                ["ApplicationName"] = "PythonSample",
                ["SignatureKey"] = Key,
                ["DataProtection"] = new JsonObject { ["KeyRingPath"] = "keys" },
                ["Nodes"] = new JsonArray(new JsonObject { ["Id"] = "node-a", ["Engine"] = "Builtin", ["Address"] = engine.Http2Address!.ToString() }),
            },
        };
        var configPath = Path.Combine(directory, "yarp.json");
        await File.WriteAllTextAsync(configPath, config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));

        var gateway = GatewayApp.Build(new GatewayAppOptions
        {
            ConfigPath = configPath,
            Urls = "http://127.0.0.1:0",
            ConfigureLogging = logging => logging.ClearProviders(),
        });
        await gateway.StartAsync();
        try
        {
            using var browser = new HttpClient(new SocketsHttpHandler { CookieContainer = new CookieContainer() }) { BaseAddress = new Uri(gateway.Urls.First()) };
            for (var expected = 1; expected <= 3; expected++)
            {
                var body = await browser.GetFromJsonAsync<JsonElement>("/");
                Assert.True(body.GetProperty("session").GetBoolean(), body.ToString());
                Assert.Equal(expected, body.GetProperty("counter").GetInt32());
            }

            using (var abandon = await browser.PostAsync("/abandon", null))
            {
                Assert.Equal(HttpStatusCode.OK, abandon.StatusCode);
                Assert.False(abandon.Headers.Contains(SessionHeaders.Abandon));
            }

            var fresh = await browser.GetFromJsonAsync<JsonElement>("/");
            Assert.Equal(1, fresh.GetProperty("counter").GetInt32());
        }
        finally
        {
            await gateway.StopAsync();
            await gateway.DisposeAsync();
            Directory.Delete(directory, recursive: true);
        }
    }
}
