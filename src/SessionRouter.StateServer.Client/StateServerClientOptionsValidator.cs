namespace SessionRouter.StateServer.Client;

/// <summary>
/// Validates a <see cref="StateServerClientOptions"/> and names each faulty setting under its node
/// (for example <c>Nodes:node-a:BaseAddress</c>), so that a map with several mistakes is fixed in one
/// pass rather than one start-up per mistake.
/// </summary>
internal static class StateServerClientOptionsValidator
{
    // The bounds Polly puts on its timeout and circuit breaker options (it would otherwise throw its own
    // validation error, which does not name the node's setting).
    private static readonly TimeSpan MinimumProbeTimeout = TimeSpan.FromMilliseconds(10);
    private static readonly TimeSpan MinimumCircuitDuration = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan MaximumPollyDuration = TimeSpan.FromDays(1);

    /// <summary>Returns every problem found; empty when the options are valid.</summary>
    public static IReadOnlyList<string> Validate(StateServerClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        var node = string.IsNullOrWhiteSpace(options.NodeId) ? "Nodes:(no id)" : $"Nodes:{options.NodeId}";

        if (string.IsNullOrWhiteSpace(options.NodeId))
        {
            errors.Add($"{node}:{nameof(options.NodeId)} must not be empty.");
        }

        var address = options.BaseAddress;
        if (address is null || !address.IsAbsoluteUri || (address.Scheme != Uri.UriSchemeHttp && address.Scheme != Uri.UriSchemeHttps))
        {
            errors.Add($"{node}:{nameof(options.BaseAddress)} must be an absolute http:// or https:// address; it is '{address}'.");
        }

        ValidateTls(errors, node, options);

        if (options.AttemptTimeout <= TimeSpan.Zero)
        {
            errors.Add($"{node}:{nameof(options.AttemptTimeout)} must be positive; it is {options.AttemptTimeout}.");
        }

        Within(errors, node, nameof(options.ProbeTimeout), options.ProbeTimeout, MinimumProbeTimeout, "10 ms");

        if (options.MaxRequestsInFlight is < 1 or > 1024)
        {
            errors.Add($"{node}:{nameof(options.MaxRequestsInFlight)} must be between 1 and 1024; it is {options.MaxRequestsInFlight}.");
        }

        // Written as a range test that NaN fails too.
        if (!(options.CircuitBreakerFailureRatio > 0 && options.CircuitBreakerFailureRatio <= 1))
        {
            errors.Add($"{node}:{nameof(options.CircuitBreakerFailureRatio)} must be in (0, 1]; it is {options.CircuitBreakerFailureRatio}.");
        }

        if (options.CircuitBreakerMinimumThroughput < 2)
        {
            errors.Add($"{node}:{nameof(options.CircuitBreakerMinimumThroughput)} must be at least 2; it is {options.CircuitBreakerMinimumThroughput}.");
        }

        Within(errors, node, nameof(options.CircuitBreakerSamplingDuration), options.CircuitBreakerSamplingDuration, MinimumCircuitDuration, "0.5 s");
        Within(errors, node, nameof(options.CircuitBreakerBreakDuration), options.CircuitBreakerBreakDuration, MinimumCircuitDuration, "0.5 s");
        return errors;
    }

    private static void ValidateTls(List<string> errors, string node, StateServerClientOptions options)
    {
        var pinned = !string.IsNullOrEmpty(options.TlsThumbprint);
        var ca = !string.IsNullOrEmpty(options.TlsCaPath);
        if (!pinned && !ca)
        {
            return;
        }

        if (options.BaseAddress is { IsAbsoluteUri: true } address && address.Scheme != Uri.UriSchemeHttps)
        {
            errors.Add($"{node}:{(pinned ? nameof(options.TlsThumbprint) : nameof(options.TlsCaPath))} needs an https:// {nameof(options.BaseAddress)}; it is '{address}'.");
        }

        if (pinned && ca)
        {
            errors.Add($"{node}:{nameof(options.TlsThumbprint)} and {nameof(options.TlsCaPath)} are two ways to trust the node's certificate: set one.");
        }

        if (pinned && ServerCertificateCheck.NormalizeThumbprint(options.TlsThumbprint!) is null)
        {
            errors.Add($"{node}:{nameof(options.TlsThumbprint)} must be the certificate's SHA-256 hash, 64 hex digits; it is '{options.TlsThumbprint}'.");
        }

        if (ca && !File.Exists(options.TlsCaPath))
        {
            errors.Add($"{node}:{nameof(options.TlsCaPath)} names no file: '{options.TlsCaPath}'.");
        }
    }

    private static void Within(List<string> errors, string node, string setting, TimeSpan value, TimeSpan minimum, string minimumText)
    {
        if (value < minimum || value > MaximumPollyDuration)
        {
            errors.Add($"{node}:{setting} must be between {minimumText} and 1 day; it is {value}.");
        }
    }
}
