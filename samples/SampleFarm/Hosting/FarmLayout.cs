using Microsoft.Extensions.Configuration;

namespace SampleFarm.Hosting;

/// <summary>One web server of the cluster: a YARP destination on loopback.</summary>
public sealed record SiteSlot(string ClusterId, string DestinationId, Uri Address);

/// <summary>One state node of the partition map.</summary>
/// <param name="Http2">Builtin: the address is the engine's HTTP/2 port (the default) rather than its MS-ASP port.</param>
public sealed record NodeSlot(int Index, string Id, string Engine, Uri? Address, string? ConnectionString, bool Http2)
{
    public bool IsRedis => string.Equals(Engine, "Redis", StringComparison.OrdinalIgnoreCase);
}

/// <summary>
/// What a gateway configuration describes, as far as the farm starts it: the destinations of its clusters
/// (the web servers), the state nodes of its partition map and the gateway's own address.
/// </summary>
public sealed class FarmLayout
{
    private FarmLayout(string configPath, Uri gatewayUrl, string adminPrefix, IReadOnlyList<SiteSlot> sites, IReadOnlyList<NodeSlot> nodes)
    {
        ConfigPath = configPath;
        GatewayUrl = gatewayUrl;
        AdminPathPrefix = adminPrefix;
        Sites = sites;
        Nodes = nodes;
    }

    public string ConfigPath { get; }

    public Uri GatewayUrl { get; }

    public string AdminPathPrefix { get; }

    public IReadOnlyList<SiteSlot> Sites { get; }

    public IReadOnlyList<NodeSlot> Nodes { get; }

    public static FarmLayout Read(string configPath)
    {
        var configuration = new ConfigurationBuilder().AddJsonFile(configPath, optional: false).Build();

        var gatewayUrl = new Uri((configuration["Urls"] ?? "http://127.0.0.1:5000").Split(';')[0]);
        var adminPrefix = configuration["SessionRouter:Admin:PathPrefix"] ?? "/_sessionrouter";

        var sites = new List<SiteSlot>();
        foreach (var cluster in configuration.GetSection("ReverseProxy:Clusters").GetChildren())
        {
            foreach (var destination in cluster.GetSection("Destinations").GetChildren())
            {
                if (Uri.TryCreate(destination["Address"], UriKind.Absolute, out var address) && address.IsLoopback)
                {
                    sites.Add(new SiteSlot(cluster.Key, destination.Key, address));
                }
            }
        }

        var nodes = new List<NodeSlot>();
        foreach (var node in configuration.GetSection("SessionRouter:Nodes").GetChildren())
        {
            var index = int.Parse(node.Key, System.Globalization.CultureInfo.InvariantCulture);
            Uri.TryCreate(node["Address"], UriKind.Absolute, out var address);
            var http2 = !bool.TryParse(node["Http2"], out var parsed) || parsed;
            nodes.Add(new NodeSlot(index, node["Id"] ?? $"node-{index}", node["Engine"] ?? "Builtin", address, node["ConnectionString"], http2));
        }

        return new FarmLayout(configPath, gatewayUrl, adminPrefix, sites, nodes);
    }

    /// <summary>The first <c>host:port</c> of a StackExchange.Redis connection string, when it is on loopback.</summary>
    public static int? LoopbackRedisPort(string? connectionString)
    {
        var first = connectionString?.Split(',')[0].Trim();
        if (string.IsNullOrEmpty(first))
        {
            return null;
        }

        var colon = first.LastIndexOf(':');
        var host = colon < 0 ? first : first[..colon];
        var port = colon < 0 ? 6379 : int.TryParse(first[(colon + 1)..], out var parsed) ? parsed : -1;
        var loopback = host is "127.0.0.1" or "localhost" or "::1" or "[::1]";
        return loopback && port > 0 ? port : null;
    }
}
