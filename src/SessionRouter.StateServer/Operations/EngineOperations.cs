using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using SessionRouter.Core.Configuration;
using SessionRouter.StateServer.Hosting;
using SessionRouter.StateServer.Storage;

namespace SessionRouter.StateServer.Operations;

/// <summary>
/// The node's operational surface, wired by the runner in two calls: <see cref="AddServices"/> registers, when
/// an exporter is configured, an OpenTelemetry meter provider with the Prometheus exporter and optionally OTLP;
/// <see cref="Use"/> puts <c>/health</c> (the memory health check) and <c>/metrics</c> in front of the protocol
/// handler.
/// </summary>
internal static class EngineOperations
{
    public const string ServiceName = "sessionrouter-stateserver";

    /// <summary>The meters the node exports: its store and the .NET runtime (GC heap, working set).</summary>
    public static readonly string[] Meters = [StoreMetrics.MeterName, "System.Runtime"];

    public static void AddServices(IServiceCollection services, StateServerOptions options)
    {
        var metrics = options.Metrics;
        if (!metrics.AnyExporter)
        {
            return;
        }

        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(ServiceName))
            .WithMetrics(builder =>
            {
                builder.AddMeter(Meters);
                if (metrics.Prometheus)
                {
                    builder.AddPrometheusExporter();
                }

                if (!string.IsNullOrWhiteSpace(metrics.OtlpEndpoint))
                {
                    builder.AddOtlpExporter((exporter, reader) =>
                    {
                        exporter.Endpoint = metrics.OtlpUri()!;
                        exporter.Protocol = metrics.OtlpProtocol == OtlpTransport.HttpProtobuf ? OtlpExportProtocol.HttpProtobuf : OtlpExportProtocol.Grpc;
                        reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = (int)metrics.OtlpExportInterval.TotalMilliseconds;
                    });
                }
            });
        OnlyThisHostsMeters(services);
    }

    /// <summary>Serves <c>/health</c> and <c>/metrics</c> from <paramref name="store"/>; every other request goes on to the protocol handler.</summary>
    public static void Use(WebApplication app, InMemorySessionStore store, StateServerOptions options)
    {
        RequestDelegate? scrape = null;
        if (options.Metrics.Prometheus)
        {
            // A branch of its own: the operations middleware decides who may scrape, then hands the request over.
            var branch = ((IApplicationBuilder)app).New();
            branch.UseOpenTelemetryPrometheusScrapingEndpoint(meterProvider: null, predicate: static _ => true, path: null, configureBranchedPipeline: null, optionsName: null);
            scrape = branch.Build();
        }

        var middleware = new OperationsMiddleware(new MemoryHealthCheck(store), options, scrape);
        app.Use(next => context => middleware.InvokeAsync(context, next));
    }

    /// <summary>
    /// A meter provider listens to every meter of its names in the process. Several nodes share one process in
    /// the sample farm and the tests, so each node keeps only the instruments of its own host's meter factory
    /// (<see cref="OwnedBy"/>): a node never reports another's store.
    /// </summary>
    internal static void OnlyThisHostsMeters(IServiceCollection services)
        => services.ConfigureOpenTelemetryMeterProvider((provider, builder) =>
        {
            var factory = provider.GetRequiredService<IMeterFactory>();
            builder.AddView(instrument => OwnedBy(instrument, factory) ? null : MetricStreamConfiguration.Drop);
        });

    /// <summary>
    /// SessionRouter's instruments count only when this host's meter factory made them: a part built without
    /// one (a store in a test, a tool) has a meter of no factory, which must not pass for this host's. Other
    /// meters (System.Runtime) are process-wide and belong to no factory.
    /// </summary>
    internal static bool OwnedBy(Instrument instrument, IMeterFactory factory)
        => ReferenceEquals(instrument.Meter.Scope, factory)
           || (instrument.Meter.Scope is null && !instrument.Meter.Name.StartsWith("SessionRouter.", StringComparison.Ordinal));
}
