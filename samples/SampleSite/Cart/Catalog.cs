namespace SampleSite.Cart;

/// <summary>A product of the sample shop; prices in cents so that sums are exact.</summary>
public sealed record Product(string Sku, string Name, int PriceCents);

/// <summary>The fixed catalogue of the sample shop.</summary>
public static class Catalog
{
    public static IReadOnlyList<Product> Products { get; } =
    [
        new("tea", "Green tea, 100 g", 450),
        new("mug", "Stoneware mug", 800),
        new("kettle", "Stovetop kettle", 2990),
        new("biscuits", "Oat biscuits", 220),
    ];

    public static Product? Find(string? sku) => Products.FirstOrDefault(p => string.Equals(p.Sku, sku, StringComparison.Ordinal));
}
