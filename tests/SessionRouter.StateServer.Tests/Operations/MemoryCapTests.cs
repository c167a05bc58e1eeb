using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using SessionRouter.StateServer.Hosting;
using SessionRouter.StateServer.Storage;
using SessionRouter.Testing.Metrics;

namespace SessionRouter.StateServer.Tests.Operations;

/// <summary>A real engine filled to its memory cap: the refusal, the warning, the health status, nothing evicted.</summary>
public sealed class MemoryCapTests
{
    // Forty sessions of 1,000 bytes under ten-byte ids fill the cap exactly; the warning comes at half of it (20)
    // and is over below 45% of the cap (fewer than 18 sessions).
    private const int DataBytes = 1000;
    private const int Sessions = 40;
    private const int AtWarning = Sessions / 2;
    private static readonly long SessionFootprint = InMemorySessionStore.Footprint("session-00".Length + DataBytes);
    private static readonly long Cap = SessionFootprint * Sessions;

    private const int WarningEvent = 200;
    private const int FullEvent = 201;
    private const int RelievedEvent = 202;

    [Fact]
    public async Task FilledToItsCap_RefusesNewSessions_WarnsOncePerCrossing_ReportsDegraded_AndEvictsNothing()
    {
        var logs = new CapturedLogs();
        using var loggers = LoggerFactory.Create(logging => logging.AddProvider(logs).SetMinimumLevel(LogLevel.Information));
        await using var node = await StateServerRunner.StartAsync(
            new StateServerOptions { Port = 0, Http2Port = -1, MemoryCapBytes = Cap, MemoryWarningFraction = 0.5 },
            loggers);
        using var http = new HttpClient { BaseAddress = node.ClassicAddress };

        var health = await ReadHealthAsync(http);
        Assert.Equal("Healthy", health.GetProperty("status").GetString());
        Assert.Equal(Cap, health.GetProperty("memoryCapBytes").GetInt64());
        Assert.Equal(Cap / 2, health.GetProperty("memoryWarningBytes").GetInt64());

        // Below half of the cap: healthy, no warning.
        for (var i = 0; i < AtWarning - 1; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await PutAsync(http, i)).StatusCode);
        }

        Assert.Equal("Healthy", (await ReadHealthAsync(http)).GetProperty("status").GetString());
        Assert.Equal(0, logs.Count(WarningEvent));

        // The next one reaches half: one warning, Degraded (still 200: the node serves every session it holds).
        Assert.Equal(HttpStatusCode.OK, (await PutAsync(http, AtWarning - 1)).StatusCode);
        Assert.True(logs.Count(WarningEvent) == 1, logs.Dump());
        health = await ReadHealthAsync(http);
        Assert.Equal("Degraded", health.GetProperty("status").GetString());
        Assert.Equal("Warning", health.GetProperty("memoryLevel").GetString());

        // Hovering at the line is not a new crossing: one session away and back, still one warning.
        Assert.Equal(HttpStatusCode.OK, (await http.DeleteAsync(Key(AtWarning - 1))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await PutAsync(http, AtWarning - 1)).StatusCode);
        Assert.True(logs.Count(WarningEvent) == 1, logs.Dump());
        Assert.Equal(0, logs.Count(RelievedEvent));

        for (var i = AtWarning; i < Sessions; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await PutAsync(http, i)).StatusCode);
        }

        Assert.Equal(Cap, node.Store.GetStatistics().BytesHeld);

        // At the cap: a new session is refused with a message that says why; one error line for the first refusal.
        using (var refused = await PutAsync(http, Sessions))
        {
            Assert.Equal(HttpStatusCode.InsufficientStorage, refused.StatusCode);
            Assert.Equal("CapacityExceeded", refused.Headers.GetValues("X-SR-Status").Single());
            Assert.Contains("memory cap", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.Equal(HttpStatusCode.InsufficientStorage, (await PutAsync(http, Sessions + 1)).StatusCode);
        Assert.Equal(1, logs.Count(FullEvent));
        Assert.Equal(1, logs.Count(WarningEvent));

        // Stored sessions stay readable and writable: nothing was evicted to make room.
        Assert.Equal(HttpStatusCode.OK, (await PutAsync(http, 3, fill: 7)).StatusCode);
        for (var i = 0; i < Sessions; i++)
        {
            using var read = await http.GetAsync(Key(i));
            Assert.Equal(HttpStatusCode.OK, read.StatusCode);
            var data = await read.Content.ReadAsByteArrayAsync();
            Assert.Equal(DataBytes, data.Length);
            Assert.Equal(i == 3 ? 7 : i, data[0]);
        }

        var statistics = node.Store.GetStatistics();
        Assert.Equal(Sessions, statistics.ActiveSessions);
        Assert.Equal(2, statistics.RefusedCapacity);
        health = await ReadHealthAsync(http);
        Assert.Equal("Degraded", health.GetProperty("status").GetString());
        Assert.Equal("Full", health.GetProperty("memoryLevel").GetString());
        Assert.Equal(2, health.GetProperty("refusedCapacity").GetInt64());

        // The scrape says the same.
        var scraped = PrometheusText.Parse(await http.GetStringAsync("/metrics"));
        Assert.Equal(Sessions, scraped.Sum("sessionrouter_stateserver_sessions_active"));
        Assert.Equal(Cap, scraped.Sum("sessionrouter_stateserver_memory_held_bytes"));
        Assert.Equal(Cap, scraped.Sum("sessionrouter_stateserver_memory_limit_bytes"));
        Assert.Equal(2, scraped.Sum("sessionrouter_stateserver_refusals_total", ("reason", "capacity")));

        // Freed well below the warning level: one line saying so, healthy again, new sessions taken.
        for (var i = 0; i < Sessions - AtWarning + 3; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await http.DeleteAsync(Key(i))).StatusCode);
        }

        Assert.Equal(1, logs.Count(RelievedEvent));
        Assert.Equal("Healthy", (await ReadHealthAsync(http)).GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.OK, (await PutAsync(http, Sessions)).StatusCode);
        Assert.True(logs.Lines.Single(l => l.EventId == FullEvent && l.Category.EndsWith("InMemorySessionStore", StringComparison.Ordinal)).Level == LogLevel.Error, logs.Dump());
        Assert.True(logs.Lines.Single(l => l.EventId == WarningEvent && l.Category.EndsWith("InMemorySessionStore", StringComparison.Ordinal)).Level == LogLevel.Warning, logs.Dump());
    }

    private static string Key(int i) => $"/app/session-{i:00}";

    private static Task<HttpResponseMessage> PutAsync(HttpClient http, int i, int? fill = null)
    {
        var data = new byte[DataBytes];
        Array.Fill(data, (byte)(fill ?? i));
        return http.PutAsync(Key(i), new ByteArrayContent(data));
    }

    private static async Task<JsonElement> ReadHealthAsync(HttpClient http)
    {
        using var response = await http.GetAsync("/health");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return json.RootElement.Clone();
    }
}
