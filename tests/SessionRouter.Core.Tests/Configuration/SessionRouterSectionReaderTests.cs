using Microsoft.Extensions.Configuration;
using SessionRouter.Core.Configuration;
using Xunit;

namespace SessionRouter.Core.Tests.Configuration;

public sealed class SessionRouterSectionReaderTests
{
    private static IConfigurationSection Section(params (string Key, string Value)[] pairs)
    {
        var values = new Dictionary<string, string?>
        {
            ["SessionRouter:SignatureKey"] = Convert.ToBase64String(new byte[32]),
            ["SessionRouter:Nodes:0:Id"] = "node-a",
            ["SessionRouter:Nodes:0:Address"] = "http://127.0.0.1:43424",
        };
        foreach (var (key, value) in pairs)
        {
            values[key] = value;
        }

        return new ConfigurationBuilder().AddInMemoryCollection(values).Build().GetSection("SessionRouter");
    }

    [Fact]
    public void ValidSection_BindsWithoutErrors()
    {
        var options = SessionRouterSectionReader.Read(Section(), out var errors);

        Assert.Empty(errors);
        Assert.Equal("node-a", Assert.Single(options.Nodes).Id);
    }

    [Fact]
    public void MistypedEngineOfAListedNode_IsNamed_NotSilentlyDropped()
    {
        SessionRouterSectionReader.Read(Section(("SessionRouter:Nodes:0:Engine", "Bultin")), out var errors);

        var error = Assert.Single(errors);
        Assert.Contains("SessionRouter:Nodes:0:Engine", error, StringComparison.Ordinal);
        Assert.Contains("Bultin", error, StringComparison.Ordinal);
    }

    [Fact]
    public void UnknownSetting_IsNamed()
    {
        SessionRouterSectionReader.Read(Section(("SessionRouter:IdleTimout", "00:10:00")), out var errors);

        Assert.Contains(errors, e => e.Contains("SessionRouter:IdleTimout", StringComparison.Ordinal));
    }

    [Fact]
    public void MalformedTimeSpan_IsNamed()
    {
        SessionRouterSectionReader.Read(Section(("SessionRouter:LockTimeout", "ninety seconds")), out var errors);

        Assert.Contains(errors, e => e.Contains("SessionRouter:LockTimeout", StringComparison.Ordinal));
    }
}
