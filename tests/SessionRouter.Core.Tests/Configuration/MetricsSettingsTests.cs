using SessionRouter.Core.Configuration;

namespace SessionRouter.Core.Tests.Configuration;

public sealed class MetricsSettingsTests
{
    [Theory]
    [InlineData("http://collector:4318", OtlpTransport.HttpProtobuf, "http://collector:4318/v1/metrics")]
    [InlineData("http://collector:4318/", OtlpTransport.HttpProtobuf, "http://collector:4318/v1/metrics")]
    [InlineData("http://collector:4318/custom/metrics", OtlpTransport.HttpProtobuf, "http://collector:4318/custom/metrics")]
    [InlineData("http://collector:4317", OtlpTransport.Grpc, "http://collector:4317/")]
    public void OtlpUri_GivesCollectorsTheirMetricsPathOverHttp(string endpoint, OtlpTransport protocol, string expected)
        => Assert.Equal(new Uri(expected), new MetricsSettings { OtlpEndpoint = endpoint, OtlpProtocol = protocol }.OtlpUri());

    [Fact]
    public void Defaults_ServePrometheus_AndPushNothing()
    {
        var settings = new MetricsSettings();

        Assert.True(settings.Prometheus);
        Assert.Null(settings.OtlpUri());
        Assert.True(settings.AnyExporter);
        Assert.False(new MetricsSettings { Prometheus = false }.AnyExporter);
        Assert.Empty(MetricsSettingsValidator.Validate(settings, "SessionRouter:Metrics"));
    }
}
