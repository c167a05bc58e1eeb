using SessionRouter.Redis.Configuration;
using SessionRouter.Testing.Certificates;
using SessionRouter.Testing.Redis;
using Xunit;

namespace SessionRouter.Redis.Tests.Fixtures;

/// <summary>
/// A redis-server with a TLS listener whose certificate (for 127.0.0.1) is issued by a certificate authority
/// made at test time, and a store connected to it over TLS that trusts that authority (<c>TlsCaPath</c>).
/// The files live in a temporary directory: <see cref="CaFile"/> and the PEM of a second, unrelated authority.
/// </summary>
public sealed class TlsRedisFixture : IAsyncLifetime
{
    private readonly string _directory = Directory.CreateTempSubdirectory("sr-redis-tls-").FullName;

    public RedisServerProcess Server { get; private set; } = null!;

    public RedisSessionStore Store { get; private set; } = null!;

    /// <summary>The PEM of the authority that issued the server's certificate.</summary>
    public string CaFile => Path.Combine(_directory, "ca.pem");

    /// <summary>The PEM of another authority, which issued nothing the server holds.</summary>
    public string OtherCaFile => Path.Combine(_directory, "other-ca.pem");

    public async Task InitializeAsync()
    {
        using (var authority = TestCertificateAuthority.Create())
        using (var other = TestCertificateAuthority.Create("SessionRouter Other CA"))
        using (var server = authority.IssueLoopbackServer())
        {
            TestCertificateAuthority.WritePem(authority.Certificate, CaFile);
            TestCertificateAuthority.WritePem(other.Certificate, OtherCaFile);
            TestCertificateAuthority.WritePem(server, Path.Combine(_directory, "server.pem"), Path.Combine(_directory, "server.key"));
        }

        Server = await RedisServerProcess.StartWithTlsAsync(new RedisTlsFiles(Path.Combine(_directory, "server.pem"), Path.Combine(_directory, "server.key"), CaFile));
        Store = await RedisSessionStore.ConnectAsync(OptionsOverTls("tls", CaFile));
    }

    /// <summary>The options of a store on the TLS listener that trusts <paramref name="caFile"/> (null: the machine's roots).</summary>
    public RedisStoreOptions OptionsOverTls(string nodeId, string? caFile)
    {
        var options = Options.For(nodeId, Server.TlsConnectionString);
        options.TlsCaPath = caFile;
        return options;
    }

    public async Task DisposeAsync()
    {
        if (Store is not null)
        {
            await Store.DisposeAsync();
        }

        if (Server is not null)
        {
            await Server.DisposeAsync();
        }

        Directory.Delete(_directory, recursive: true);
    }
}

[CollectionDefinition(Name)]
public sealed class TlsRedisCollection : ICollectionFixture<TlsRedisFixture>
{
    public const string Name = "redis-tls";
}
