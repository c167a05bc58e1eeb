namespace SessionRouter.StateServer.Client.Tests;

/// <summary>The client's settings: every faulty one is named under its node, all at once.</summary>
public sealed class StateServerClientOptionsValidatorTests
{
    private static StateServerClientOptions Valid() => new() { NodeId = "node-a", BaseAddress = new Uri("http://127.0.0.1:43424/") };

    [Fact]
    public void ValidOptions_HaveNoErrors() => Assert.Empty(StateServerClientOptionsValidator.Validate(Valid()));

    [Theory]
    [InlineData("BaseAddress")]
    [InlineData("AttemptTimeout")]
    [InlineData("ProbeTimeout")]
    [InlineData("MaxRequestsInFlight")]
    [InlineData("CircuitBreakerFailureRatio")]
    [InlineData("CircuitBreakerMinimumThroughput")]
    [InlineData("CircuitBreakerSamplingDuration")]
    [InlineData("CircuitBreakerBreakDuration")]
    public void EachFaultySetting_IsNamedUnderItsNode(string setting)
    {
        var options = Valid();
        switch (setting)
        {
            case "BaseAddress": options.BaseAddress = new Uri("/relative", UriKind.Relative); break;
            case "AttemptTimeout": options.AttemptTimeout = TimeSpan.Zero; break;
            case "ProbeTimeout": options.ProbeTimeout = TimeSpan.FromMilliseconds(1); break;
            case "MaxRequestsInFlight": options.MaxRequestsInFlight = 0; break;
            case "CircuitBreakerFailureRatio": options.CircuitBreakerFailureRatio = double.NaN; break;
            case "CircuitBreakerMinimumThroughput": options.CircuitBreakerMinimumThroughput = 1; break;
            case "CircuitBreakerSamplingDuration": options.CircuitBreakerSamplingDuration = TimeSpan.FromMilliseconds(100); break;
            case "CircuitBreakerBreakDuration": options.CircuitBreakerBreakDuration = TimeSpan.FromDays(2); break;
        }

        var errors = StateServerClientOptionsValidator.Validate(options);

        Assert.Single(errors);
        Assert.StartsWith($"Nodes:node-a:{setting} ", errors[0], StringComparison.Ordinal);
    }

    [Fact]
    public void MissingNodeIdAndAddress_AreBothNamed()
    {
        var errors = StateServerClientOptionsValidator.Validate(new StateServerClientOptions());

        Assert.Equal(2, errors.Count);
        Assert.StartsWith("Nodes:(no id):NodeId ", errors[0], StringComparison.Ordinal);
        Assert.StartsWith("Nodes:(no id):BaseAddress ", errors[1], StringComparison.Ordinal);
    }

    [Fact]
    public void TwoBadSettings_AreBothNamedInTheConstructorsOneException()
    {
        var options = Valid();
        options.BaseAddress = new Uri("ftp://127.0.0.1/");
        options.MaxRequestsInFlight = 2000;

        var error = Assert.Throws<ArgumentException>(() => new StateServerClient(options));

        Assert.Equal("options", error.ParamName);
        Assert.Contains("Nodes:node-a:BaseAddress must be an absolute http:// or https:// address; it is 'ftp://127.0.0.1/'.", error.Message, StringComparison.Ordinal);
        Assert.Contains("Nodes:node-a:MaxRequestsInFlight must be between 1 and 1024; it is 2000.", error.Message, StringComparison.Ordinal);
    }
}
