using Microsoft.Playwright;
using SessionRouter.Samples.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace SessionRouter.Samples.Tests;

/// <summary>A real headless chromium walks the sample shop through the gateway.</summary>
[Collection(FarmCollection.Name)]
public sealed class BrowserTests(FarmFixture farm, ITestOutputHelper output)
{
    internal static string ChromiumPath()
    {
        // The binary itself skips Debian's wrapper script (which prints a harmless shell warning).
        foreach (var candidate in new[] { "/usr/lib/chromium/chromium", "/usr/bin/chromium" })
        {
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException("chromium is not installed (apt-get install chromium; test.sh installs it).");
    }

    [Fact]
    public async Task Browser_FillsTheCart_AcrossWebServers_AndTheCartSurvives()
    {
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = ChromiumPath(), Headless = true });
        var context = await browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1100, Height = 1300 } });
        var page = await context.NewPageAsync();

        // Every request the page makes and how it ended: a failure shows whether a click's POST left the browser.
        var traffic = new List<string>();
        void Note(string line)
        {
            lock (traffic)
            {
                traffic.Add($"{DateTime.Now:HH:mm:ss.fff} {line}");
            }
        }

        page.Request += (_, r) => Note($"→ {r.Method} {r.Url}");
        page.Response += (_, r) => Note($"← {r.Status} {r.Request.Method} {r.Url}");
        page.RequestFailed += (_, r) => Note($"✗ {r.Method} {r.Url}: {r.Failure}");

        var step = "open the shop";
        try
        {
            await page.GotoAsync(farm.Gateway.ToString());
            Assert.Equal("0", await page.GetByTestId("cart-count").InnerTextAsync());

            var servedBy = new List<string>();
            var clicks = new[] { "tea", "mug", "tea", "kettle", "tea" };
            for (var i = 0; i < clicks.Length; i++)
            {
                // The form posts, the site redirects, the browser loads the page again: maybe from another server.
                // The wait starts before the click and ends with the page the redirect leads to; the URL alone
                // cannot tell (every page after the first click has changedBy= in its URL).
                step = $"click {i + 1} (add {clicks[i]})";
                await ClickAndWaitForNextPageAsync(page, page.GetByTestId("add-" + clicks[i]));
                await Assertions.Expect(page.GetByTestId("cart-count")).ToHaveTextAsync((i + 1).ToString());
                var changedBy = await page.GetByTestId("changed-by").InnerTextAsync();
                var shownBy = (await page.GetByTestId("served-by").InnerTextAsync()).Split(' ')[0];
                servedBy.Add(changedBy + "→" + shownBy);
                Assert.NotEqual(changedBy, shownBy);
            }

            output.WriteLine("change → page served by: " + string.Join(", ", servedBy));
            // Round robin sends the change (POST) and the page that follows (GET) to different servers: each page
            // shows a cart that another server wrote.
            Assert.Equal(clicks.Length, servedBy.Count);

            // The cart as rendered: tea ×3, mug ×1, kettle ×1.
            step = "read the cart";
            Assert.Equal("3", await page.Locator("tr[data-sku=tea] td.quantity").InnerTextAsync());
            Assert.Equal("1", await page.Locator("tr[data-sku=mug] td.quantity").InnerTextAsync());
            Assert.Equal("1", await page.Locator("tr[data-sku=kettle] td.quantity").InnerTextAsync());
            Assert.Equal("€51.40", await page.GetByTestId("cart-total").InnerTextAsync());

            // The read-only summary, fetched by script from /cart/summary, sees the same cart.
            step = "read the summary";
            await Assertions.Expect(page.GetByTestId("summary")).ToContainTextAsync("5 item(s)");
            await Assertions.Expect(page.GetByTestId("summary")).ToContainTextAsync("ReadOnly");
            Assert.Matches("^node-[abc]", await page.GetByTestId("state-node").InnerTextAsync());

            step = "take the screenshot";
            var screenshot = Path.Combine(FarmFixture.ArtifactsDirectory, "sample-farm-cart.png");
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = screenshot, FullPage = true });
            output.WriteLine("screenshot: " + screenshot);
            Console.WriteLine("Sample farm screenshot: " + screenshot);
            Assert.True(new FileInfo(screenshot).Length > 10_000);

            // A reload is a new request, possibly to another server: the cart is still there.
            step = "reload";
            await page.ReloadAsync();
            Assert.Equal("5", await page.GetByTestId("cart-count").InnerTextAsync());

            // Abandon: the gateway removes the session and expires the cookie.
            step = "abandon";
            await ClickAndWaitForNextPageAsync(page, page.GetByTestId("abandon"));
            await Assertions.Expect(page.GetByTestId("cart-count")).ToHaveTextAsync("0");
        }
        catch (Exception error) when (error is not OutOfMemoryException)
        {
            string[] seen;
            lock (traffic)
            {
                seen = [.. traffic];
            }

            var content = await TryReadPageAsync(page);
            throw new InvalidOperationException(
                await farm.ExplainAsync($"The browser walk failed at: {step}.{Environment.NewLine}{error.Message}{Environment.NewLine}---- page requests ----{Environment.NewLine}{string.Join(Environment.NewLine, seen)}{Environment.NewLine}---- page now ({page.Url}) ----{Environment.NewLine}{content}"),
                error);
        }
    }

    /// <summary>Clicks a form button and waits for the document the form's redirect leads to (the /?changedBy= page).</summary>
    private static Task ClickAndWaitForNextPageAsync(IPage page, ILocator button)
        => page.RunAndWaitForResponseAsync(
            () => button.ClickAsync(),
            response => response.Request.ResourceType == "document" && response.Request.Method == "GET" && response.Url.Contains("changedBy=", StringComparison.Ordinal));

    private static async Task<string> TryReadPageAsync(IPage page)
    {
        try
        {
            var html = await page.ContentAsync();
            return html.Length <= 4000 ? html : html[..4000] + "…";
        }
        catch (PlaywrightException error)
        {
            return "(could not read the page: " + error.Message + ")";
        }
    }
}
