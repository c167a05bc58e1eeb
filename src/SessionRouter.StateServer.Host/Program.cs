using System.Runtime.InteropServices;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using SessionRouter.Core.Configuration;
using SessionRouter.StateServer.Hosting;

// sessionrouter-stateserver: one engine node. Settings come from appsettings.json, then environment
// variables (SESSIONROUTER_StateServer__Port=42424), then the command line (--Port 42424 or
// --StateServer:Port 42424); later sources win.
var configuration = new ConfigurationBuilder()
    .SetBasePath(AppContext.BaseDirectory)
    .AddJsonFile("appsettings.json", optional: true)
    .AddEnvironmentVariables("SESSIONROUTER_")
    .AddCommandLine(args)
    .Build();

using var loggerFactory = LoggerFactory.Create(logging => logging
    // With this category enabled at any level, ASP.NET Core hosting starts an Activity for every request
    // (measurable on the engine's hot path); Kestrel still logs unhandled application errors itself.
    // A "Logging" section entry for the category turns it back on.
    .AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None)
    .AddConfiguration(configuration.GetSection("Logging"))
    .AddSimpleConsole(console =>
    {
        console.SingleLine = true;
        console.TimestampFormat = "HH:mm:ss ";
    }));

StateServerOptions options;
try
{
    options = new StateServerOptions();
    configuration.GetSection(StateServerOptions.SectionName).Bind(options);

    // Top-level keys (--Port 42424, SESSIONROUTER_Port) override the section.
    configuration.Bind(options);
}
catch (Exception error) when (error is ArgumentException or InvalidOperationException)
{
    // A value that does not convert (a port that is not a number): the binder names the key.
    await Console.Error.WriteLineAsync($"Invalid state server settings: {error.Message}");
    return 2;
}

var errors = StateServerOptionsValidator.Validate(options);
if (errors.Count > 0)
{
    await Console.Error.WriteLineAsync(ValidationErrors.Describe("Invalid state server settings", errors));
    return 2;
}

StateServerRunner node;
try
{
    node = await StateServerRunner.StartAsync(options, loggerFactory);
}
catch (ArgumentException error)
{
    // Settings that only loading shows to be wrong (a certificate file that is not one).
    await Console.Error.WriteLineAsync($"Invalid state server settings: {error.Message}");
    return 2;
}
catch (IOException error)
{
    await Console.Error.WriteLineAsync($"The state server could not bind its ports ({StateServerOptions.SectionName}:Port {options.Port}, {StateServerOptions.SectionName}:Http2Port {options.Http2Port}): {error.Message}");
    return 3;
}

var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.TrySetResult();
};
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
{
    context.Cancel = true;
    stop.TrySetResult();
});

await stop.Task;
await node.ShutdownAsync();
return 0;
