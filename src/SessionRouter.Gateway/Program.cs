using SessionRouter.Gateway.Hosting;

try
{
    var app = SessionRouter.Gateway.GatewayApp.Build(args);
    await app.RunAsync().ConfigureAwait(false);
    return 0;
}
catch (GatewayConfigurationException ex)
{
    await Console.Error.WriteLineAsync("SessionRouter gateway cannot start: " + ex.Message).ConfigureAwait(false);
    return 2;
}
