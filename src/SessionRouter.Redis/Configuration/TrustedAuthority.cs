using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace SessionRouter.Redis.Configuration;

/// <summary>
/// Validates a Redis server's TLS certificate against one certificate authority only (pinning), instead of
/// the machine's trusted roots: a private CA that signs the Redis servers need not be installed on the
/// gateways, and a certificate from any other authority, a public one included, is refused.
/// </summary>
/// <remarks>
/// StackExchange.Redis's <c>TrustIssuer</c> would also accept a certificate a system root vouches for, and
/// its checks have changed between versions; this callback states the rule here. The host name is checked
/// by <see cref="SslStream"/> as always: a name mismatch is refused whatever the chain.
/// </remarks>
internal sealed class TrustedAuthority
{
    private const string ServerAuthentication = "1.3.6.1.5.5.7.3.1";

    private readonly X509Certificate2 _authority;

    public TrustedAuthority(X509Certificate2 authority)
    {
        _authority = authority;
    }

    /// <summary>Loads the authority's certificate (PEM or DER) from <paramref name="path"/>.</summary>
    /// <exception cref="System.Security.Cryptography.CryptographicException">The file holds no certificate.</exception>
    public static TrustedAuthority Load(string path) => new(X509CertificateLoader.LoadCertificateFromFile(path));

    public bool Validate(object sender, X509Certificate? certificate, X509Chain? presented, SslPolicyErrors errors)
    {
        // Only a chain the machine could not trust may be trusted here; a missing certificate or a wrong name never.
        if (certificate is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != 0)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(_authority);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.ApplicationPolicy.Add(new System.Security.Cryptography.Oid(ServerAuthentication));
        if (presented is not null)
        {
            // Intermediates the server sent with its certificate.
            foreach (var element in presented.ChainElements)
            {
                chain.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }

        if (certificate is X509Certificate2 leaf)
        {
            return chain.Build(leaf);
        }

        using var copy = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        return chain.Build(copy);
    }
}
