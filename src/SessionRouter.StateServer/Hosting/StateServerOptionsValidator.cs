using System.Net;
using SessionRouter.Core.Configuration;
using SessionRouter.StateServer.Storage;

namespace SessionRouter.StateServer.Hosting;

/// <summary>
/// Validates a <see cref="StateServerOptions"/> and names each faulty setting by its configuration path
/// (for example <c>StateServer:Http2Port</c>), the store's settings included.
/// </summary>
public static class StateServerOptionsValidator
{
    private const string Section = StateServerOptions.SectionName;

    /// <summary>Returns every problem found; empty when the options are valid.</summary>
    public static IReadOnlyList<string> Validate(StateServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();

        if (options.Port is < 0 or > 65535)
        {
            errors.Add($"{Section}:Port must be between 0 and 65535; it is {options.Port}.");
        }

        if (options.Http2Port is < -1 or > 65535)
        {
            errors.Add($"{Section}:Http2Port must be between -1 (none) and 65535; it is {options.Http2Port}.");
        }
        else if (options.Port != 0 && options.Port == options.Http2Port)
        {
            errors.Add($"{Section}:Http2Port must differ from Port ({options.Port}): HTTP/2 cleartext needs its own port.");
        }

        if (options.AllowRemoteConnections && string.IsNullOrWhiteSpace(options.AccessKey))
        {
            errors.Add($"{Section}:AccessKey is required when AllowRemoteConnections is true: a node reachable from other machines refuses to start without one.");
        }
        else if (options.AccessKey is { Length: > 0 and < 16 })
        {
            errors.Add($"{Section}:AccessKey must be at least 16 characters long.");
        }

        if (options.BindAddress is not null && !IPAddress.TryParse(options.BindAddress, out _))
        {
            errors.Add($"{Section}:BindAddress is not an IP address: '{options.BindAddress}'.");
        }

        if (options.MaxRequestHeaderBytes is < 1024 or > 1024 * 1024)
        {
            errors.Add($"{Section}:MaxRequestHeaderBytes must be between 1024 and 1048576; it is {options.MaxRequestHeaderBytes}.");
        }

        if (options.MaxConnections < 0)
        {
            errors.Add($"{Section}:MaxConnections must be 0 (no limit) or more; it is {options.MaxConnections}.");
        }

        if (options.MaxHttp2StreamsPerConnection < 1)
        {
            errors.Add($"{Section}:MaxHttp2StreamsPerConnection must be at least 1; it is {options.MaxHttp2StreamsPerConnection}.");
        }

        if (options.ShutdownTimeout < TimeSpan.Zero)
        {
            errors.Add($"{Section}:ShutdownTimeout must not be negative; it is {options.ShutdownTimeout}.");
        }

        errors.AddRange(InMemorySessionStoreOptionsValidator.Validate(options.ToStoreOptions(), Section));
        errors.AddRange(MetricsSettingsValidator.Validate(options.Metrics, $"{Section}:Metrics"));
        return errors;
    }
}
