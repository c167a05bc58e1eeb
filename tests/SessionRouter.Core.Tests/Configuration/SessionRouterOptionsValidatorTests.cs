using SessionRouter.Core.Configuration;

namespace SessionRouter.Core.Tests.Configuration;

public sealed class SessionRouterOptionsValidatorTests
{
    private static SessionRouterOptions Valid() => new()
    {
        SignatureKey = Convert.ToBase64String(new byte[32]),
        Nodes =
        [
            new StateNodeOptions { Id = "a", Address = "http://127.0.0.1:42424" },
            new StateNodeOptions { Id = "b", Engine = StateNodeEngine.Redis, ConnectionString = "127.0.0.1:6379" },
        ],
    };

    [Fact]
    public void ValidOptions_HaveNoErrors() => Assert.Empty(SessionRouterOptionsValidator.Validate(Valid()));

    [Theory]
    [InlineData("SessionRouter:ApplicationName")]
    [InlineData("SessionRouter:Cookie:Name")]
    [InlineData("SessionRouter:IdleTimeout")]
    [InlineData("SessionRouter:SignatureKey")]
    [InlineData("SessionRouter:HealthChecks:FailuresToDown")]
    [InlineData("SessionRouter:HealthChecks:MaxConcurrentProbes")]
    [InlineData("SessionRouter:Admin:PathPrefix")]
    [InlineData("SessionRouter:Nodes:1:Id")]
    [InlineData("SessionRouter:Nodes:0:Weight")]
    [InlineData("SessionRouter:Nodes:0:Address")]
    [InlineData("SessionRouter:Nodes:0:MaxRequestsInFlight")]
    [InlineData("SessionRouter:Nodes:1:ConnectionString")]
    [InlineData("SessionRouter:ReplicationFactor")]
    [InlineData("SessionRouter:Admin:AccessKey")]
    [InlineData("SessionRouter:Metrics:OtlpEndpoint")]
    [InlineData("SessionRouter:Metrics:OtlpExportInterval")]
    [InlineData("SessionRouter:Leases:Time")]
    [InlineData("SessionRouter:Leases:ContentionBackoff")]
    [InlineData("SessionRouter:Leases:MaxBytes")]
    public void EachFaultyField_IsNamed(string field)
    {
        var options = Valid();
        switch (field)
        {
            case "SessionRouter:ApplicationName": options.ApplicationName = "a/b"; break;
            case "SessionRouter:Cookie:Name": options.Cookie.Name = " "; break;
            case "SessionRouter:IdleTimeout": options.IdleTimeout = TimeSpan.Zero; break;
            case "SessionRouter:SignatureKey": options.SignatureKey = Convert.ToBase64String(new byte[16]); break;
            case "SessionRouter:HealthChecks:FailuresToDown": options.HealthChecks.FailuresToDown = 0; break;
            case "SessionRouter:HealthChecks:MaxConcurrentProbes": options.HealthChecks.MaxConcurrentProbes = 0; break;
            case "SessionRouter:Admin:PathPrefix": options.Admin.PathPrefix = "admin"; break;
            case "SessionRouter:Nodes:1:Id": options.Nodes[1].Id = "a"; break;
            case "SessionRouter:Nodes:0:Weight": options.Nodes[0].Weight = double.NaN; break;
            case "SessionRouter:Nodes:0:Address": options.Nodes[0].Address = "tcp://x"; break;
            case "SessionRouter:Nodes:0:MaxRequestsInFlight": options.Nodes[0].MaxRequestsInFlight = -1; break;
            case "SessionRouter:Nodes:1:ConnectionString": options.Nodes[1].ConnectionString = ""; break;
            case "SessionRouter:ReplicationFactor": options.ReplicationFactor = 3; break;
            case "SessionRouter:Admin:AccessKey": options.Admin.AccessKey = "short"; break;
            case "SessionRouter:Metrics:OtlpEndpoint": options.Metrics.OtlpEndpoint = "udp://collector:4317"; break;
            case "SessionRouter:Metrics:OtlpExportInterval": options.Metrics.OtlpExportInterval = TimeSpan.FromMilliseconds(10); break;
            case "SessionRouter:Leases:Time": options.Leases.Enabled = true; options.Leases.Time = options.LockTimeout + TimeSpan.FromSeconds(1); break;
            case "SessionRouter:Leases:ContentionBackoff": options.Leases.ContentionBackoff = TimeSpan.FromSeconds(-1); break;
            case "SessionRouter:Leases:MaxBytes": options.Leases.MaxBytes = 0; break;
        }

        var errors = SessionRouterOptionsValidator.Validate(options);
        Assert.Single(errors);
        Assert.StartsWith(field, errors[0], StringComparison.Ordinal);
    }

    [Fact]
    public void AnHttpsNode_WithAPinnedThumbprint_OrACaFile_IsValid()
    {
        var caPath = Path.GetTempFileName();
        try
        {
            var options = Valid();
            options.Nodes[0].Address = "https://10.0.3.31:43424";
            options.Nodes[0].TlsThumbprint = string.Join(':', Enumerable.Repeat("AB", 32));
            options.Nodes.Add(new StateNodeOptions { Id = "c", Address = "https://10.0.3.32:43424", TlsCaPath = caPath });
            options.Nodes.Add(new StateNodeOptions { Id = "d", Address = "https://state-4.example:43424" });

            Assert.Empty(SessionRouterOptionsValidator.Validate(options));
        }
        finally
        {
            File.Delete(caPath);
        }
    }

    [Theory]
    [InlineData("http://127.0.0.1:42424", "0123", null, "SessionRouter:Nodes:0:TlsThumbprint must be the certificate's SHA-256 hash")]
    [InlineData("http://127.0.0.1:42424", null, "ca.pem", "SessionRouter:Nodes:0:TlsCaPath needs an https:// Address")]
    [InlineData("https://127.0.0.1:42424", "zz", null, "SessionRouter:Nodes:0:TlsThumbprint must be the certificate's SHA-256 hash")]
    [InlineData("https://127.0.0.1:42424", null, "/nonexistent/ca.pem", "SessionRouter:Nodes:0:TlsCaPath names no file")]
    [InlineData("https://127.0.0.1:42424", "ok", "/nonexistent/ca.pem", "SessionRouter:Nodes:0:TlsThumbprint and TlsCaPath are two ways")]
    public void FaultyTlsSettings_AreNamed(string address, string? thumbprint, string? caPath, string expected)
    {
        var options = Valid();
        options.Nodes[0].Address = address;
        options.Nodes[0].TlsThumbprint = thumbprint == "ok" ? new string('0', 64) : thumbprint;
        options.Nodes[0].TlsCaPath = caPath;

        var errors = SessionRouterOptionsValidator.Validate(options);

        Assert.Contains(errors, e => e.StartsWith(expected, StringComparison.Ordinal));
        Assert.All(errors, e => Assert.StartsWith("SessionRouter:Nodes:0:Tls", e, StringComparison.Ordinal));
    }

    [Fact]
    public void TwoFaultySettings_AreBothNamed_InOneReport()
    {
        var options = Valid();
        options.IdleTimeout = TimeSpan.Zero;
        options.Nodes[0].Address = "tcp://x";

        var errors = SessionRouterOptionsValidator.Validate(options);

        Assert.Equal(2, errors.Count);
        Assert.Contains(errors, e => e.StartsWith("SessionRouter:IdleTimeout ", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("SessionRouter:Nodes:0:Address ", StringComparison.Ordinal));
    }

    [Fact]
    public void ALeaseTimeAboveTheLockTimeout_IsValid_WhileLeasesAreOff()
    {
        var options = Valid();
        options.LockTimeout = TimeSpan.FromSeconds(1);
        Assert.Empty(SessionRouterOptionsValidator.Validate(options));
    }

    [Fact]
    public void NoNodes_IsAnError()
    {
        var options = Valid();
        options.Nodes.Clear();
        Assert.Contains(SessionRouterOptionsValidator.Validate(options), e => e.StartsWith("SessionRouter:Nodes", StringComparison.Ordinal));
    }

    [Fact]
    public void AllWeightsZero_IsAnError()
    {
        var options = Valid();
        options.Nodes.ForEach(n => n.Weight = 0);
        Assert.Contains(SessionRouterOptionsValidator.Validate(options), e => e.Contains("Weight > 0", StringComparison.Ordinal));
    }

    [Fact]
    public void AnInvalidBase64Key_IsNamed()
    {
        var options = Valid();
        options.SignatureKey = "***";
        Assert.Contains(SessionRouterOptionsValidator.Validate(options), e => e.StartsWith("SessionRouter:SignatureKey is not valid base64", StringComparison.Ordinal));
    }
}
