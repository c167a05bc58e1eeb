using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace SampleSite.Cart;

/// <summary>
/// The cart as it lives in <c>HttpContext.Session</c>: one entry <c>cart</c> holding a JSON object of
/// sku → quantity (UTF-8 text, so any backend in any language reads it too).
/// </summary>
public sealed class ShoppingCart
{
    public const string SessionKey = "cart";
    public const int MaxQuantityPerLine = 99;

    private readonly SortedDictionary<string, int> _lines;

    private ShoppingCart(SortedDictionary<string, int> lines) => _lines = lines;

    public IReadOnlyDictionary<string, int> Lines => _lines;

    public int ItemCount => _lines.Values.Sum();

    public int TotalCents => _lines.Sum(line => (Catalog.Find(line.Key)?.PriceCents ?? 0) * line.Value);

    public static ShoppingCart Load(ISession session)
    {
        var json = session.GetString(SessionKey);
        if (string.IsNullOrEmpty(json))
        {
            return new ShoppingCart(new(StringComparer.Ordinal));
        }

        try
        {
            var lines = JsonSerializer.Deserialize<Dictionary<string, int>>(json) ?? [];
            return new ShoppingCart(new(lines.Where(l => Catalog.Find(l.Key) is not null && l.Value > 0).ToDictionary(), StringComparer.Ordinal));
        }
        catch (JsonException)
        {
            // A cart this version cannot read starts empty rather than failing every page.
            return new ShoppingCart(new(StringComparer.Ordinal));
        }
    }

    public void Add(Product product, int quantity)
    {
        _lines.TryGetValue(product.Sku, out var current);
        _lines[product.Sku] = Math.Clamp(current + quantity, 1, MaxQuantityPerLine);
    }

    public void Remove(string sku) => _lines.Remove(sku);

    public void Save(ISession session)
    {
        if (_lines.Count == 0)
        {
            session.Remove(SessionKey);
        }
        else
        {
            session.SetString(SessionKey, JsonSerializer.Serialize(_lines));
        }
    }

    public static string FormatCents(int cents) => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"€{cents / 100}.{cents % 100:00}");
}
