using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using SessionRouter.Core.Configuration;

namespace SessionRouter.Diagnostics;

/// <summary>
/// The OpenTelemetry export of a SessionRouter host (the gateway, an engine node): the Prometheus exporter
/// and, when <c>Metrics:OtlpEndpoint</c> is set, an OTLP push, each host keeping only its own instruments.
/// One source file compiled into both hosts: Core stays free of OpenTelemetry.
/// </summary>
internal static class MetricsExport
{
    /// <summary>Registers the meter provider for <paramref name="meters"/> when <paramref name="settings"/> turn an exporter on.</summary>
    public static void AddServices(IServiceCollection services, MetricsSettings settings, string serviceName, string[] meters)
    {
        if (!settings.AnyExporter)
        {
            return;
        }

        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(serviceName))
            .WithMetrics(builder =>
            {
                builder.AddMeter(meters);
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

        // A meter provider listens to every meter of its names in the process. Several gateways or engines share
        // one process in the sample farm and the tests, so each keeps only its own host's instruments.
        services.ConfigureOpenTelemetryMeterProvider((provider, builder) =>
        {
            var factory = provider.GetRequiredService<IMeterFactory>();
            builder.AddView(instrument => OwnedBy(instrument, factory) ? null : MetricStreamConfiguration.Drop);
        });
    }

    /// <summary>
    /// SessionRouter's instruments count only when this host's meter factory made them: a part built without
    /// one (a store in a test, a tool) has a meter of no factory, which must not pass for this host's. Other
    /// meters (System.Runtime) are process-wide and belong to no factory.
    /// </summary>
    public static bool OwnedBy(Instrument instrument, IMeterFactory factory)
        => ReferenceEquals(instrument.Meter.Scope, factory)
           || (instrument.Meter.Scope is null && !instrument.Meter.Name.StartsWith("SessionRouter.", StringComparison.Ordinal));
}
