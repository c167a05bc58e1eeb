using SessionRouter.Core.Configuration;
using SessionRouter.Core.Storage;
using SessionRouter.Redis.Configuration;
using SessionRouter.Redis.Tests.Fixtures;
using SessionRouter.Testing.Redis;
using SessionRouter.Testing.StoreContract;
using Xunit;

namespace SessionRouter.Redis.Tests.Store;

/// <summary>The whole store contract suite over TLS, against a server whose certificate a private authority issued.</summary>
[Collection(TlsRedisCollection.Name)]
public sealed class TlsRedisContractTests(TlsRedisFixture fixture) : SessionStoreContractTests
{
    protected override ISessionStore Store => fixture.Store;

    protected override int WaitingCallers(SessionKey key) => fixture.Store.WaitingCallers(key);
}

/// <summary>Which certificates a store over TLS trusts, and how its TLS settings are checked.</summary>
[Collection(TlsRedisCollection.Name)]
public sealed class TlsTests(TlsRedisFixture fixture)
{
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task TheTlsListener_SpeaksOnlyTls()
    {
        Assert.True(fixture.Store.IsConnected);
        await fixture.Store.ProbeAsync(CancellationToken.None);

        // A plain RESP PING on the TLS port gets no PONG.
        Assert.False(await RespProbe.PingAsync(fixture.Server.TlsPort, TimeSpan.FromSeconds(2)));
    }

    [Fact]
    public async Task WithTheAuthoritysCertificate_ASessionIsStoredAndReadBack()
    {
        var key = new SessionKey("tls", Guid.NewGuid().ToString("N"));
        await using var store = await RedisSessionStore.ConnectAsync(fixture.OptionsOverTls("tls-2", fixture.CaFile));

        var locked = await store.GetExclusiveAsync(key, new LockRequest(TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(5), CreateIfMissing: true));
        Assert.Equal(StoreStatus.Ok, locked.Status);
        var written = await store.SetAsync(key, new SessionWrite(new byte[] { 1, 2, 3 }, TimeSpan.FromMinutes(5), locked.Lock.LockId, null));
        Assert.Equal(StoreStatus.Ok, written.Status);

        var read = await store.GetAsync(key);
        Assert.Equal([1, 2, 3], read.Item!.Data.ToArray());
    }

    [Theory]
    [InlineData("machine roots")]
    [InlineData("another authority")]
    public async Task AServerCertificateTheSettingDoesNotTrust_IsRefused(string trust)
    {
        var options = fixture.OptionsOverTls("untrusted", trust == "machine roots" ? null : fixture.OtherCaFile);
        await using var store = await RedisSessionStore.ConnectAsync(options);

        Assert.False(store.IsConnected);
        await Assert.ThrowsAsync<SessionStoreUnavailableException>(() => store.ProbeAsync(CancellationToken.None).AsTask().WaitAsync(ProbeTimeout));
        await Assert.ThrowsAsync<SessionStoreUnavailableException>(() => store.GetAsync(new SessionKey("tls", "x")).AsTask().WaitAsync(ProbeTimeout));
    }

    [Fact]
    public async Task TheRightAuthority_ForAnotherHostName_IsRefused()
    {
        // The certificate names 127.0.0.1 and localhost; sslHost makes the client expect another name.
        var options = fixture.OptionsOverTls("wrong-name", fixture.CaFile);
        options.ConnectionString += ",sslHost=redis.example";
        await using var store = await RedisSessionStore.ConnectAsync(options);

        Assert.False(store.IsConnected);
        await Assert.ThrowsAsync<SessionStoreUnavailableException>(() => store.ProbeAsync(CancellationToken.None).AsTask().WaitAsync(ProbeTimeout));
    }

    [Fact]
    public void TlsCaPath_OfANode_IsCarriedAndNamedByItsSetting()
    {
        var node = new StateNodeOptions { Id = "r", Engine = StateNodeEngine.Redis, ConnectionString = "127.0.0.1:6380,ssl=true", TlsCaPath = fixture.CaFile };

        var options = RedisStoreOptions.FromNode(node, new SessionRouterOptions(), nodeIndex: 2);

        Assert.Equal(fixture.CaFile, options.TlsCaPath);
        Assert.Equal("SessionRouter:Nodes:2:TlsCaPath", options.TlsCaSettingPath);
        Assert.Empty(RedisStoreOptionsValidator.Validate(options));
    }

    [Theory]
    [InlineData("missing", "the file")]
    [InlineData("not-a-certificate", "is not a certificate in PEM or DER form")]
    [InlineData("no-ssl", "is set but SessionRouter:Nodes:2:ConnectionString does not turn TLS on: add ssl=true")]
    public void AnUnusableTlsCaPath_IsNamedByItsSetting(string kind, string message)
    {
        var garbage = Path.GetTempFileName();
        try
        {
            File.WriteAllText(garbage, "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n");
            var node = new StateNodeOptions
            {
                Id = "r",
                Engine = StateNodeEngine.Redis,
                ConnectionString = kind == "no-ssl" ? "127.0.0.1:6380" : "127.0.0.1:6380,ssl=true",
                TlsCaPath = kind switch { "missing" => garbage + ".missing", "not-a-certificate" => garbage, _ => fixture.CaFile },
            };

            var errors = RedisStoreOptionsValidator.Validate(RedisStoreOptions.FromNode(node, new SessionRouterOptions(), nodeIndex: 2));

            var error = Assert.Single(errors);
            Assert.StartsWith("SessionRouter:Nodes:2:TlsCaPath", error, StringComparison.Ordinal);
            Assert.Contains(message, error, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(garbage);
        }
    }
}
