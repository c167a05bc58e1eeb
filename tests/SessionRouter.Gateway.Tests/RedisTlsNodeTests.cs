#pragma warning disable CA1507 // JSON keys of yarp.json, not member names.
using System.Net;
using System.Text.Json.Nodes;
using SessionRouter.Gateway.Hosting;
using SessionRouter.Gateway.Tests.Infrastructure;
using SessionRouter.Testing.Certificates;
using SessionRouter.Testing.Redis;
using Xunit;

namespace SessionRouter.Gateway.Tests;

/// <summary>
/// The gateway over a Redis node reached with TLS only (<c>ssl=true</c>), whose certificate a private
/// authority issued: the node's <c>TlsCaPath</c>, relative to yarp.json, names that authority.
/// </summary>
public sealed class RedisTlsNodeTests : IAsyncLifetime
{
    private readonly string _certificates = Directory.CreateTempSubdirectory("sr-gw-redis-tls-").FullName;
    private RedisServerProcess _redis = null!;

    public async Task InitializeAsync()
    {
        using var authority = TestCertificateAuthority.Create();
        using var server = authority.IssueLoopbackServer();
        TestCertificateAuthority.WritePem(authority.Certificate, Path.Combine(_certificates, "ca.pem"));
        TestCertificateAuthority.WritePem(server, Path.Combine(_certificates, "server.pem"), Path.Combine(_certificates, "server.key"));
        _redis = await RedisServerProcess.StartWithTlsAsync(new RedisTlsFiles(Path.Combine(_certificates, "server.pem"), Path.Combine(_certificates, "server.key"), Path.Combine(_certificates, "ca.pem")));
    }

    public async Task DisposeAsync()
    {
        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }

        Directory.Delete(_certificates, recursive: true);
    }

    private FarmOptions Options(string tlsCaPath) => new()
    {
        Sites = 1,
        RealNodes = true,
        ProbeTimeout = "00:00:03",
        FailuresToDown = 3,
        Prepare = directory =>
        {
            Directory.CreateDirectory(Path.Combine(directory, "certs"));
            File.Copy(Path.Combine(_certificates, "ca.pem"), Path.Combine(directory, "certs", "ca.pem"));
        },
        Edit = config => config["SessionRouter"]!["Nodes"] = new JsonArray(new JsonObject
        {
            ["Id"] = "redis-tls",
            ["Engine"] = "Redis",
            ["ConnectionString"] = _redis.TlsConnectionString,
            ["TlsCaPath"] = tlsCaPath,
        }),
    };

    [Fact]
    public async Task SessionsAreStoredOverTls_WithTheAuthorityNamedRelativeToTheFile()
    {
        await using var farm = await GatewayFarm.StartAsync(Options("certs/ca.pem"));
        using var client = farm.NewClient(cookies: new CookieContainer());

        Assert.Equal(1, (await SiteReply.ReadAsync(await client.GetAsync("/cart/inc"))).Count);
        Assert.Equal(2, (await SiteReply.ReadAsync(await client.GetAsync("/cart/inc"))).Count);
        Assert.Equal(2, (await SiteReply.ReadAsync(await client.GetAsync("/cart/show"))).Count);
    }

    [Fact]
    public async Task AMissingAuthorityFile_StopsStartUp_NamingTheSetting()
    {
        var error = await Assert.ThrowsAsync<GatewayConfigurationException>(() => GatewayFarm.StartAsync(Options("certs/missing.pem")));

        Assert.Contains("SessionRouter:Nodes:0:TlsCaPath: the file", error.Message, StringComparison.Ordinal);
        Assert.Contains(Path.Combine("certs", "missing.pem"), error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnEditNamingAMissingAuthorityFile_IsRefused_AndTheNodeKeepsServing()
    {
        await using var farm = await GatewayFarm.StartAsync(Options("certs/ca.pem"));
        using var client = farm.NewClient(cookies: new CookieContainer());
        Assert.Equal(1, (await SiteReply.ReadAsync(await client.GetAsync("/cart/inc"))).Count);

        var applied = await farm.EditConfigAsync(config => config["SessionRouter"]!["Nodes"]![0]!["TlsCaPath"] = "certs/gone.pem");

        Assert.False(applied);
        Assert.True(farm.Logs.Contains("SessionRouter:Nodes:0:TlsCaPath"));
        Assert.Equal(2, (await SiteReply.ReadAsync(await client.GetAsync("/cart/inc"))).Count);
    }
}
