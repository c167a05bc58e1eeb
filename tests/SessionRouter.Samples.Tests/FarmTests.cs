using System.Net;
using System.Text.Json;
using SessionRouter.Samples.Tests.Infrastructure;
using Xunit;
using static SessionRouter.Samples.Tests.Infrastructure.CartPageText;

namespace SessionRouter.Samples.Tests;

/// <summary>The sample farm over HTTP: the cart lives in the session, whichever web server answers.</summary>
[Collection(FarmCollection.Name)]
public sealed class FarmTests(FarmFixture farm)
{
    [Fact]
    public void Farm_StartsWhatTheRepositoryYarpJsonNames()
    {
        Assert.Equal(["node-a", "node-b", "node-c"], farm.Farm.Nodes.Select(n => n.Id));
        Assert.Equal(["site-1", "site-2", "site-3"], farm.Farm.Sites.Select(s => s.Name));
        Assert.NotNull(farm.Farm.GatewayAddress);
    }

    [Fact]
    public async Task Cart_SurvivesAcrossWebServers()
    {
        using var browser = farm.NewBrowser();
        var servedBy = new HashSet<string>();
        var added = 0;
        string? stateNode = null;
        foreach (var sku in new[] { "tea", "mug", "tea", "kettle", "biscuits", "tea" })
        {
            using var add = await browser.PostAsync("/cart/add", new FormUrlEncodedContent([new("sku", sku), new("quantity", "1")]));
            await farm.ExpectStatusAsync(add, HttpStatusCode.Redirect);
            added++;

            var page = await farm.GetPageAsync(browser, add.Headers.Location!.OriginalString);
            servedBy.Add(ServedBy(page));
            servedBy.Add(Field(page, "changed-by"));
            Assert.Equal(added.ToString(), Field(page, "cart-count"));

            // The session stays on one state node; the page learns it from the gateway's admin endpoint.
            var stateNodeText = Field(page, "state-node");
            var node = stateNodeText.Split(' ')[0];
            Assert.True(node is "node-a" or "node-b" or "node-c", await farm.ExplainAsync($"The page names no state node: \"{stateNodeText}\"."));
            Assert.True(stateNode is null || stateNode == node, $"The session moved from {stateNode} to {node}.");
            stateNode = node;
        }

        Assert.True(servedBy.Count >= 2, "Round robin should have spread the pages over several web servers; saw " + string.Join(", ", servedBy));
    }

    [Fact]
    public async Task Summary_IsReadOnly_AndSeesTheCart()
    {
        using var browser = farm.NewBrowser();
        using (var add = await browser.PostAsync("/cart/add", new FormUrlEncodedContent([new("sku", "mug"), new("quantity", "2")])))
        {
            await farm.ExpectStatusAsync(add, HttpStatusCode.Redirect);
        }

        using var summaryJson = JsonDocument.Parse(await farm.GetPageAsync(browser, "/cart/summary"));
        var summary = summaryJson.RootElement;
        Assert.Equal("ReadOnly", summary.GetProperty("sessionMode").GetString());
        Assert.Equal(2, summary.GetProperty("itemCount").GetInt32());
        Assert.Equal("€16.00", summary.GetProperty("total").GetString());
    }

    [Fact]
    public async Task StaticFiles_AndHealth_RunWithoutSession()
    {
        using var browser = farm.NewBrowser();
        using var css = await browser.GetAsync("/static/site.css");
        await farm.ExpectStatusAsync(css, HttpStatusCode.OK);
        Assert.Equal("text/css", css.Content.Headers.ContentType!.MediaType);

        using var health = await browser.GetAsync("/health");
        await farm.ExpectStatusAsync(health, HttpStatusCode.OK);
        Assert.StartsWith("ok site-", await health.Content.ReadAsStringAsync());
        Assert.False(health.Headers.Contains("Set-Cookie"));
    }

    [Fact]
    public async Task Abandon_EmptiesTheCart_AndStartsANewSession()
    {
        using var browser = farm.NewBrowser();
        using (var add = await browser.PostAsync("/cart/add", new FormUrlEncodedContent([new("sku", "tea"), new("quantity", "3")])))
        {
            await farm.ExpectStatusAsync(add, HttpStatusCode.Redirect);
        }

        var before = await farm.GetPageAsync(browser, "/");
        Assert.Equal("3", Field(before, "cart-count"));

        using (var abandon = await browser.PostAsync("/session/abandon", null))
        {
            await farm.ExpectStatusAsync(abandon, HttpStatusCode.Redirect);
        }

        var after = await farm.GetPageAsync(browser, "/");
        Assert.Equal("0", Field(after, "cart-count"));
        Assert.NotEqual(Field(before, "session-id"), Field(after, "session-id"));
    }

    [Fact]
    public async Task Clear_EmptiesTheCart_ButKeepsTheSession()
    {
        using var browser = farm.NewBrowser();
        using (var add = await browser.PostAsync("/cart/add", new FormUrlEncodedContent([new("sku", "tea"), new("quantity", "1")])))
        {
            await farm.ExpectStatusAsync(add, HttpStatusCode.Redirect);
        }

        var before = await farm.GetPageAsync(browser, "/");
        using (var clear = await browser.PostAsync("/cart/clear", null))
        {
            await farm.ExpectStatusAsync(clear, HttpStatusCode.Redirect);
        }

        var after = await farm.GetPageAsync(browser, "/");

        Assert.Equal("0", Field(after, "cart-count"));
        Assert.Equal(Field(before, "session-id"), Field(after, "session-id"));
        Assert.Equal(int.Parse(Field(before, "page-views")) + 1, int.Parse(Field(after, "page-views")));
    }

    [Fact]
    public async Task WebServerHitDirectly_HasNoSession_AndRefusesChanges()
    {
        using var direct = new HttpClient { BaseAddress = farm.Farm.Sites[0].Address };
        var page = await farm.GetPageAsync(direct, "/");
        Assert.Contains("no SessionRouter headers", Field(page, "session-problem"));

        using var add = await direct.PostAsync("/cart/add", new FormUrlEncodedContent([new("sku", "tea"), new("quantity", "1")]));
        Assert.Equal(HttpStatusCode.Conflict, add.StatusCode);
    }
}

[CollectionDefinition(Name)]
public sealed class FarmCollection : ICollectionFixture<FarmFixture>
{
    public const string Name = "Sample farm";
}
