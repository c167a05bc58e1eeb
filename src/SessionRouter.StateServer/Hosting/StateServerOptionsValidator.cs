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

    /// <summary>The longest connection timeout accepted: beyond a day a timeout no longer protects anything.</summary>
    private static readonly TimeSpan MaximumTimeout = TimeSpan.FromDays(1);

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

        ValidateTls(errors, options);

        if (options.MaxRequestHeaderBytes is < 1024 or > 1024 * 1024)
        {
            errors.Add($"{Section}:MaxRequestHeaderBytes must be between 1024 and 1048576; it is {options.MaxRequestHeaderBytes}.");
        }

        if (options.MaxConnections < 0)
        {
            errors.Add($"{Section}:MaxConnections must be 0 (no limit) or more; it is {options.MaxConnections}.");
        }

        if (options.MaxConnectionsPerAddress < 0)
        {
            errors.Add($"{Section}:MaxConnectionsPerAddress must be 0 (no limit) or more; it is {options.MaxConnectionsPerAddress}.");
        }

        Within(errors, nameof(options.FirstRequestTimeout), options.FirstRequestTimeout, TimeSpan.FromMilliseconds(100), "100 ms");
        Within(errors, nameof(options.IdleConnectionTimeout), options.IdleConnectionTimeout, TimeSpan.FromSeconds(1), "1 s");
        Within(errors, nameof(options.RequestHeadersTimeout), options.RequestHeadersTimeout, TimeSpan.FromSeconds(1), "1 s");

        // Kestrel refuses ping settings under a second (its heartbeat's resolution).
        Within(errors, nameof(options.Http2KeepAlivePingDelay), options.Http2KeepAlivePingDelay, TimeSpan.FromSeconds(1), "1 s");
        Within(errors, nameof(options.Http2KeepAlivePingTimeout), options.Http2KeepAlivePingTimeout, TimeSpan.FromSeconds(1), "1 s");

        // Written as a range test that NaN fails too.
        if (!(options.MinRequestBodyBytesPerSecond >= 0 && double.IsFinite(options.MinRequestBodyBytesPerSecond)))
        {
            errors.Add($"{Section}:MinRequestBodyBytesPerSecond must be 0 (no minimum) or a positive number; it is {options.MinRequestBodyBytesPerSecond}.");
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

    /// <summary>That the TLS files are named consistently and exist; whether they hold a usable certificate is known when the node loads them.</summary>
    private static void ValidateTls(List<string> errors, StateServerOptions options)
    {
        if (string.IsNullOrEmpty(options.TlsCertificatePath))
        {
            if (!string.IsNullOrEmpty(options.TlsKeyPath) || !string.IsNullOrEmpty(options.TlsCertificatePassword))
            {
                errors.Add($"{Section}:TlsCertificatePath must be set when TlsKeyPath or TlsCertificatePassword is: they belong to its certificate.");
            }

            return;
        }

        if (!File.Exists(options.TlsCertificatePath))
        {
            errors.Add($"{Section}:TlsCertificatePath names no file: '{options.TlsCertificatePath}'.");
        }

        if (!string.IsNullOrEmpty(options.TlsKeyPath) && !File.Exists(options.TlsKeyPath))
        {
            errors.Add($"{Section}:TlsKeyPath names no file: '{options.TlsKeyPath}'.");
        }
    }

    private static void Within(List<string> errors, string setting, TimeSpan value, TimeSpan minimum, string minimumText)
    {
        if (value < minimum || value > MaximumTimeout)
        {
            errors.Add($"{Section}:{setting} must be between {minimumText} and 1 day; it is {value}.");
        }
    }
}
