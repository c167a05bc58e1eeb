using System.Globalization;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace SessionRouter.StateServer.Client;

/// <summary>
/// How a client trusts its node's TLS certificate: a pinned SHA-256 thumbprint (any issuer, any name:
/// the pin is the identity), a private CA the certificate must chain to (plus the host name), or the
/// machine's normal validation. Each refusal is kept, so the client's error names what was wrong
/// instead of the handshake's generic "remote certificate is invalid".
/// </summary>
internal sealed class ServerCertificateCheck : IDisposable
{
    private readonly string? _thumbprint;
    private readonly X509Certificate2? _ca;
    private string? _lastRefusal;

    private ServerCertificateCheck(string? thumbprint, X509Certificate2? ca)
    {
        _thumbprint = thumbprint;
        _ca = ca;
    }

    /// <summary>Why the last certificate was refused, or null.</summary>
    public string? LastRefusal => Volatile.Read(ref _lastRefusal);

    /// <summary>The check for validated <paramref name="options"/>; null for a cleartext (<c>http://</c>) node.</summary>
    /// <exception cref="ArgumentException">The CA file holds no certificate.</exception>
    public static ServerCertificateCheck? Create(StateServerClientOptions options)
    {
        if (options.BaseAddress?.Scheme != Uri.UriSchemeHttps)
        {
            return null;
        }

        X509Certificate2? ca = null;
        if (!string.IsNullOrEmpty(options.TlsCaPath))
        {
            try
            {
                ca = X509CertificateLoader.LoadCertificateFromFile(options.TlsCaPath);
            }
            catch (CryptographicException error)
            {
                throw new ArgumentException($"Invalid engine client options: Nodes:{options.NodeId}:{nameof(options.TlsCaPath)} '{options.TlsCaPath}' holds no certificate (PEM or DER): {error.Message}", nameof(options), error);
            }
        }

        var thumbprint = string.IsNullOrEmpty(options.TlsThumbprint) ? null : NormalizeThumbprint(options.TlsThumbprint);
        return new ServerCertificateCheck(thumbprint, ca);
    }

    /// <summary>A thumbprint as 64 upper-case hex digits (colons and spaces dropped), or null when it is not one.</summary>
    public static string? NormalizeThumbprint(string text)
    {
        var digits = string.Concat(text.Where(c => c is not (':' or ' '))).ToUpperInvariant();
        return digits.Length == 64 && digits.All(char.IsAsciiHexDigit) ? digits : null;
    }

    /// <summary>Sets the handshake's validation on <paramref name="ssl"/>.</summary>
    public void Apply(SslClientAuthenticationOptions ssl)
    {
        if (_ca is not null)
        {
            // The chain is built against this CA alone; the handshake's own name check still applies.
            ssl.CertificateChainPolicy = new X509ChainPolicy
            {
                TrustMode = X509ChainTrustMode.CustomRootTrust,
                RevocationMode = X509RevocationMode.NoCheck,
                CustomTrustStore = { _ca },
            };
        }

        ssl.RemoteCertificateValidationCallback = Validate;
    }

    public void Dispose() => _ca?.Dispose();

    private bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (certificate is null)
        {
            return Refuse("it presented no certificate");
        }

        if (_thumbprint is not null)
        {
            var actual = certificate.GetCertHashString(HashAlgorithmName.SHA256);
            return string.Equals(actual, _thumbprint, StringComparison.Ordinal)
                || Refuse($"its certificate's SHA-256 is {actual}, not the pinned TlsThumbprint {_thumbprint}");
        }

        if (errors == SslPolicyErrors.None)
        {
            return true;
        }

        var status = chain is null ? string.Empty : string.Join(", ", chain.ChainStatus.Select(s => s.Status.ToString()));
        var trust = _ca is null ? "the machine's trusted roots" : "the CA of TlsCaPath";
        return Refuse(string.Create(CultureInfo.InvariantCulture, $"its certificate ({certificate.Subject}) failed validation against {trust}: {errors}{(status.Length > 0 ? $" ({status})" : string.Empty)}"));
    }

    private bool Refuse(string reason)
    {
        Volatile.Write(ref _lastRefusal, reason);
        return false;
    }
}
