using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Headers;
using Microsoft.Extensions.Logging.Abstractions;
using SessionRouter.Core.Configuration;
using SessionRouter.StateServer.Hosting;
using SessionRouter.StateServer.Storage;
using SessionRouter.Testing.Metrics;

namespace SessionRouter.StateServer.Tests.Operations;

/// <summary>The engine's /metrics and /health rules, its metrics read in process, and the settings' validation.</summary>
public sealed class OperationsEndpointTests
{
    private const string Key = "a-long-enough-access-key-for-tests";

    [Fact]
    public async Task Metrics_AreScrapedOnBothPorts_WithTheStoreFigures()
    {
        await using var node = await StateServerRunner.StartAsync(new StateServerOptions { Port = 0, Http2Port = 0, MemoryCapBytes = 1_000_000 });
        using var http = new HttpClient { BaseAddress = node.ClassicAddress };
        Assert.Equal(HttpStatusCode.OK, (await http.PutAsync("/app/one", new ByteArrayContent(new byte[100]))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.PutAsync("/app/two", new ByteArrayContent(new byte[100]))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.DeleteAsync("/app/two")).StatusCode);

        using var response = await http.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var scraped = PrometheusText.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(1, scraped.Sum("sessionrouter_stateserver_sessions_active"));
        Assert.Equal(2, scraped.Sum("sessionrouter_stateserver_sessions_created_total"));
        Assert.Equal(1, scraped.Sum("sessionrouter_stateserver_sessions_abandoned_total"));
        Assert.Equal(node.Store.GetStatistics().BytesHeld, scraped.Sum("sessionrouter_stateserver_memory_held_bytes"));
        Assert.Equal(1_000_000, scraped.Sum("sessionrouter_stateserver_memory_limit_bytes"));
        Assert.Equal("counter", scraped.Types["sessionrouter_stateserver_sessions_created_total"]);
        Assert.Contains(scraped.Samples, s => s.Name == "target_info" && s.Labels["service_name"] == "sessionrouter-stateserver");

        // The HTTP/2 port serves the same endpoint.
        using var h2 = new HttpClient { BaseAddress = node.Http2Address, DefaultRequestVersion = HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };
        Assert.Equal(HttpStatusCode.OK, (await h2.GetAsync("/metrics")).StatusCode);
    }

    [Fact]
    public async Task TwoNodesInOneProcess_EachReportsOnlyItsOwnStore()
    {
        await using var first = await StateServerRunner.StartAsync(new StateServerOptions { Port = 0, Http2Port = -1 });
        await using var second = await StateServerRunner.StartAsync(new StateServerOptions { Port = 0, Http2Port = -1 });
        using var http = new HttpClient { BaseAddress = first.ClassicAddress };
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await http.PutAsync($"/app/s{i}", new ByteArrayContent(new byte[10]))).StatusCode);
        }

        using var other = new HttpClient { BaseAddress = second.ClassicAddress };
        var firstScrape = PrometheusText.Parse(await http.GetStringAsync("/metrics"));
        var secondScrape = PrometheusText.Parse(await other.GetStringAsync("/metrics"));

        Assert.Single(firstScrape.Find("sessionrouter_stateserver_sessions_active"));
        Assert.Equal(3, firstScrape.Sum("sessionrouter_stateserver_sessions_active"));
        Assert.Equal(0, secondScrape.Sum("sessionrouter_stateserver_sessions_active"));
    }

    [Fact]
    public async Task WithAnAccessKey_MetricsAndHealth_NeedTheKey()
    {
        await using var node = await StateServerRunner.StartAsync(new StateServerOptions { Port = 0, Http2Port = -1, AccessKey = Key });
        using var http = new HttpClient { BaseAddress = node.ClassicAddress };

        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("/metrics")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("/health")).StatusCode);

        using var bearer = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        bearer.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Key);
        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(bearer)).StatusCode);

        using var health = new HttpRequestMessage(HttpMethod.Get, "/health");
        health.Headers.Add("X-SR-Access-Key", Key);
        using var answered = await http.SendAsync(health);
        Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
        Assert.Equal("2.0.50727", answered.Headers.GetValues("X-AspNet-Version").Single());
    }

    [Fact]
    public async Task Health_AnswersHead_AndRefusesOtherMethods()
    {
        await using var node = await StateServerRunner.StartAsync(new StateServerOptions { Port = 0, Http2Port = -1 });
        using var http = new HttpClient { BaseAddress = node.ClassicAddress };

        using var head = await http.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/health"));
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        using var post = await http.PostAsync("/health", new ByteArrayContent([]));
        Assert.Equal(HttpStatusCode.MethodNotAllowed, post.StatusCode);
    }

    [Fact]
    public async Task PrometheusOff_MetricsIsNotFound_AndTheProtocolIsUntouched()
    {
        await using var node = await StateServerRunner.StartAsync(new StateServerOptions { Port = 0, Http2Port = -1, Metrics = new MetricsSettings { Prometheus = false } });
        using var http = new HttpClient { BaseAddress = node.ClassicAddress };

        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/metrics")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.PutAsync("/app/one", new ByteArrayContent([1]))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/app/one")).StatusCode);
    }

    [Fact]
    public async Task StoreMetrics_AreReadBackWithAMeterListener()
    {
        using var meterFactory = new TestMeterFactory();
        using var measured = new ScopedMeasurements(meterFactory);
        using var store = new InMemorySessionStore(new InMemorySessionStoreOptions { MemoryCapBytes = 10_000 }, TimeProvider.System, meterFactory, NullLogger.Instance);
        var key = new Core.Storage.SessionKey("app", "one");
        await store.SetAsync(key, new Core.Storage.SessionWrite(new byte[100], TimeSpan.FromMinutes(1), null, null));

        measured.Observe();

        Assert.Equal(1, measured.Last("sessionrouter.stateserver.sessions.active")?.Value);
        Assert.Equal(store.GetStatistics().BytesHeld, measured.Last("sessionrouter.stateserver.memory.held")?.Value);
        Assert.Equal("By", measured.Last("sessionrouter.stateserver.memory.held")?.Unit);
        Assert.Equal(10_000, measured.Last("sessionrouter.stateserver.memory.limit")?.Value);
        Assert.Equal(0, measured.Last("sessionrouter.stateserver.refusals", ("reason", "capacity"))?.Value);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.5)]
    [InlineData(double.NaN)]
    public void MemoryWarningFraction_OutOfRange_IsNamed(double fraction)
    {
        var errors = StateServerOptionsValidator.Validate(new StateServerOptions { MemoryWarningFraction = fraction });

        Assert.StartsWith("StateServer:MemoryWarningFraction ", Assert.Single(errors), StringComparison.Ordinal);
    }

    [Fact]
    public void MetricsSettings_Faults_AreNamedEachAtOnce()
    {
        var errors = StateServerOptionsValidator.Validate(new StateServerOptions
        {
            Metrics = new MetricsSettings { OtlpEndpoint = "collector:4317", OtlpExportInterval = TimeSpan.Zero },
        });

        Assert.Equal(2, errors.Count);
        Assert.Contains(errors, e => e.StartsWith("StateServer:Metrics:OtlpEndpoint ", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("StateServer:Metrics:OtlpExportInterval ", StringComparison.Ordinal));
    }

    private sealed class TestMeterFactory : IMeterFactory
    {
        private readonly List<Meter> _meters = [];

        public Meter Create(MeterOptions options)
        {
            var meter = new Meter(options.Name, options.Version, options.Tags, scope: this);
            _meters.Add(meter);
            return meter;
        }

        public void Dispose()
        {
            foreach (var meter in _meters)
            {
                meter.Dispose();
            }
        }
    }
}
