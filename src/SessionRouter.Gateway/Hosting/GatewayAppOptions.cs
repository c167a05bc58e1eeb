using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace SessionRouter.Gateway.Hosting;

/// <summary>
/// How to start a gateway in process: the sample farm and the tests use it; the host program builds one
/// from its command line.
/// </summary>
public sealed class GatewayAppOptions
{
    /// <summary>
    /// The yarp.json to read. <c>null</c> looks for <c>yarp.json</c> in the current directory and then in
    /// each parent directory (so <c>dotnet run</c> from anywhere in the repository finds the root file).
    /// </summary>
    public string? ConfigPath { get; set; }

    /// <summary>
    /// The address to listen on, e.g. <c>http://127.0.0.1:0</c> for a free port. <c>null</c> uses the
    /// top-level <c>Urls</c> of the configuration, else <see cref="GatewayApp.DefaultUrl"/>.
    /// </summary>
    public string? Urls { get; set; }

    /// <summary>Further command-line style arguments (<c>--Logging:LogLevel:Default=Debug</c>).</summary>
    public IReadOnlyList<string> Args { get; set; } = [];

    /// <summary>An extra logging set-up, e.g. a test logger provider.</summary>
    public Action<ILoggingBuilder>? ConfigureLogging { get; set; }

    /// <summary>Extra service registrations, applied after the gateway's own (so they can replace them).</summary>
    public Action<IServiceCollection>? ConfigureServices { get; set; }
}
