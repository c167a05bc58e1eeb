using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using SessionRouter.Core.Configuration;
using SessionRouter.Core.Health;
using SessionRouter.Diagnostics;

namespace SessionRouter.Gateway.Diagnostics;

/// <summary>
/// Exports the gateway's meters with OpenTelemetry: a Prometheus scrape endpoint (served by the admin
/// endpoints, under their access rules) and, when <c>Metrics:OtlpEndpoint</c> is set, an OTLP push.
/// </summary>
internal static class GatewayTelemetry
{
    public const string ServiceName = "sessionrouter-gateway";

    /// <summary>
    /// The gateway's own meter, node health, the engine client, the Redis store and the .NET runtime. The client's
    /// and the Redis store's meter names are internal to their assemblies, hence written out here.
    /// </summary>
    public static readonly string[] Meters = [GatewayMetrics.MeterName, NodeHealthMonitor.MeterName, "SessionRouter.StateServer.Client", "SessionRouter.Redis", "System.Runtime"];

    public static void AddServices(IServiceCollection services, MetricsSettings settings)
        => MetricsExport.AddServices(services, settings, ServiceName, Meters);

    /// <summary>The Prometheus scrape endpoint as a request delegate of its own, or null when it is off.</summary>
    public static PrometheusScrape CreateScrape(IApplicationBuilder app, MetricsSettings settings)
    {
        if (!settings.Prometheus)
        {
            return new PrometheusScrape(null);
        }

        // A branch of its own: the admin middleware decides who may scrape, then hands the request over.
        var branch = app.New();
        branch.UseOpenTelemetryPrometheusScrapingEndpoint(meterProvider: null, predicate: static _ => true, path: null, configureBranchedPipeline: null, optionsName: null);
        return new PrometheusScrape(branch.Build());
    }
}

/// <summary>The Prometheus exporter's endpoint, or none (<c>Metrics:Prometheus</c> false).</summary>
internal sealed class PrometheusScrape(RequestDelegate? endpoint)
{
    public RequestDelegate? Endpoint { get; } = endpoint;
}
