using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using SessionRouter.Core.Configuration;
using SessionRouter.Core.Health;

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
    {
        if (!settings.AnyExporter)
        {
            return;
        }

        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(ServiceName))
            .WithMetrics(builder =>
            {
                builder.AddMeter(Meters);
                if (settings.Prometheus)
                {
                    builder.AddPrometheusExporter();
                }

                if (!string.IsNullOrWhiteSpace(settings.OtlpEndpoint))
                {
                    builder.AddOtlpExporter((exporter, reader) =>
                    {
                        exporter.Endpoint = settings.OtlpUri()!;
                        exporter.Protocol = settings.OtlpProtocol == OtlpTransport.HttpProtobuf ? OtlpExportProtocol.HttpProtobuf : OtlpExportProtocol.Grpc;
                        reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = (int)settings.OtlpExportInterval.TotalMilliseconds;
                    });
                }
            });

        // A meter provider listens to every meter of its names in the process: with several gateways or engines in
        // one process (the sample farm, the tests) each keeps only its own host's instruments (OwnedBy).
        services.ConfigureOpenTelemetryMeterProvider((provider, builder) =>
        {
            var factory = provider.GetRequiredService<IMeterFactory>();
            builder.AddView(instrument => OwnedBy(instrument, factory) ? null : MetricStreamConfiguration.Drop);
        });
    }

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

    /// <summary>
    /// SessionRouter's instruments count only when this host's meter factory made them: a part built without
    /// one (a store in a test, a tool) has a meter of no factory, which must not pass for this host's. Other
    /// meters (System.Runtime) are process-wide and belong to no factory.
    /// </summary>
    internal static bool OwnedBy(Instrument instrument, IMeterFactory factory)
        => ReferenceEquals(instrument.Meter.Scope, factory)
           || (instrument.Meter.Scope is null && !instrument.Meter.Name.StartsWith("SessionRouter.", StringComparison.Ordinal));
}

/// <summary>The Prometheus exporter's endpoint, or none (<c>Metrics:Prometheus</c> false).</summary>
internal sealed class PrometheusScrape(RequestDelegate? endpoint)
{
    public RequestDelegate? Endpoint { get; } = endpoint;
}
