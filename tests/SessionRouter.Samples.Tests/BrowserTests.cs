using Microsoft.Playwright;
using SessionRouter.Samples.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace SessionRouter.Samples.Tests;

/// <summary>A real headless chromium walks the sample shop through the gateway.</summary>
[Collection(FarmCollection.Name)]
public sealed class BrowserTests(FarmFixture farm, ITestOutputHelper output)
{
    private static string ChromiumPath()
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

        await page.GotoAsync(farm.Gateway.ToString());
        Assert.Equal("0", await page.GetByTestId("cart-count").InnerTextAsync());

        var servedBy = new List<string>();
        var clicks = new[] { "tea", "mug", "tea", "kettle", "tea" };
        for (var i = 0; i < clicks.Length; i++)
        {
            // The form posts, the site redirects, the browser loads the page again: maybe from another server.
            await page.GetByTestId("add-" + clicks[i]).ClickAsync();
            await page.WaitForURLAsync(url => url.Contains("changedBy=", StringComparison.Ordinal));
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
        Assert.Equal("3", await page.Locator("tr[data-sku=tea] td.quantity").InnerTextAsync());
        Assert.Equal("1", await page.Locator("tr[data-sku=mug] td.quantity").InnerTextAsync());
        Assert.Equal("1", await page.Locator("tr[data-sku=kettle] td.quantity").InnerTextAsync());
        Assert.Equal("€51.40", await page.GetByTestId("cart-total").InnerTextAsync());

        // The read-only summary, fetched by script from /cart/summary, sees the same cart.
        await Assertions.Expect(page.GetByTestId("summary")).ToContainTextAsync("5 item(s)");
        await Assertions.Expect(page.GetByTestId("summary")).ToContainTextAsync("ReadOnly");
        Assert.Matches("^node-[abc]", await page.GetByTestId("state-node").InnerTextAsync());

        var screenshot = Path.Combine(FarmFixture.ArtifactsDirectory, "sample-farm-cart.png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = screenshot, FullPage = true });
        output.WriteLine("screenshot: " + screenshot);
        Console.WriteLine("Sample farm screenshot: " + screenshot);
        Assert.True(new FileInfo(screenshot).Length > 10_000);

        // A reload is a new request, possibly to another server: the cart is still there.
        await page.ReloadAsync();
        Assert.Equal("5", await page.GetByTestId("cart-count").InnerTextAsync());

        // Abandon: the gateway removes the session and expires the cookie.
        await page.GetByTestId("abandon").ClickAsync();
        await page.WaitForURLAsync(url => url.Contains("changedBy=", StringComparison.Ordinal));
        await Assertions.Expect(page.GetByTestId("cart-count")).ToHaveTextAsync("0");
    }
}
