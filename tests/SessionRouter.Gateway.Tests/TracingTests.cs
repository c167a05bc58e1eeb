using SessionRouter.Gateway.Tests.Infrastructure;
using Xunit;

namespace SessionRouter.Gateway.Tests;

/// <summary>
/// The gateway adds no trace hop of its own unless a tracer listens: hosting starts no Activity just
/// because logging is on (and the engine client starts none per call). A client's trace context reaches
/// the site unchanged.
/// </summary>
public sealed class TracingTests : IAsyncLifetime
{
    private GatewayFarm _farm = null!;

    public async Task InitializeAsync() => _farm = await GatewayFarm.StartAsync(new FarmOptions());

    public async Task DisposeAsync() => await _farm.DisposeAsync();

    [Fact]
    public async Task ClientTraceparent_ReachesTheSiteUnchanged()
    {
        const string traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        using var client = _farm.NewClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/cart/inc");
        request.Headers.TryAddWithoutValidation("traceparent", traceparent);

        var reply = await SiteReply.ReadAsync(await client.SendAsync(request));

        Assert.Equal(200, reply.Status);
        Assert.Contains($"traceparent={traceparent}\n", reply.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithoutClientTraceparent_TheGatewayStartsNoTrace()
    {
        using var client = _farm.NewClient();

        var reply = await SiteReply.ReadAsync(await client.GetAsync("/cart/inc"));

        Assert.Equal(200, reply.Status);
        Assert.Contains("traceparent=\n", reply.Body, StringComparison.Ordinal);
    }
}
