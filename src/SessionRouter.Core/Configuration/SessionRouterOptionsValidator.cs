namespace SessionRouter.Core.Configuration;

/// <summary>
/// Validates a <see cref="SessionRouterOptions"/> and names each faulty field by its configuration path
/// (for example <c>SessionRouter:Nodes:1:Address</c>), so an operator finds it in yarp.json at once.
/// </summary>
public static class SessionRouterOptionsValidator
{
    private const string Section = SessionRouterOptions.SectionName;

    /// <summary>Returns every problem found; empty when the options are valid.</summary>
    public static IReadOnlyList<string> Validate(SessionRouterOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();

        if (string.IsNullOrWhiteSpace(options.ApplicationName) || options.ApplicationName.Contains('/', StringComparison.Ordinal))
        {
            errors.Add($"{Section}:ApplicationName must be a non-empty name without '/'.");
        }

        if (string.IsNullOrWhiteSpace(options.Cookie.Name))
        {
            errors.Add($"{Section}:Cookie:Name must not be empty.");
        }

        Positive(errors, options.IdleTimeout, "IdleTimeout");
        Positive(errors, options.LockTimeout, "LockTimeout");
        if (options.LockWaitTimeout < TimeSpan.Zero)
        {
            errors.Add($"{Section}:LockWaitTimeout must not be negative.");
        }

        if (options.MaxLockWaiters < 0)
        {
            errors.Add($"{Section}:MaxLockWaiters must not be negative.");
        }

        if (options.MaxStateBytes <= 0)
        {
            errors.Add($"{Section}:MaxStateBytes must be a positive number of bytes.");
        }

        ValidateSignatureKey(errors, options.SignatureKey);

        var leases = options.Leases;
        Positive(errors, leases.Time, "Leases:Time");
        if (leases.Enabled && leases.Time > options.LockTimeout)
        {
            errors.Add($"{Section}:Leases:Time must not be longer than LockTimeout ({options.LockTimeout}).");
        }

        if (leases.ContentionBackoff < TimeSpan.Zero)
        {
            errors.Add($"{Section}:Leases:ContentionBackoff must not be negative.");
        }

        if (leases.MaxBytes <= 0)
        {
            errors.Add($"{Section}:Leases:MaxBytes must be a positive number of bytes.");
        }

        var health = options.HealthChecks;
        Positive(errors, health.Interval, "HealthChecks:Interval");
        Positive(errors, health.Timeout, "HealthChecks:Timeout");
        if (health.FailuresToDown < 1)
        {
            errors.Add($"{Section}:HealthChecks:FailuresToDown must be at least 1.");
        }

        if (health.SuccessesToUp < 1)
        {
            errors.Add($"{Section}:HealthChecks:SuccessesToUp must be at least 1.");
        }

        if (health.MaxConcurrentProbes < 1)
        {
            errors.Add($"{Section}:HealthChecks:MaxConcurrentProbes must be at least 1.");
        }

        // null when the file says "PathPrefix": null.
        if (options.Admin.PathPrefix is null || !options.Admin.PathPrefix.StartsWith('/'))
        {
            errors.Add($"{Section}:Admin:PathPrefix must start with '/'.");
        }

        if (options.Admin.AccessKey is { Length: > 0 and < 16 })
        {
            errors.Add($"{Section}:Admin:AccessKey must be at least 16 characters long.");
        }

        errors.AddRange(MetricsSettingsValidator.Validate(options.Metrics, $"{Section}:Metrics"));

        ValidateNodes(errors, options);
        return errors;
    }

    private static void ValidateNodes(List<string> errors, SessionRouterOptions options)
    {
        if (options.Nodes.Count == 0)
        {
            errors.Add($"{Section}:Nodes must list at least one state node.");
            return;
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        var totalWeight = 0.0;
        for (var i = 0; i < options.Nodes.Count; i++)
        {
            var node = options.Nodes[i];
            var path = $"{Section}:Nodes:{i}";
            if (node is null)
            {
                errors.Add($"{path} is empty.");
                continue;
            }

            if (string.IsNullOrWhiteSpace(node.Id))
            {
                errors.Add($"{path}:Id must not be empty.");
            }
            else if (!seen.Add(node.Id))
            {
                errors.Add($"{path}:Id '{node.Id}' is listed twice.");
            }

            if (!double.IsFinite(node.Weight) || node.Weight < 0)
            {
                errors.Add($"{path}:Weight must be a finite number ≥ 0.");
            }

            if (node.MaxRequestsInFlight is < 0 or > 1024)
            {
                errors.Add($"{path}:MaxRequestsInFlight must be between 0 (batching off) and 1024; it is {node.MaxRequestsInFlight}.");
            }
            else
            {
                totalWeight += node.Weight;
            }

            if (StateNodeKinds.TryGet(node.Engine, out var kind))
            {
                kind.Validate(node, path, errors);
            }
            else
            {
                errors.Add($"{path}:Engine must be {StateNodeKinds.Names}.");
            }
        }

        if (totalWeight <= 0 && options.Nodes.Count > 0)
        {
            errors.Add($"{Section}:Nodes must have at least one node with Weight > 0.");
        }

        if (options.ReplicationFactor < 1 || options.ReplicationFactor > options.Nodes.Count)
        {
            errors.Add($"{Section}:ReplicationFactor must be between 1 and the number of nodes ({options.Nodes.Count}).");
        }
    }

    private static void ValidateSignatureKey(List<string> errors, string? key)
    {
        if (string.IsNullOrWhiteSpace(key))
        {
            errors.Add($"{Section}:SignatureKey must be set: a base64 key of at least 32 bytes shared with the sites.");
            return;
        }

        var buffer = new byte[key.Length];
        if (!Convert.TryFromBase64String(key, buffer, out var length))
        {
            errors.Add($"{Section}:SignatureKey is not valid base64.");
        }
        else if (length < 32)
        {
            errors.Add($"{Section}:SignatureKey must decode to at least 32 bytes (got {length}).");
        }
    }

    private static void Positive(List<string> errors, TimeSpan value, string field)
    {
        if (value <= TimeSpan.Zero)
        {
            errors.Add($"{Section}:{field} must be a positive time span (hh:mm:ss).");
        }
    }
}
