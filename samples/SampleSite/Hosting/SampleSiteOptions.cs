namespace SampleSite.Hosting;

/// <summary>Settings of the sample site (section <c>SampleSite</c>; the session settings are the library's <c>SessionRouter</c> section).</summary>
public sealed class SampleSiteOptions
{
    public const string SectionName = "SampleSite";

    /// <summary>The name the page shows for this web server; default <c>site-PORT</c>.</summary>
    public string? InstanceName { get; set; }

    /// <summary>
    /// The gateway's admin endpoint prefix, asked which state node holds the session (the header contract does
    /// not carry it). Loopback only by default on the gateway. Empty: the page says it does not know.
    /// </summary>
    public string? GatewayAdminUrl { get; set; } = "http://127.0.0.1:5000/_sessionrouter/";
}

/// <summary>How to start the sample site in process (the farm and tests); the program builds one from its command line.</summary>
public sealed class SampleSiteHostOptions
{
    /// <summary>The listen address, e.g. <c>http://127.0.0.1:5101</c> or <c>http://127.0.0.1:0</c>.</summary>
    public string? Urls { get; set; }

    /// <summary>A yarp.json (or any JSON) whose <c>SessionRouter</c> section holds the shared SignatureKey. Null: search upwards for yarp.json.</summary>
    public string? ConfigPath { get; set; }

    /// <summary>Further configuration, applied last (e.g. <c>SampleSite:InstanceName</c>).</summary>
    public IDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);

    /// <summary>Command-line style arguments (<c>--urls</c>, <c>--SampleSite:InstanceName=a</c>).</summary>
    public IReadOnlyList<string> Args { get; set; } = [];

    /// <summary>An extra logging set-up (the farm prefixes each instance's lines).</summary>
    public Action<Microsoft.Extensions.Logging.ILoggingBuilder>? ConfigureLogging { get; set; }

    /// <summary>Extra service registrations, applied after the site's own.</summary>
    public Action<Microsoft.Extensions.DependencyInjection.IServiceCollection>? ConfigureServices { get; set; }
}
