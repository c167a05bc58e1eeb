using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using SessionRouter.Core.Configuration;
using SessionRouter.Diagnostics;
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
        => MetricsExport.AddServices(services, options.Metrics, ServiceName, Meters);

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
}
