using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.DependencyInjection;
using SessionRouter.Core.Configuration;
using StackExchange.Redis;

namespace SessionRouter.Gateway.Hosting;

/// <summary>
/// Configures DataProtection, whose key ring protects the session cookie: the application name, where the
/// keys are kept (a shared directory or Redis) and, with <c>DataProtection:CertificatePath</c>, their
/// encryption at rest with a certificate. Read once at start-up.
/// </summary>
internal static class KeyRingSetup
{
    private const string Section = SessionRouterOptions.SectionName + ":DataProtection";

    /// <exception cref="GatewayConfigurationException">The certificate cannot be used (the message names the setting).</exception>
    public static void Add(IServiceCollection services, SessionRouterOptions options, string configPath)
    {
        var settings = options.DataProtection;

        // Before anything is registered: a certificate that cannot be used stops start-up, naming the setting.
        var certificate = LoadCertificate(settings, configPath);

        var dataProtection = services.AddDataProtection().SetApplicationName(options.ApplicationName);
        if (!string.IsNullOrWhiteSpace(settings.RedisConnectionString))
        {
            // Connected at the first use of a key, so a malformed string would fail that request, not start-up.
            var configuration = ParseRedis(settings, configPath);
            var multiplexer = new Lazy<IConnectionMultiplexer>(() => ConnectionMultiplexer.Connect(configuration));
            dataProtection.PersistKeysToStackExchangeRedis(() => multiplexer.Value.GetDatabase(), settings.RedisKey);
        }
        else if (!string.IsNullOrWhiteSpace(settings.KeyRingPath))
        {
            dataProtection.PersistKeysToFileSystem(new DirectoryInfo(Resolve(configPath, "KeyRingPath", settings.KeyRingPath)));
        }

        if (certificate is not null)
        {
            // The overload taking the certificate itself (not a thumbprint) also hands it to the decryptor, so
            // reading the keys back never depends on the machine's certificate store, which is empty on Linux.
            dataProtection.ProtectKeysWithCertificate(certificate);
        }
    }

    private static X509Certificate2? LoadCertificate(DataProtectionSettings settings, string configPath)
    {
        if (string.IsNullOrWhiteSpace(settings.CertificatePath))
        {
            if (!string.IsNullOrEmpty(settings.CertificatePassword))
            {
                throw Invalid(configPath, $"{Section}:CertificatePassword is set but {Section}:CertificatePath is not.");
            }

            return null;
        }

        var file = Resolve(configPath, "CertificatePath", settings.CertificatePath);
        if (!File.Exists(file))
        {
            throw Invalid(configPath, $"{Section}:CertificatePath: the file '{file}' does not exist.");
        }

        X509Certificate2 certificate;
        try
        {
            certificate = X509CertificateLoader.LoadPkcs12FromFile(file, settings.CertificatePassword);
        }
        catch (CryptographicException error)
        {
            throw Invalid(
                configPath,
                $"{Section}:CertificatePath: '{file}' is not a PKCS#12 (.pfx) file that {Section}:CertificatePassword opens ({error.Message}).",
                error);
        }

        using var publicKey = certificate.GetRSAPublicKey();
        string? problem = publicKey is null
            ? "holds no RSA key (the key ring's XML encryption needs one)"
            : !certificate.HasPrivateKey ? "holds no private key (needed to read the keys back)" : null;
        if (problem is not null)
        {
            certificate.Dispose();
            throw Invalid(configPath, $"{Section}:CertificatePath: the certificate in '{file}' {problem}.");
        }

        return certificate;
    }

    /// <summary>A path of the section, relative to the configuration file's directory, made absolute.</summary>
    private static string Resolve(string configPath, string setting, string path)
    {
        if (path.Contains('\0', StringComparison.Ordinal))
        {
            throw Invalid(configPath, $"{Section}:{setting} is not a file path (it holds a NUL character).");
        }

        return Path.GetFullPath(Path.Combine(Path.GetDirectoryName(configPath)!, path));
    }

    private static ConfigurationOptions ParseRedis(DataProtectionSettings settings, string configPath)
    {
        try
        {
            var configuration = ConfigurationOptions.Parse(settings.RedisConnectionString!);
            return configuration.EndPoints.Count > 0
                ? configuration
                : throw Invalid(configPath, $"{Section}:RedisConnectionString names no endpoint (host:port).");
        }
        catch (ArgumentException error)
        {
            throw Invalid(configPath, $"{Section}:RedisConnectionString is not a valid StackExchange.Redis connection string: {error.Message}", error);
        }
    }

    private static GatewayConfigurationException Invalid(string configPath, string message, Exception? inner = null)
    {
        var text = string.Create(CultureInfo.InvariantCulture, $"{configPath}: {message}");
        return inner is null ? new GatewayConfigurationException(text) : new GatewayConfigurationException(text, inner);
    }
}
