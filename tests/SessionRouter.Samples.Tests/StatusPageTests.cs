using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Playwright;
using SampleFarm.Hosting;
using SampleFarm.Logging;
using SessionRouter.Samples.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace SessionRouter.Samples.Tests;

/// <summary>
/// The gateway's status page in a real headless chromium, on a farm of its own (a node is stopped here, which the
/// shared farm's other tests must not see): all nodes up, then one down.
/// </summary>
public sealed class StatusPageTests(ITestOutputHelper output)
{
    /// <summary>A hang guard for waits on what the page shows; a healthy run passes each within a few refreshes.</summary>
    private static readonly LocatorAssertionsToHaveTextOptions Eventually = new() { Timeout = 60_000 };

    [Fact]
    public async Task StatusPage_ShowsNodesSessionsAndMemory_ThenANodeDown()
    {
        var artifacts = ArtifactsDirectory();
        await using var logFile = new StreamWriter(Path.Combine(artifacts, "status-page-farm.log"), append: true) { AutoFlush = true };
        await logFile.WriteLineAsync($"==== farm started {DateTime.UtcNow:O} ====");
        await using var farm = await Farm.StartAsync(new FarmOptions
        {
            UseFreePorts = true,
            Log = new FarmLog(TextWriter.Synchronized(logFile), colour: false, LogLevel.Information),
        });
        var gateway = farm.GatewayAddress!;
        await WaitUntilEveryNodeWasProbedAsync(gateway);

        // Six shoppers, six sessions, each kept on all three nodes (the farm's ReplicationFactor is 3).
        for (var i = 0; i < 6; i++)
        {
            using var shopper = new HttpClient(new SocketsHttpHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false }) { BaseAddress = gateway };
            using var added = await shopper.PostAsync("/cart/add", new FormUrlEncodedContent([new("sku", "tea")]));
            Assert.True(added.StatusCode is HttpStatusCode.Redirect or HttpStatusCode.SeeOther, $"add: {(int)added.StatusCode}");
        }

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = BrowserTests.ChromiumPath(), Headless = true });
        var context = await browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 900 } });
        var page = await context.NewPageAsync();
        var consoleErrors = new List<string>();
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                lock (consoleErrors)
                {
                    consoleErrors.Add($"{message.Text} ({message.Location})");
                }
            }
        };

        await page.GotoAsync(new Uri(gateway, "/_sessionrouter/ui/").ToString());

        // All up: healthy, three rows, every node reports its sessions (each holds all six) and memory against the farm's cap.
        await Assertions.Expect(page.GetByTestId("overall-health")).ToHaveTextAsync("Healthy", Eventually);
        await Assertions.Expect(page.GetByTestId("revision")).ToHaveTextAsync("1", Eventually);
        await Assertions.Expect(page.GetByTestId("application")).ToHaveTextAsync("SampleFarm", Eventually);
        await Assertions.Expect(page.Locator("#nodes tr")).ToHaveCountAsync(3, new() { Timeout = 60_000 });
        await page.WaitForFunctionAsync(
            "() => [...document.querySelectorAll('[data-testid=node-sessions]')].reduce((sum, cell) => sum + (parseInt(cell.textContent, 10) || 0), 0) === 18",
            null,
            new PageWaitForFunctionOptions { Timeout = 60_000, PollingInterval = 200 });
        await Assertions.Expect(page.GetByTestId("memory-bar")).ToHaveCountAsync(3, new() { Timeout = 60_000 });
        await Assertions.Expect(page.Locator("[data-testid=node-memory]").First).ToContainTextAsync("64.0 MiB", new() { Timeout = 60_000 });

        // Where does a session live: the page asks the where endpoint.
        await page.GetByTestId("where-input").FillAsync("AAAAAAAAAAAAAAAAAAAAAA");
        await page.GetByTestId("where-button").ClickAsync();
        await Assertions.Expect(page.GetByTestId("where-served-by")).ToContainTextAsync("Served by node-", new() { Timeout = 60_000 });
        await Assertions.Expect(page.GetByTestId("where-replicas")).ToContainTextAsync("2 of them answer each request", new() { Timeout = 60_000 });
        Assert.Equal(3, await page.Locator("#where-result li").CountAsync());

        var allUp = Path.Combine(artifacts, "status-page-all-up.png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = allUp, FullPage = true });

        // One node down: the gateway is Degraded, the row says so, the transition is listed, its memory is not reported.
        await farm.StopEngineNodeAsync("node-b");
        await Assertions.Expect(page.GetByTestId("overall-health")).ToHaveTextAsync("Degraded", Eventually);
        var row = page.Locator("tr[data-node=node-b]");
        await Assertions.Expect(row.GetByTestId("node-health")).ToContainTextAsync("down", new() { Timeout = 60_000 });
        await Assertions.Expect(page.GetByTestId("transitions")).ToContainTextAsync("node-b down", new() { Timeout = 60_000 });
        await Assertions.Expect(page.GetByTestId("memory-bar")).ToHaveCountAsync(2, new() { Timeout = 60_000 });
        await Assertions.Expect(page.GetByTestId("health-description")).ToContainTextAsync("node-b", new() { Timeout = 60_000 });

        // The looked-up session's answer follows node health: never served by the node that is down.
        await Assertions.Expect(page.GetByTestId("where-served-by")).Not.ToContainTextAsync("node-b", new() { Timeout = 60_000 });

        var oneDown = Path.Combine(artifacts, "status-page-one-down.png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = oneDown, FullPage = true });
        output.WriteLine($"screenshots: {allUp}, {oneDown}");
        Console.WriteLine($"Status page screenshots: {allUp}, {oneDown}");
        Assert.True(new FileInfo(oneDown).Length > 10_000);
        lock (consoleErrors)
        {
            // The stopped node's report fails on the gateway's side, never in the page's script.
            Assert.Empty(consoleErrors);
        }
    }

    /// <summary>Under the test results directory when test.sh names it, else beside the test binaries.</summary>
    private static string ArtifactsDirectory()
    {
        var results = Environment.GetEnvironmentVariable("TEST_RESULTS_DIR");
        var directory = string.IsNullOrEmpty(results) ? FarmFixture.ArtifactsDirectory : Path.Combine(results, "artifacts");
        Directory.CreateDirectory(directory);
        return directory;
    }

    private static async Task WaitUntilEveryNodeWasProbedAsync(Uri gateway)
    {
        using var admin = new HttpClient { BaseAddress = gateway };
        for (var attempt = 0; attempt < 600; attempt++)
        {
            using var status = JsonDocument.Parse(await admin.GetStringAsync("/_sessionrouter/status"));
            var nodes = status.RootElement.GetProperty("nodes").EnumerateArray().ToList();
            if (nodes.Count > 0 && nodes.All(n => n.GetProperty("healthy").GetBoolean() && n.GetProperty("lastProbe").ValueKind != JsonValueKind.Null))
            {
                return;
            }

            await Task.Delay(50);
        }

        throw new InvalidOperationException("The farm's gateway never reported every node probed and healthy.");
    }
}
