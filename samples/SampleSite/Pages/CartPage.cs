using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using SampleSite.Cart;
using SampleSite.Hosting;

namespace SampleSite.Pages;

/// <summary>What the cart page shows.</summary>
public sealed record CartPageModel(
    string ServedBy,
    string? ChangedBy,
    string ServerAddress,
    string SessionMode,
    string? SessionIdPrefix,
    string? SessionProblem,
    int PageViews,
    ShoppingCart Cart,
    StateNodeAnswer StateNode);

/// <summary>Renders the cart page: plain HTML forms, so it works without script; one small script fills the read-only summary.</summary>
public static class CartPage
{
    private static readonly HtmlEncoder Html = HtmlEncoder.Default;

    public static string Render(CartPageModel model)
    {
        var html = new StringBuilder(4096);
        html.Append("""
            <!doctype html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>SessionRouter sample shop</title>
            <link rel="stylesheet" href="/static/site.css">
            </head>
            <body>
            <header><h1>SessionRouter sample shop</h1>
            <p class="tagline">Three web servers, three state nodes, one gateway. Any server may serve any request: the cart lives in the session, not on the server.</p></header>
            <main>
            """);

        html.Append("<section class=\"facts\"><h2>This request</h2><dl>");
        Fact(html, "served-by", "Served by web server", $"{model.ServedBy} ({model.ServerAddress})");
        if (model.ChangedBy is not null)
        {
            Fact(html, "changed-by", "Your last change was made by web server", model.ChangedBy);
        }

        Fact(html, "session-mode", "Session mode of this route", model.SessionMode);
        Fact(html, "session-id", "Session", model.SessionIdPrefix is null ? "none" : model.SessionIdPrefix + "… (first characters only)");
        var node = model.StateNode.NodeId ?? "unknown: " + model.StateNode.Problem;
        if (model.StateNode.PreferenceList.Count > 0)
        {
            node += " (preference list: " + string.Join(" → ", model.StateNode.PreferenceList) + ")";
        }

        Fact(html, "state-node", "State node holding the session (asked from the gateway's admin endpoint)", node);
        Fact(html, "page-views", "Cart page views in this session", model.PageViews.ToString(CultureInfo.InvariantCulture));
        html.Append("</dl></section>");

        if (model.SessionProblem is not null)
        {
            html.Append("<p class=\"problem\" data-testid=\"session-problem\">No session on this request: ")
                .Append(Html.Encode(model.SessionProblem))
                .Append(". Open the shop through the gateway (the farm prints its address).</p>");
        }

        html.Append("<section><h2>Products</h2><ul class=\"products\">");
        foreach (var product in Catalog.Products)
        {
            html.Append("<li><form method=\"post\" action=\"/cart/add\"><span class=\"name\">")
                .Append(Html.Encode(product.Name)).Append("</span> <span class=\"price\">")
                .Append(Html.Encode(ShoppingCart.FormatCents(product.PriceCents))).Append("</span>")
                .Append("<input type=\"hidden\" name=\"sku\" value=\"").Append(Html.Encode(product.Sku)).Append("\">")
                .Append("<input type=\"number\" name=\"quantity\" value=\"1\" min=\"1\" max=\"").Append(ShoppingCart.MaxQuantityPerLine).Append("\" aria-label=\"Quantity\">")
                .Append("<button type=\"submit\" data-testid=\"add-").Append(Html.Encode(product.Sku)).Append("\">Add to cart</button></form></li>");
        }

        html.Append("</ul></section>");

        html.Append("<section><h2>Cart</h2>");
        if (model.Cart.Lines.Count == 0)
        {
            html.Append("<p data-testid=\"cart-empty\">The cart is empty.</p>");
        }
        else
        {
            html.Append("<table data-testid=\"cart\"><thead><tr><th>Product</th><th>Quantity</th><th>Price</th><th></th></tr></thead><tbody>");
            foreach (var (sku, quantity) in model.Cart.Lines)
            {
                var product = Catalog.Find(sku)!;
                html.Append("<tr data-sku=\"").Append(Html.Encode(sku)).Append("\"><td>").Append(Html.Encode(product.Name))
                    .Append("</td><td class=\"quantity\">").Append(quantity)
                    .Append("</td><td>").Append(Html.Encode(ShoppingCart.FormatCents(product.PriceCents * quantity)))
                    .Append("</td><td><form method=\"post\" action=\"/cart/remove\"><input type=\"hidden\" name=\"sku\" value=\"")
                    .Append(Html.Encode(sku)).Append("\"><button type=\"submit\">Remove</button></form></td></tr>");
            }

            html.Append("</tbody></table>");
        }

        html.Append("<p>Items: <strong data-testid=\"cart-count\">").Append(model.Cart.ItemCount)
            .Append("</strong> · Total: <strong data-testid=\"cart-total\">").Append(Html.Encode(ShoppingCart.FormatCents(model.Cart.TotalCents)))
            .Append("</strong></p>");
        html.Append("""
            <div class="actions">
            <form method="post" action="/cart/clear"><button type="submit" data-testid="clear">Empty the cart</button></form>
            <form method="post" action="/session/abandon"><button type="submit" data-testid="abandon">Abandon the session</button></form>
            </div></section>
            <section><h2>Read-only summary</h2>
            <p>Fetched by script from <a href="/cart/summary">/cart/summary</a>, a read-only route: it never waits for a writer and never saves.</p>
            <pre id="summary" data-testid="summary">loading…</pre></section>
            </main>
            <script src="/static/summary.js"></script>
            </body></html>
            """);
        return html.ToString();
    }

    private static void Fact(StringBuilder html, string id, string label, string value)
        => html.Append("<dt>").Append(Html.Encode(label)).Append("</dt><dd data-testid=\"").Append(id).Append("\">")
            .Append(Html.Encode(value)).Append("</dd>");
}
