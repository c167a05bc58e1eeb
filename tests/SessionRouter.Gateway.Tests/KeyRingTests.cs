#pragma warning disable CA1507 // JSON keys of yarp.json, not member names.
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using SessionRouter.Gateway.Hosting;
using SessionRouter.Gateway.Tests.Infrastructure;
using SessionRouter.Testing.Certificates;
using Xunit;

namespace SessionRouter.Gateway.Tests;

/// <summary>The DataProtection key ring at rest: encrypted with a certificate from a PKCS#12 file when configured.</summary>
public sealed class KeyRingTests
{
    private const string Password = "key-ring-test";
    private const string NoEncryptorWarning = "No XML encryptor configured";

    // RSA key generation takes a second or more on a busy machine: the tests share one certificate.
    private static readonly Lazy<X509Certificate2> SharedCertificate = new(() => TestCertificateAuthority.CreateSelfSigned("key ring"));

    [Fact]
    public async Task WithACertificate_TheKeyFilesAreEncrypted_AndASecondGatewayReadsTheFirstOnesCookies()
    {
        var certificate = SharedCertificate.Value;
        var options = new FarmOptions
        {
            Sites = 1,
            Prepare = directory => TestCertificateAuthority.WritePfx(certificate, Path.Combine(directory, "keyring.pfx"), Password),
            Edit = config =>
            {
                var dataProtection = config["SessionRouter"]!["DataProtection"]!.AsObject();
                dataProtection["CertificatePath"] = "keyring.pfx";
                dataProtection["CertificatePassword"] = Password;
            },
        };
        await using var farm = await GatewayFarm.StartAsync(options);
        var jar = new CookieContainer();
        using var first = farm.NewClient(cookies: jar);
        Assert.Equal(1, (await SiteReply.ReadAsync(await first.GetAsync("/cart/inc"))).Count);

        var keyFiles = Directory.GetFiles(Path.Combine(farm.Directory, "keys"), "*.xml");
        Assert.NotEmpty(keyFiles);
        foreach (var file in keyFiles)
        {
            var xml = await File.ReadAllTextAsync(file);
            Assert.Contains("<encryptedSecret", xml, StringComparison.Ordinal);
            Assert.Contains("<EncryptedData", xml, StringComparison.Ordinal);
            Assert.DoesNotContain("<value>", xml, StringComparison.Ordinal);
        }

        Assert.False(farm.Logs.Contains(NoEncryptorWarning));

        // A second gateway on the same file, certificate and key ring decrypts the keys and continues the session.
        var second = await farm.StartAnotherGatewayAsync(options);
        using var secondClient = farm.NewClient(second, jar);
        var reply = await SiteReply.ReadAsync(await secondClient.GetAsync("/cart/inc"));
        Assert.Equal(2, reply.Count);
        Assert.Equal(keyFiles.Length, Directory.GetFiles(Path.Combine(farm.Directory, "keys"), "*.xml").Length);
    }

    [Fact]
    public async Task AnotherCertificate_CannotReadTheKeys_ItsGatewayStartsNewSessions()
    {
        var certificate = SharedCertificate.Value;
        using var replacement = TestCertificateAuthority.CreateSelfSigned("SessionRouter key ring replaced");
        var options = new FarmOptions
        {
            Sites = 1,
            Prepare = directory => TestCertificateAuthority.WritePfx(certificate, Path.Combine(directory, "keyring.pfx"), Password),
            Edit = config =>
            {
                var dataProtection = config["SessionRouter"]!["DataProtection"]!.AsObject();
                dataProtection["CertificatePath"] = "keyring.pfx";
                dataProtection["CertificatePassword"] = Password;
            },
        };
        await using var farm = await GatewayFarm.StartAsync(options);
        var jar = new CookieContainer();
        using var first = farm.NewClient(cookies: jar);
        Assert.Equal(1, (await SiteReply.ReadAsync(await first.GetAsync("/cart/inc"))).Count);

        TestCertificateAuthority.WritePfx(replacement, Path.Combine(farm.Directory, "keyring.pfx"), Password);
        var second = await farm.StartAnotherGatewayAsync(options);
        using var secondClient = farm.NewClient(second, jar);
        var reply = await SiteReply.ReadAsync(await secondClient.GetAsync("/cart/inc"));

        Assert.Equal(200, reply.Status);
        Assert.Equal(1, reply.Count);
    }

    [Fact]
    public async Task WithoutACertificate_TheKeysAreStoredUnencrypted_AndDataProtectionSaysSo()
    {
        await using var farm = await GatewayFarm.StartAsync(new FarmOptions { Sites = 1 });
        using var client = farm.NewClient();
        Assert.Equal(1, (await SiteReply.ReadAsync(await client.GetAsync("/cart/inc"))).Count);

        var xml = await File.ReadAllTextAsync(Directory.GetFiles(Path.Combine(farm.Directory, "keys"), "*.xml").First());
        Assert.Contains("<value>", xml, StringComparison.Ordinal);
        Assert.True(farm.Logs.Contains(NoEncryptorWarning));
    }

    public static TheoryData<string, string> BadCertificates => new()
    {
        { "missing", "SessionRouter:DataProtection:CertificatePath: the file" },
        { "wrong-password", "SessionRouter:DataProtection:CertificatePassword opens" },
        { "not-pkcs12", "is not a PKCS#12 (.pfx) file" },
        { "no-private-key", "holds no private key" },
        { "ecdsa", "holds no RSA key" },
        { "password-only", "SessionRouter:DataProtection:CertificatePassword is set but SessionRouter:DataProtection:CertificatePath is not" },
    };

    [Theory]
    [MemberData(nameof(BadCertificates))]
    public async Task AnUnusableCertificate_StopsStartUp_NamingTheSetting(string kind, string message)
    {
        var directory = Directory.CreateTempSubdirectory("sr-gw-keyring-");
        try
        {
            var rsa = SharedCertificate.Value;
            var file = Path.Combine(directory.FullName, "keyring.pfx");
            switch (kind)
            {
                case "wrong-password" or "password-only":
                    TestCertificateAuthority.WritePfx(rsa, file, "another password");
                    break;
                case "not-pkcs12":
                    TestCertificateAuthority.WritePem(rsa, file);
                    break;
                case "no-private-key":
                    using (var publicOnly = X509CertificateLoader.LoadCertificate(rsa.RawData))
                    {
                        TestCertificateAuthority.WritePfx(publicOnly, file, Password);
                    }

                    break;
                case "ecdsa":
                    using (var key = ECDsa.Create(ECCurve.NamedCurves.nistP256))
                    {
                        var request = new CertificateRequest("CN=ecdsa", key, HashAlgorithmName.SHA256);
                        using var ecdsa = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddDays(1));
                        TestCertificateAuthority.WritePfx(ecdsa, file, Password);
                    }

                    break;
            }

            var config = MinimalConfig();
            var dataProtection = config["SessionRouter"]!["DataProtection"]!.AsObject();
            if (kind != "password-only")
            {
                dataProtection["CertificatePath"] = "keyring.pfx";
            }

            dataProtection["CertificatePassword"] = Password;
            var path = Path.Combine(directory.FullName, "yarp.json");
            await File.WriteAllTextAsync(path, config.ToJsonString());

            var error = Assert.Throws<GatewayConfigurationException>(() => GatewayApp.Build(new GatewayAppOptions { ConfigPath = path, Urls = "http://127.0.0.1:0" }));

            Assert.Contains(message, error.Message, StringComparison.Ordinal);
            Assert.StartsWith(path + ": ", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Theory]
    [InlineData("KeyRingPath", "keys\0ring", "SessionRouter:DataProtection:KeyRingPath is not a file path")]
    [InlineData("CertificatePath", "ring\0.pfx", "SessionRouter:DataProtection:CertificatePath is not a file path")]
    [InlineData("RedisConnectionString", "127.0.0.1:6379,notAnOption=1", "SessionRouter:DataProtection:RedisConnectionString is not a valid StackExchange.Redis connection string")]
    [InlineData("RedisConnectionString", "password=only", "SessionRouter:DataProtection:RedisConnectionString names no endpoint")]
    public async Task UnusableKeyRingSettings_StopStartUp_NamingTheSetting(string setting, string value, string message)
    {
        var directory = Directory.CreateTempSubdirectory("sr-gw-keyring-");
        try
        {
            var config = MinimalConfig();
            config["SessionRouter"]!["DataProtection"]![setting] = value;
            var path = Path.Combine(directory.FullName, "yarp.json");
            await File.WriteAllTextAsync(path, config.ToJsonString());

            var error = Assert.Throws<GatewayConfigurationException>(() => GatewayApp.Build(new GatewayAppOptions { ConfigPath = path, Urls = "http://127.0.0.1:0" }));

            Assert.Contains(message, error.Message, StringComparison.Ordinal);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    private static JsonObject MinimalConfig() => new()
    {
        ["ReverseProxy"] = new JsonObject
        {
            ["Routes"] = new JsonObject { ["all"] = new JsonObject { ["ClusterId"] = "c", ["Match"] = new JsonObject { ["Path"] = "{**catchall}" } } },
            ["Clusters"] = new JsonObject { ["c"] = new JsonObject { ["Destinations"] = new JsonObject { ["d"] = new JsonObject { ["Address"] = "http://127.0.0.1:9" } } } },
        },
        ["SessionRouter"] = new JsonObject
        {
            ["SignatureKey"] = Convert.ToBase64String(new byte[32]),
            ["DataProtection"] = new JsonObject { ["KeyRingPath"] = "keys" },
            ["Nodes"] = new JsonArray { new JsonObject { ["Id"] = "n1", ["Address"] = "http://127.0.0.1:1" } },
        },
    };
}
