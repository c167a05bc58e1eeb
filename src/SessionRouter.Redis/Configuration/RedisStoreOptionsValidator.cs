using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace SessionRouter.Redis.Configuration;

/// <summary>
/// Validates a <see cref="RedisStoreOptions"/>. The connection string is named by
/// <see cref="RedisStoreOptions.SettingPath"/> (<c>SessionRouter:Nodes:2:ConnectionString</c> for a node of
/// yarp.json); the other settings by their property names. Those that <see cref="RedisStoreOptions.FromNode"/>
/// takes from the <c>SessionRouter</c> section were already checked there under their own paths, so an error
/// here about them comes from options built in code, where the property is the setting.
/// </summary>
public static class RedisStoreOptionsValidator
{
    /// <summary>Returns every problem found; empty when the options are valid.</summary>
    public static IReadOnlyList<string> Validate(RedisStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        ValidateConnectionString(errors, options);
        ValidateTlsCa(errors, options);

        Positive(errors, options.DefaultLockTimeout, nameof(options.DefaultLockTimeout));
        Positive(errors, options.DefaultItemTimeout, nameof(options.DefaultItemTimeout));
        Positive(errors, options.ConnectTimeout, nameof(options.ConnectTimeout));
        Positive(errors, options.OperationTimeout, nameof(options.OperationTimeout));
        if (options.MaxItemBytes <= 0)
        {
            errors.Add($"{nameof(options.MaxItemBytes)} must be a positive number of bytes.");
        }

        if (options.MaxLockWaiters < 0)
        {
            errors.Add($"{nameof(options.MaxLockWaiters)} must not be negative.");
        }

        if (options.WaitForReplicas < 0)
        {
            errors.Add($"{nameof(options.WaitForReplicas)} must not be negative.");
        }
        else if (options.WaitForReplicas > 0)
        {
            Positive(errors, options.WaitForReplicasTimeout, nameof(options.WaitForReplicasTimeout));
        }

        if (options.KeyPrefix.Contains('{', StringComparison.Ordinal) || options.KeyPrefix.Contains('}', StringComparison.Ordinal))
        {
            errors.Add($"{nameof(options.KeyPrefix)} must not contain '{{' or '}}' (they delimit the Redis Cluster hash tag).");
        }

        return errors;
    }

    private static void ValidateConnectionString(List<string> errors, RedisStoreOptions options)
    {
        var path = options.SettingPath;
        if (string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            errors.Add($"{path} must be a StackExchange.Redis connection string, e.g. \"127.0.0.1:6379\" or \"redis1:6379,redis2:6379,password=...,ssl=true\".");
            return;
        }

        try
        {
            var parsed = StackExchange.Redis.ConfigurationOptions.Parse(options.ConnectionString);
            if (parsed.EndPoints.Count == 0)
            {
                errors.Add($"{path} names no endpoint (host:port).");
            }

            if (options.TlsCaPath is not null && !parsed.Ssl)
            {
                errors.Add($"{options.TlsCaSettingPath} is set but {path} does not turn TLS on: add ssl=true.");
            }
        }
        catch (ArgumentException e)
        {
            errors.Add($"{path} is not a valid StackExchange.Redis connection string: {e.Message}");
        }
    }

    private static void ValidateTlsCa(List<string> errors, RedisStoreOptions options)
    {
        var setting = options.TlsCaSettingPath;
        if (options.TlsCaPath is null)
        {
            return;
        }

        if (options.TlsCaPath.Contains('\0', StringComparison.Ordinal))
        {
            errors.Add($"{setting} is not a file path (it holds a NUL character).");
            return;
        }

        var file = Path.GetFullPath(options.TlsCaPath);
        if (!File.Exists(file))
        {
            errors.Add($"{setting}: the file '{file}' does not exist.");
            return;
        }

        try
        {
            using var authority = X509CertificateLoader.LoadCertificateFromFile(file);
        }
        catch (CryptographicException e)
        {
            errors.Add($"{setting}: '{file}' is not a certificate in PEM or DER form ({e.Message}).");
        }
    }

    private static void Positive(List<string> errors, TimeSpan value, string name)
    {
        if (value <= TimeSpan.Zero)
        {
            errors.Add($"{name} must be positive.");
        }
    }
}
