using System.Security.Cryptography.X509Certificates;
using SessionRouter.Core.Storage;
using SessionRouter.StateServer.Hosting;

namespace SessionRouter.StateServer.Client.Tests;

/// <summary>
/// A real engine serving TLS from a certificate made at test time, and clients that trust it by a pinned
/// thumbprint or a CA file, or do not trust it, on loopback.
/// </summary>
public sealed class TlsTests : IDisposable
{
    private const string AccessKey = "tls-tests-access-key-0123456789";
    private readonly TestCertificates _files = new();

    public void Dispose() => _files.Dispose();

    private static SessionKey NewKey() => new("tls", Guid.NewGuid().ToString("N"));

    private Task<StateServerRunner> StartPfxNodeAsync(X509Certificate2 certificate) =>
        StateServerRunner.StartAsync(new StateServerOptions
        {
            Port = 0,
            Http2Port = 0,
            AccessKey = AccessKey,
            TlsCertificatePath = _files.WritePfx(certificate),
            TlsCertificatePassword = TestCertificates.Password,
        });

    [Fact]
    public async Task APinnedThumbprint_TalksToTheEngine_OverHttp2_Http11_AndBatches()
    {
        using var certificate = TestCertificates.SelfSigned();
        await using var node = await StartPfxNodeAsync(certificate);
        Assert.Equal("https", node.Http2Address!.Scheme);
        Assert.Equal("https", node.ClassicAddress.Scheme);
        var pin = TestCertificates.Sha256(certificate);

        using var http2 = new StateServerClient(new StateServerClientOptions { NodeId = "tls-h2", BaseAddress = node.Http2Address, AccessKey = AccessKey, TlsThumbprint = pin });
        using var http11 = new StateServerClient(new StateServerClientOptions { NodeId = "tls-h1", BaseAddress = node.ClassicAddress, AccessKey = AccessKey, UseHttp2 = false, TlsThumbprint = pin.ToLowerInvariant() });
        using var batched = new StateServerClient(new StateServerClientOptions { NodeId = "tls-batch", BaseAddress = node.Http2Address, AccessKey = AccessKey, TlsThumbprint = string.Join(':', pin.Chunk(2).Select(c => new string(c))), BatchEveryOperation = true });

        foreach (var client in new[] { http2, http11, batched })
        {
            var key = NewKey();
            await client.ProbeAsync(CancellationToken.None);
            Assert.Equal(StoreStatus.Ok, (await client.SetAsync(key, new SessionWrite(new byte[] { 1, 2, 3 }, TimeSpan.FromMinutes(5)))).Status);
            var read = await client.GetAsync(key);
            Assert.Equal(new byte[] { 1, 2, 3 }, read.Item!.Data.ToArray());
        }

        Assert.Equal(3, node.Store.GetStatistics().ActiveSessions);
    }

    [Fact]
    public async Task AWrongThumbprint_Fails_WithAnErrorNamingTheNode_AndTheCertificateItSaw()
    {
        using var certificate = TestCertificates.SelfSigned();
        using var other = TestCertificates.SelfSigned("someone-else");
        await using var node = await StartPfxNodeAsync(certificate);
        using var client = new StateServerClient(new StateServerClientOptions
        {
            NodeId = "pinned-elsewhere",
            BaseAddress = node.Http2Address,
            AccessKey = AccessKey,
            TlsThumbprint = TestCertificates.Sha256(other),
        });

        var error = await Assert.ThrowsAsync<SessionStoreUnavailableException>(async () => await client.SetAsync(NewKey(), new SessionWrite(new byte[] { 1 }, TimeSpan.FromMinutes(5))));
        var probe = await Assert.ThrowsAsync<SessionStoreUnavailableException>(async () => await client.ProbeAsync(CancellationToken.None));

        Assert.Equal("pinned-elsewhere", error.NodeId);
        Assert.Contains("'pinned-elsewhere'", error.Message, StringComparison.Ordinal);
        Assert.Contains("failed TLS authentication", error.Message, StringComparison.Ordinal);
        Assert.Contains(TestCertificates.Sha256(certificate), error.Message, StringComparison.Ordinal);
        Assert.Contains("TlsThumbprint", error.Message, StringComparison.Ordinal);
        Assert.Contains("failed TLS authentication", probe.Message, StringComparison.Ordinal);
        Assert.Equal(0, node.Store.GetStatistics().ActiveSessions);
    }

    [Fact]
    public async Task APlainHttpClient_FailsAgainstATlsEngine_NamingTheNode_AndReachesNothing()
    {
        using var certificate = TestCertificates.SelfSigned();
        await using var node = await StartPfxNodeAsync(certificate);
        var cleartext = new UriBuilder(node.Http2Address!) { Scheme = "http" }.Uri;
        using var client = new StateServerClient(new StateServerClientOptions { NodeId = "cleartext", BaseAddress = cleartext, AccessKey = AccessKey });
        using var classic = new StateServerClient(new StateServerClientOptions { NodeId = "cleartext-h1", BaseAddress = new UriBuilder(node.ClassicAddress) { Scheme = "http" }.Uri, AccessKey = AccessKey, UseHttp2 = false });

        var error = await Assert.ThrowsAsync<SessionStoreUnavailableException>(async () => await client.SetAsync(NewKey(), new SessionWrite(new byte[] { 1 }, TimeSpan.FromMinutes(5))));
        var classicError = await Assert.ThrowsAsync<SessionStoreUnavailableException>(async () => await classic.SetAsync(NewKey(), new SessionWrite(new byte[] { 1 }, TimeSpan.FromMinutes(5))));

        Assert.Equal("cleartext", error.NodeId);
        Assert.Equal("cleartext-h1", classicError.NodeId);
        Assert.Equal(0, node.Store.GetStatistics().ActiveSessions);
    }

    [Fact]
    public async Task ACaFile_TrustsANodeCertificateItIssued_WhileTheMachinesTrustAndAnotherCaDoNot()
    {
        using var authority = TestCertificates.Authority();
        using var stranger = TestCertificates.Authority("another-ca");
        using var issued = TestCertificates.IssuedBy(authority);
        var (certificatePath, keyPath) = _files.WritePem(issued);
        await using var node = await StateServerRunner.StartAsync(new StateServerOptions { Port = 0, Http2Port = 0, AccessKey = AccessKey, TlsCertificatePath = certificatePath, TlsKeyPath = keyPath });
        var caPath = _files.WritePem(authority).Certificate;
        var strangerPath = _files.WritePem(stranger).Certificate;

        using var trusting = new StateServerClient(new StateServerClientOptions { NodeId = "ca", BaseAddress = node.Http2Address, AccessKey = AccessKey, TlsCaPath = caPath });
        using var machine = new StateServerClient(new StateServerClientOptions { NodeId = "machine", BaseAddress = node.Http2Address, AccessKey = AccessKey });
        using var wrongCa = new StateServerClient(new StateServerClientOptions { NodeId = "wrong-ca", BaseAddress = node.Http2Address, AccessKey = AccessKey, TlsCaPath = strangerPath });

        var key = NewKey();
        Assert.Equal(StoreStatus.Ok, (await trusting.SetAsync(key, new SessionWrite(new byte[] { 4 }, TimeSpan.FromMinutes(5)))).Status);
        Assert.Equal(StoreStatus.Ok, (await trusting.GetAsync(key)).Status);

        var untrusted = await Assert.ThrowsAsync<SessionStoreUnavailableException>(async () => await machine.GetAsync(key));
        Assert.Contains("failed TLS authentication", untrusted.Message, StringComparison.Ordinal);
        Assert.Contains("machine's trusted roots", untrusted.Message, StringComparison.Ordinal);
        var otherCa = await Assert.ThrowsAsync<SessionStoreUnavailableException>(async () => await wrongCa.GetAsync(key));
        Assert.Contains("the CA of TlsCaPath", otherCa.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EngineTlsSettings_ThatCannotServe_RefuseToStart_NamingTheSetting()
    {
        using var certificate = TestCertificates.SelfSigned();
        var pfx = _files.WritePfx(certificate);
        var publicOnly = _files.WritePfx(X509CertificateLoader.LoadCertificate(certificate.RawData), password: null);

        var wrongPassword = await Assert.ThrowsAsync<ArgumentException>(() => StateServerRunner.StartAsync(new StateServerOptions { Port = 0, Http2Port = -1, TlsCertificatePath = pfx, TlsCertificatePassword = "not-it" }));
        Assert.Contains("StateServer:TlsCertificatePath", wrongPassword.Message, StringComparison.Ordinal);
        Assert.Contains("TlsCertificatePassword", wrongPassword.Message, StringComparison.Ordinal);

        var noKey = await Assert.ThrowsAsync<ArgumentException>(() => StateServerRunner.StartAsync(new StateServerOptions { Port = 0, Http2Port = -1, TlsCertificatePath = publicOnly }));
        Assert.Contains("without its private key", noKey.Message, StringComparison.Ordinal);

        var errors = StateServerOptionsValidator.Validate(new StateServerOptions { TlsCertificatePath = Path.Combine(_files.Directory, "missing.pfx"), TlsKeyPath = Path.Combine(_files.Directory, "missing.key") });
        Assert.Contains(errors, e => e.StartsWith("StateServer:TlsCertificatePath names no file", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("StateServer:TlsKeyPath names no file", StringComparison.Ordinal));
        Assert.Contains(StateServerOptionsValidator.Validate(new StateServerOptions { TlsKeyPath = pfx }), e => e.StartsWith("StateServer:TlsCertificatePath must be set", StringComparison.Ordinal));
    }

    [Fact]
    public void ClientTlsSettings_AreValidated_NamingEachUnderItsNode()
    {
        var missing = Path.Combine(_files.Directory, "missing-ca.pem");
        var errors = StateServerClientOptionsValidator.Validate(new StateServerClientOptions
        {
            NodeId = "n1",
            BaseAddress = new Uri("http://127.0.0.1:43424/"),
            TlsThumbprint = "not-a-thumbprint",
            TlsCaPath = missing,
        });

        Assert.Contains(errors, e => e.StartsWith("Nodes:n1:TlsThumbprint needs an https:// BaseAddress", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Nodes:n1:TlsThumbprint and TlsCaPath are two ways", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Nodes:n1:TlsThumbprint must be the certificate's SHA-256 hash", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Nodes:n1:TlsCaPath names no file", StringComparison.Ordinal));
        Assert.Empty(StateServerClientOptionsValidator.Validate(new StateServerClientOptions { NodeId = "n1", BaseAddress = new Uri("https://127.0.0.1:43424/"), TlsThumbprint = new string('a', 64) }));
    }
}
