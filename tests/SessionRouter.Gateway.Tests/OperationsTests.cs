using System.Diagnostics.Metrics;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.DependencyInjection;
using SessionRouter.Core.Configuration;
using SessionRouter.Gateway.Admin;
using SessionRouter.Gateway.Tests.Infrastructure;
using SessionRouter.StateServer.Hosting;
using SessionRouter.Testing.Metrics;
using Xunit;

namespace SessionRouter.Gateway.Tests;

/// <summary>What an operator sees: metrics (read back in process and scraped), health, node reports, the status page, admin access.</summary>
public sealed class OperationsTests
{
    [Fact]
    public async Task Metrics_OfARealRun_AreReadBackWithAMeterListener()
    {
        await using var farm = await GatewayFarm.StartAsync(new FarmOptions { Sites = 1 });
        using var measured = new ScopedMeasurements(farm.Gateway.Services.GetRequiredService<IMeterFactory>());
        using var client = farm.NewClient();

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/cart/inc")).StatusCode);       // new session: save only
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/cart/inc")).StatusCode);       // load, save
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/ro/show")).StatusCode);        // read
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/static/a.css")).StatusCode);  // no store call
        Assert.Equal(HttpStatusCode.BadGateway, (await client.GetAsync("/cart/garbage")).StatusCode); // load, release
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/cart/abandon")).StatusCode);   // load, remove

        // A request is counted when its exchange has ended, which may be just after the client has its answer.
        await SessionPipelineTests.WaitUntilAsync(() => measured.Sum("sessionrouter.gateway.requests") >= 6);

        Assert.Equal(6, measured.Sum("sessionrouter.gateway.requests"));
        Assert.Equal(3, measured.Sum("sessionrouter.gateway.requests", ("mode", "read_write"), ("outcome", "ok")));
        Assert.Equal(1, measured.Sum("sessionrouter.gateway.requests", ("mode", "read_write"), ("outcome", "state_rejected")));
        Assert.Equal(1, measured.Sum("sessionrouter.gateway.requests", ("mode", "read_only"), ("outcome", "ok")));
        Assert.Equal(1, measured.Sum("sessionrouter.gateway.requests", ("mode", "none"), ("outcome", "ok")));
        Assert.Equal(1, measured.Sum("sessionrouter.gateway.sessions.created"));
        Assert.Equal(1, measured.Sum("sessionrouter.gateway.sessions.abandoned"));
        Assert.Equal(1, measured.Sum("sessionrouter.gateway.states.rejected"));

        // Every answered store call is timed, by node and operation; one session lives on one node.
        const string duration = "sessionrouter.gateway.store.duration";
        Assert.Equal(3, measured.Count(duration, ("operation", "load")));
        Assert.Equal(2, measured.Count(duration, ("operation", "save")));
        Assert.Equal(1, measured.Count(duration, ("operation", "read")));
        Assert.Equal(1, measured.Count(duration, ("operation", "release")));
        Assert.Equal(1, measured.Count(duration, ("operation", "remove")));
        var timed = measured.All.Where(m => m.Instrument == duration).ToList();
        Assert.Single(timed.Select(m => m.Tags["node"]).Distinct());
        Assert.All(timed, m => Assert.True(m.Value is > 0 and < 60, $"{m.Value} s"));
        Assert.All(timed, m => Assert.Equal("s", m.Unit));

        measured.Observe();
        foreach (var node in new[] { "node-a", "node-b", "node-c" })
        {
            Assert.Equal(1, measured.Last("sessionrouter.node.healthy", ("node", node))?.Value);
        }
    }

    [Fact]
    public async Task PrometheusEndpoint_IsScrapedOverHttp_WithTheNamesAndSaneValues()
    {
        await using var farm = await GatewayFarm.StartAsync(new FarmOptions { Sites = 1 });
        using var client = farm.NewClient();
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/cart/inc")).StatusCode);
        }

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/ro/show")).StatusCode);

        using var admin = new HttpClient { BaseAddress = farm.Address };
        PrometheusText scraped = null!;
        for (var attempt = 0; attempt < 300; attempt++)
        {
            using var response = await admin.GetAsync("/_sessionrouter/metrics");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.MediaType, StringComparison.Ordinal);
            scraped = PrometheusText.Parse(await response.Content.ReadAsStringAsync());
            if (scraped.Sum("sessionrouter_gateway_requests_total") >= 4)
            {
                break;
            }

            await Task.Delay(50);
        }

        Assert.Equal("counter", scraped.Types["sessionrouter_gateway_requests_total"]);
        Assert.Equal(3, scraped.Sum("sessionrouter_gateway_requests_total", ("mode", "read_write"), ("outcome", "ok")));
        Assert.Equal(1, scraped.Sum("sessionrouter_gateway_requests_total", ("mode", "read_only"), ("outcome", "ok")));
        Assert.Equal(1, scraped.Sum("sessionrouter_gateway_sessions_created_total"));

        // The store-call histogram: seconds, cumulative buckets ending in +Inf = count, a positive sum.
        Assert.Equal("histogram", scraped.Types["sessionrouter_gateway_store_duration_seconds"]);
        var saves = ("operation", "save");
        var count = scraped.Sum("sessionrouter_gateway_store_duration_seconds_count", saves);
        Assert.Equal(3, count);
        Assert.InRange(scraped.Sum("sessionrouter_gateway_store_duration_seconds_sum", saves), double.Epsilon, 60);
        var buckets = scraped.Find("sessionrouter_gateway_store_duration_seconds_bucket", saves)
            .OrderBy(b => b.Labels["le"] == "+Inf" ? double.PositiveInfinity : double.Parse(b.Labels["le"], System.Globalization.CultureInfo.InvariantCulture))
            .Select(b => b.Value)
            .ToList();
        Assert.True(buckets.Count > 5);
        Assert.Equal(buckets.Order(), buckets);
        Assert.Equal(count, buckets[^1]);

        Assert.Equal("gauge", scraped.Types["sessionrouter_node_healthy"]);
        Assert.Equal(3, scraped.Find("sessionrouter_node_healthy").Count(s => s.Value == 1));
        Assert.Contains(scraped.Samples, s => s.Name == "target_info" && s.Labels["service_name"] == "sessionrouter-gateway");
    }

    [Fact]
    public async Task OtlpEndpoint_ReceivesTheMetrics_OverHttpProtobuf()
    {
        // A stand-in collector on loopback that keeps what the gateway posts to its metrics path.
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        await using var collector = builder.Build();
        var payloads = new System.Collections.Concurrent.ConcurrentQueue<(string? ContentType, byte[] Body)>();
        collector.MapPost("/v1/metrics", async (HttpContext context) =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            payloads.Enqueue((context.Request.ContentType, body.ToArray()));
            return Results.Ok();
        });
        await collector.StartAsync();
        var collectorAddress = collector.Urls.First();

        await using var farm = await GatewayFarm.StartAsync(new FarmOptions
        {
            Sites = 1,
            Edit = c => c["SessionRouter"]!["Metrics"] = new System.Text.Json.Nodes.JsonObject
            {
                ["OtlpEndpoint"] = collectorAddress,
                ["OtlpProtocol"] = "HttpProtobuf",
                ["OtlpExportInterval"] = "00:00:01",
            },
        });
        using var client = farm.NewClient();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/cart/inc")).StatusCode);

        // Pushed once a second; the instrument's name travels as UTF-8 inside the protobuf payload.
        var name = Encoding.UTF8.GetBytes("sessionrouter.gateway.requests");
        await SessionPipelineTests.WaitUntilAsync(() => payloads.Any(p => p.Body.AsSpan().IndexOf(name) >= 0), attempts: 3000);
        Assert.All(payloads, p => Assert.Equal("application/x-protobuf", p.ContentType));
    }

    [Fact]
    public async Task PrometheusEndpoint_Off_IsNotFound()
    {
        await using var farm = await GatewayFarm.StartAsync(new FarmOptions
        {
            Sites = 1,
            Edit = c => c["SessionRouter"]!["Metrics"] = new System.Text.Json.Nodes.JsonObject { ["Prometheus"] = false },
        });
        using var admin = new HttpClient { BaseAddress = farm.Address };

        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync("/_sessionrouter/metrics")).StatusCode);
    }

    [Fact]
    public async Task Health_IsHealthy_DegradedWithANodeDown_AndUnhealthyWithNoneUp()
    {
        await using var farm = await GatewayFarm.StartAsync(new FarmOptions { Sites = 1 });
        using var admin = new HttpClient { BaseAddress = farm.Address };

        await AssertHealthAsync(admin, HttpStatusCode.OK, "Healthy");

        farm.InMemoryNodes!.Stores["node-b"].Down = true;
        await farm.WaitForHealthAsync("node-b", healthy: false);
        var degraded = await AssertHealthAsync(admin, HttpStatusCode.OK, "Degraded");
        Assert.Contains("node-b", degraded.GetProperty("description").GetString(), StringComparison.Ordinal);

        using (var status = JsonDocument.Parse(await admin.GetStringAsync("/_sessionrouter/status")))
        {
            Assert.Equal("Degraded", status.RootElement.GetProperty("health").GetString());
            var transition = status.RootElement.GetProperty("transitions")[0];
            Assert.Equal("node-b", transition.GetProperty("nodeId").GetString());
            Assert.False(transition.GetProperty("healthy").GetBoolean());
        }

        farm.InMemoryNodes.Stores["node-a"].Down = true;
        farm.InMemoryNodes.Stores["node-c"].Down = true;
        await farm.WaitForHealthAsync(null, healthy: false);
        await AssertHealthAsync(admin, HttpStatusCode.ServiceUnavailable, "Unhealthy");

        foreach (var store in farm.InMemoryNodes.Stores.Values)
        {
            store.Down = false;
        }

        await farm.WaitForHealthAsync(null, healthy: true);
        await AssertHealthAsync(admin, HttpStatusCode.OK, "Healthy");
        using var after = JsonDocument.Parse(await admin.GetStringAsync("/_sessionrouter/status"));
        Assert.True(after.RootElement.GetProperty("transitions")[0].GetProperty("healthy").GetBoolean());
    }

    [Fact]
    public async Task Reports_GiveEachEngineNodesOwnFigures_AndSayWhyANodeGaveNone()
    {
        await using var first = await StateServerRunner.StartAsync(new StateServerOptions { Port = 0, Http2Port = 0, MemoryCapBytes = 1_000_000 });
        await using var second = await StateServerRunner.StartAsync(new StateServerOptions { Port = 0, Http2Port = 0, MemoryCapBytes = 2_000_000, MemoryWarningFraction = 0.5 });
        await using var farm = await GatewayFarm.StartAsync(new FarmOptions
        {
            Sites = 1,
            RealNodes = true,
            NodeAddresses = [first.Http2Address!.ToString(), second.Http2Address!.ToString()],
        });
        using var client = farm.NewClient();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/cart/inc")).StatusCode);
        using var admin = new HttpClient { BaseAddress = farm.Address };

        using (var reports = JsonDocument.Parse(await admin.GetStringAsync("/_sessionrouter/reports")))
        {
            var nodes = reports.RootElement.GetProperty("nodes").EnumerateArray().ToDictionary(n => n.GetProperty("id").GetString()!, n => n.Clone());
            Assert.All(nodes.Values, n => Assert.True(n.GetProperty("reported").GetBoolean(), n.ToString()));
            Assert.Equal(1_000_000, nodes["node-a"].GetProperty("memoryCapBytes").GetInt64());
            Assert.Equal(800_000, nodes["node-a"].GetProperty("memoryWarningBytes").GetInt64());
            Assert.Equal(1_000_000, nodes["node-b"].GetProperty("memoryWarningBytes").GetInt64());
            Assert.Equal(1, nodes.Values.Sum(n => n.GetProperty("sessions").GetInt64()));
            Assert.Equal(first.Store.GetStatistics().BytesHeld + second.Store.GetStatistics().BytesHeld, nodes.Values.Sum(n => n.GetProperty("bytes").GetInt64()));
            Assert.All(nodes.Values, n => Assert.Equal("Healthy", n.GetProperty("status").GetString()));
        }

        await second.StopAsync();

        // The reports are kept for a second: read until the stopped node's shows.
        JsonElement stopped = default;
        for (var attempt = 0; attempt < 100; attempt++)
        {
            using var reports = JsonDocument.Parse(await admin.GetStringAsync("/_sessionrouter/reports"));
            stopped = reports.RootElement.GetProperty("nodes").EnumerateArray().Single(n => n.GetProperty("id").GetString() == "node-b").Clone();
            if (!stopped.GetProperty("reported").GetBoolean())
            {
                break;
            }

            await Task.Delay(50);
        }

        Assert.False(stopped.GetProperty("reported").GetBoolean());
        Assert.False(string.IsNullOrEmpty(stopped.GetProperty("note").GetString()));
    }

    [Fact]
    public async Task StatusPage_IsServedFromTheAssembly_WithItsOwnFilesOnly()
    {
        await using var farm = await GatewayFarm.StartAsync(new FarmOptions { Sites = 1 });
        using var admin = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = farm.Address };

        using (var redirect = await admin.GetAsync("/_sessionrouter/ui"))
        {
            Assert.Equal(HttpStatusCode.Redirect, redirect.StatusCode);
            Assert.Equal("/_sessionrouter/ui/", redirect.Headers.Location?.ToString());
        }

        using var page = await admin.GetAsync("/_sessionrouter/ui/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        Assert.Contains("default-src 'self'", string.Join(" ", page.Headers.GetValues("Content-Security-Policy")), StringComparison.Ordinal);
        var html = await page.Content.ReadAsStringAsync();
        Assert.Contains("status.js", html, StringComparison.Ordinal);
        Assert.DoesNotContain("http://", html, StringComparison.Ordinal);
        Assert.DoesNotContain("https://", html, StringComparison.Ordinal);

        using var script = await admin.GetAsync("/_sessionrouter/ui/status.js");
        Assert.Equal("text/javascript", script.Content.Headers.ContentType?.MediaType);
        using var style = await admin.GetAsync("/_sessionrouter/ui/status.css");
        Assert.Equal("text/css", style.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync("/_sessionrouter/ui/other.js")).StatusCode);
    }

    [Theory]
    [InlineData(false, null, null, "Hidden")]
    [InlineData(true, null, null, "Allowed")]
    [InlineData(false, "an-admin-key-for-tests", null, "Challenge")]
    [InlineData(false, "an-admin-key-for-tests", "Bearer an-admin-key-for-tests", "Allowed")]
    [InlineData(false, "an-admin-key-for-tests", "Bearer not-the-admin-key-at-all", "Challenge")]
    [InlineData(false, "an-admin-key-for-tests", "Basic operator:an-admin-key-for-tests", "Allowed")]
    [InlineData(false, "an-admin-key-for-tests", "Basic operator:wrong", "Challenge")]
    [InlineData(false, "an-admin-key-for-tests", "Digest an-admin-key-for-tests", "Challenge")]
    public void AdminAccess_RemoteCallers_NeedAllowRemoteOrTheKey(bool allowRemote, string? key, string? authorization, string expected)
    {
        // A request object only: no traffic leaves the machine.
        var context = new DefaultHttpContext();
        context.Connection.RemoteIpAddress = IPAddress.Parse("192.0.2.10");
        if (authorization is not null)
        {
            var space = authorization.IndexOf(' ', StringComparison.Ordinal);
            var scheme = authorization[..space];
            var parameter = authorization[(space + 1)..];
            context.Request.Headers.Authorization = scheme == "Basic"
                ? "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(parameter))
                : authorization;
        }

        var verdict = AdminAccess.Check(context, new AdminSettings { AllowRemote = allowRemote, AccessKey = key });

        Assert.Equal(expected, verdict.ToString());
    }

    [Fact]
    public void AdminAccess_LoopbackCallers_NeverNeedTheKey()
    {
        var context = new DefaultHttpContext();
        context.Connection.RemoteIpAddress = IPAddress.IPv6Loopback;

        Assert.Equal(AdminAccessVerdict.Allowed, AdminAccess.Check(context, new AdminSettings { AccessKey = "an-admin-key-for-tests" }));
    }

    private static async Task<JsonElement> AssertHealthAsync(HttpClient admin, HttpStatusCode expectedCode, string expectedStatus)
    {
        using var response = await admin.GetAsync("/_sessionrouter/health");
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(expectedCode == response.StatusCode, $"{(int)response.StatusCode}: {body}");
        using var json = JsonDocument.Parse(body);
        Assert.Equal(expectedStatus, json.RootElement.GetProperty("status").GetString());
        Assert.Equal(expectedStatus, json.RootElement.GetProperty("checks").GetProperty("state-nodes").GetProperty("status").GetString());
        return json.RootElement.Clone();
    }
}
