using System.Diagnostics;
using System.Globalization;
using SessionRouter.Testing.Network;

namespace SessionRouter.Benchmarks.Engine;

/// <summary>
/// The engine host (<c>sessionrouter-stateserver</c>) as its own process on free loopback ports, the way
/// redis-server runs next to the benchmark. Build it first:
/// <c>dotnet build -c Release src/SessionRouter.StateServer.Host</c>.
/// </summary>
internal sealed class EngineProcess : IAsyncDisposable
{
    private readonly Process _process;

    private EngineProcess(Process process, int port, int http2Port)
    {
        _process = process;
        ClassicAddress = new Uri(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}/"));
        Http2Address = new Uri(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{http2Port}/"));
    }

    public Uri ClassicAddress { get; }

    public Uri Http2Address { get; }

    /// <summary>The host's process id (for CPU accounting).</summary>
    public int ProcessId => _process.Id;

    /// <param name="environment">Extra environment variables for the host (e.g. <c>DOTNET_gcServer=1</c> to compare runtime settings).</param>
    public static async Task<EngineProcess> StartAsync(CancellationToken cancellationToken, IReadOnlyDictionary<string, string>? environment = null)
    {
        var dll = FindHost();
        var port = LoopbackPorts.GetFree();
        var http2Port = LoopbackPorts.GetFree();
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { dll, "--Port", port.ToString(CultureInfo.InvariantCulture), "--Http2Port", http2Port.ToString(CultureInfo.InvariantCulture), "--Logging:LogLevel:Default", "Warning" },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start the engine host.");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { Console.Error.WriteLine("engine: " + e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var engine = new EngineProcess(process, port, http2Port);

        using var http = new HttpClient();
        for (var attempt = 0; attempt < 100; attempt++)
        {
            try
            {
                using var response = await http.GetAsync(new Uri(engine.ClassicAddress, "/health"), cancellationToken);
                if (response.IsSuccessStatusCode)
                {
                    return engine;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            await Task.Delay(100, cancellationToken);
        }

        await engine.DisposeAsync();
        throw new InvalidOperationException("The engine host did not answer its health endpoint within 10 s.");
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private static string FindHost()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (!File.Exists(Path.Combine(directory.FullName, "SessionRouter.sln")))
            {
                continue;
            }

            foreach (var configuration in new[] { "Release", "Debug" })
            {
                var dll = Path.Combine(directory.FullName, "src", "SessionRouter.StateServer.Host", "bin", configuration, "net10.0", "sessionrouter-stateserver.dll");
                if (File.Exists(dll))
                {
                    return dll;
                }
            }
        }

        throw new InvalidOperationException("sessionrouter-stateserver.dll not found: run 'dotnet build -c Release src/SessionRouter.StateServer.Host' first.");
    }
}
