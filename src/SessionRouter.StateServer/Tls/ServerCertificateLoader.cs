using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using SessionRouter.StateServer.Hosting;

namespace SessionRouter.StateServer.Tls;

/// <summary>
/// Loads the certificate a node serves TLS with: a PKCS#12 file (<c>TlsCertificatePath</c> and
/// <c>TlsCertificatePassword</c>) or a PEM certificate with its PEM key (<c>TlsCertificatePath</c> and
/// <c>TlsKeyPath</c>; an encrypted key takes <c>TlsCertificatePassword</c>). A file that cannot be read
/// as such, or a certificate without its private key, is an error naming the setting.
/// </summary>
internal static class ServerCertificateLoader
{
    private const string Section = StateServerOptions.SectionName;

    /// <summary>The certificate, or null when TLS is not configured.</summary>
    /// <exception cref="ArgumentException">The files do not hold a usable certificate; the message names the setting.</exception>
    public static X509Certificate2? Load(StateServerOptions options)
    {
        if (string.IsNullOrEmpty(options.TlsCertificatePath))
        {
            return null;
        }

        X509Certificate2 certificate;
        try
        {
            certificate = string.IsNullOrEmpty(options.TlsKeyPath)
                ? X509CertificateLoader.LoadPkcs12FromFile(options.TlsCertificatePath, options.TlsCertificatePassword)
                : string.IsNullOrEmpty(options.TlsCertificatePassword)
                    ? X509Certificate2.CreateFromPemFile(options.TlsCertificatePath, options.TlsKeyPath)
                    : X509Certificate2.CreateFromEncryptedPemFile(options.TlsCertificatePath, options.TlsCertificatePassword, options.TlsKeyPath);
        }
        catch (Exception error) when (error is CryptographicException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            var what = string.IsNullOrEmpty(options.TlsKeyPath)
                ? $"{Section}:TlsCertificatePath '{options.TlsCertificatePath}' could not be read as a PKCS#12 (.pfx) file with {Section}:TlsCertificatePassword"
                : $"{Section}:TlsCertificatePath '{options.TlsCertificatePath}' and {Section}:TlsKeyPath '{options.TlsKeyPath}' could not be read as a PEM certificate and its key";
            throw new ArgumentException($"{what}: {error.Message}", error);
        }

        if (!certificate.HasPrivateKey)
        {
            certificate.Dispose();
            throw new ArgumentException($"{Section}:TlsCertificatePath '{options.TlsCertificatePath}' holds a certificate without its private key: a node cannot serve TLS with it.");
        }

        return certificate;
    }
}
