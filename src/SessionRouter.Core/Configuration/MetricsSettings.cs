namespace SessionRouter.Core.Configuration;

/// <summary>
/// How a SessionRouter process exports its metrics (section <c>SessionRouter:Metrics</c> of the gateway,
/// <c>StateServer:Metrics</c> of the engine). Read once at start-up: a change needs a restart.
/// </summary>
public sealed class MetricsSettings
{
    /// <summary>
    /// Serve a Prometheus scrape endpoint: the gateway at <c>{Admin:PathPrefix}/metrics</c> under the admin
    /// endpoints' access rules, the engine at <c>/metrics</c> on its ports (loopback callers only unless
    /// <c>StateServer:MetricsAllowRemote</c>).
    /// </summary>
    public bool Prometheus { get; set; } = true;

    /// <summary>An OpenTelemetry collector to push metrics to, e.g. <c>http://127.0.0.1:4317</c>; empty: no push.</summary>
    public string? OtlpEndpoint { get; set; }

    /// <summary>The OTLP transport of <see cref="OtlpEndpoint"/>.</summary>
    public OtlpTransport OtlpProtocol { get; set; } = OtlpTransport.Grpc;

    /// <summary>How often metrics are pushed to <see cref="OtlpEndpoint"/>.</summary>
    public TimeSpan OtlpExportInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// The address the OTLP exporter posts to, or null when there is none. Over HTTP the exporter sends to the
    /// address as given, so a collector's base address (<c>http://host:4318</c>) gets the metrics path
    /// <c>/v1/metrics</c> that collectors serve; a path of its own is kept.
    /// </summary>
    public Uri? OtlpUri()
    {
        if (string.IsNullOrWhiteSpace(OtlpEndpoint))
        {
            return null;
        }

        var endpoint = new Uri(OtlpEndpoint, UriKind.Absolute);
        return OtlpProtocol == OtlpTransport.HttpProtobuf && endpoint.AbsolutePath == "/" ? new Uri(endpoint, "v1/metrics") : endpoint;
    }

    /// <summary>Either exporter is on: the process needs a meter provider.</summary>
    public bool AnyExporter => Prometheus || !string.IsNullOrWhiteSpace(OtlpEndpoint);
}

/// <summary>The OTLP transports (the collector's gRPC port is usually 4317, its HTTP port 4318).</summary>
public enum OtlpTransport
{
    Grpc,
    HttpProtobuf,
}

/// <summary>Checks a <see cref="MetricsSettings"/> and names each faulty setting by its configuration path.</summary>
public static class MetricsSettingsValidator
{
    /// <summary>Returns every problem found; empty when the settings are valid.</summary>
    /// <param name="settings">The settings to check.</param>
    /// <param name="path">Their configuration path, e.g. <c>SessionRouter:Metrics</c>.</param>
    public static IReadOnlyList<string> Validate(MetricsSettings settings, string path)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentException.ThrowIfNullOrEmpty(path);
        var errors = new List<string>();
        if (!string.IsNullOrWhiteSpace(settings.OtlpEndpoint)
            && (!Uri.TryCreate(settings.OtlpEndpoint, UriKind.Absolute, out var endpoint) || (endpoint.Scheme != Uri.UriSchemeHttp && endpoint.Scheme != Uri.UriSchemeHttps)))
        {
            errors.Add($"{path}:OtlpEndpoint must be an absolute http:// or https:// address; it is '{settings.OtlpEndpoint}'.");
        }

        if (!Enum.IsDefined(settings.OtlpProtocol))
        {
            errors.Add($"{path}:OtlpProtocol must be Grpc or HttpProtobuf.");
        }

        if (settings.OtlpExportInterval < TimeSpan.FromSeconds(1))
        {
            errors.Add($"{path}:OtlpExportInterval must be at least 00:00:01; it is {settings.OtlpExportInterval}.");
        }

        return errors;
    }
}
