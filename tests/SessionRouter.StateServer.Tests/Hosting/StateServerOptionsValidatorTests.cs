using SessionRouter.StateServer.Hosting;

namespace SessionRouter.StateServer.Tests.Hosting;

public sealed class StateServerOptionsValidatorTests
{
    [Fact]
    public void DefaultOptions_HaveNoErrors() => Assert.Empty(StateServerOptionsValidator.Validate(new StateServerOptions()));

    [Fact]
    public void TwoFaultySettings_AreBothNamed_ByTheirConfigurationPath()
    {
        var options = new StateServerOptions { Port = 70000, MaxItemBytes = 0 };

        var errors = StateServerOptionsValidator.Validate(options);

        Assert.Equal(2, errors.Count);
        Assert.Contains(errors, e => e.StartsWith("StateServer:Port ", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("StateServer:MaxItemBytes ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task StartAsync_RefusesInvalidSettings_WithOneErrorNamingEach()
    {
        var options = new StateServerOptions { Port = 0, Http2Port = -2, MaxConnections = -1, MaxWaitersPerSession = -1 };

        var error = await Assert.ThrowsAsync<ArgumentException>(() => StateServerRunner.StartAsync(options));

        Assert.Contains("StateServer:Http2Port", error.Message, StringComparison.Ordinal);
        Assert.Contains("StateServer:MaxConnections", error.Message, StringComparison.Ordinal);
        Assert.Contains("StateServer:MaxWaitersPerSession", error.Message, StringComparison.Ordinal);
    }
}
