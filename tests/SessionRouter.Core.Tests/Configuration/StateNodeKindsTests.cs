using SessionRouter.Core.Configuration;
using Xunit;

namespace SessionRouter.Core.Tests.Configuration;

public sealed class StateNodeKindsTests
{
    [Fact]
    public void ARedisNodeIsShownByItsFirstEndpoint_NeverWithItsPassword()
    {
        var node = new StateNodeOptions { Id = "r", Engine = StateNodeEngine.Redis, ConnectionString = "10.0.0.5:6379,10.0.0.6:6379,password=hunter2,ssl=true" };

        Assert.Equal("10.0.0.5:6379", StateNodeKinds.Describe(node));
    }

    [Fact]
    public void ABuiltinNodeIsShownByItsAddress_NeverWithItsAccessKey()
    {
        var node = new StateNodeOptions { Id = "e", Address = "http://10.0.0.7:43424", AccessKey = "a-secret-access-key" };

        Assert.Equal("http://10.0.0.7:43424", StateNodeKinds.Describe(node));
    }

    [Fact]
    public void EveryEngineHasAKind_AndAnUnknownValueIsNamedInTheValidatorsError()
    {
        foreach (var engine in Enum.GetValues<StateNodeEngine>())
        {
            Assert.True(StateNodeKinds.TryGet(engine, out var kind));
            Assert.Equal(engine, kind.Engine);
        }

        var options = new SessionRouterOptions
        {
            SignatureKey = Convert.ToBase64String(new byte[32]),
            Nodes = [new StateNodeOptions { Id = "x", Engine = (StateNodeEngine)42, Address = "http://127.0.0.1:1" }],
        };
        Assert.Contains(SessionRouterOptionsValidator.Validate(options), e => e == "SessionRouter:Nodes:0:Engine must be Builtin or Redis.");
    }

    [Fact]
    public void WaitForReplicas_IsARedisSetting_NamedWhenWrong()
    {
        var options = new SessionRouterOptions
        {
            SignatureKey = Convert.ToBase64String(new byte[32]),
            Nodes =
            [
                new StateNodeOptions { Id = "e", Address = "http://127.0.0.1:1", WaitForReplicas = 1 },
                new StateNodeOptions { Id = "r", Engine = StateNodeEngine.Redis, ConnectionString = "127.0.0.1:6379", WaitForReplicas = -1 },
                new StateNodeOptions { Id = "s", Engine = StateNodeEngine.Redis, ConnectionString = "127.0.0.1:6380", WaitForReplicas = 1, WaitForReplicasTimeout = TimeSpan.Zero },
            ],
        };

        var errors = SessionRouterOptionsValidator.Validate(options);

        Assert.Contains(errors, e => e.StartsWith("SessionRouter:Nodes:0:WaitForReplicas is a setting of Redis nodes", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("SessionRouter:Nodes:1:WaitForReplicas must be 0", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("SessionRouter:Nodes:2:WaitForReplicasTimeout must be positive", StringComparison.Ordinal));
    }

    [Fact]
    public void TlsTrust_IsABuiltinSetting_NamedWhenGivenToARedisNode()
    {
        var options = new SessionRouterOptions
        {
            SignatureKey = Convert.ToBase64String(new byte[32]),
            Nodes = [new StateNodeOptions { Id = "r", Engine = StateNodeEngine.Redis, ConnectionString = "127.0.0.1:6379,ssl=true", TlsThumbprint = new string('A', 64) }],
        };

        var error = Assert.Single(SessionRouterOptionsValidator.Validate(options));

        Assert.StartsWith("SessionRouter:Nodes:0:TlsThumbprint is a setting of built-in engine nodes", error, StringComparison.Ordinal);
    }
}
