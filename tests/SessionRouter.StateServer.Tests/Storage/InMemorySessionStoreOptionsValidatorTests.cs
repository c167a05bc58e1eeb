using SessionRouter.StateServer.Storage;

namespace SessionRouter.StateServer.Tests.Storage;

public sealed class InMemorySessionStoreOptionsValidatorTests
{
    [Fact]
    public void DefaultOptions_HaveNoErrors() => Assert.Empty(InMemorySessionStoreOptionsValidator.Validate(new InMemorySessionStoreOptions()));

    [Fact]
    public void TwoFaultySettings_AreBothNamed()
    {
        var options = new InMemorySessionStoreOptions { MaxItemBytes = 0, DefaultLockTimeout = TimeSpan.Zero };

        var errors = InMemorySessionStoreOptionsValidator.Validate(options);

        Assert.Equal(2, errors.Count);
        Assert.Contains(errors, e => e.StartsWith("MaxItemBytes ", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("DefaultLockTimeout ", StringComparison.Ordinal));
    }

    [Fact]
    public void FromASection_SettingsAreNamedByTheirConfigurationPath()
    {
        var errors = InMemorySessionStoreOptionsValidator.Validate(new InMemorySessionStoreOptions { MemoryCapBytes = -1 }, "StateServer");

        Assert.StartsWith("StateServer:MemoryCapBytes ", Assert.Single(errors), StringComparison.Ordinal);
    }

    [Fact]
    public void TheStore_RefusesInvalidOptions_WithOneErrorNamingEach()
    {
        var error = Assert.Throws<ArgumentException>(() => new InMemorySessionStore(new InMemorySessionStoreOptions { MaxItemBytes = 0, MaxWaitersPerSession = -1 }));

        Assert.Contains("MaxItemBytes", error.Message, StringComparison.Ordinal);
        Assert.Contains("MaxWaitersPerSession", error.Message, StringComparison.Ordinal);
    }
}
