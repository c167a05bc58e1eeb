using System.Diagnostics;
using System.Net.Sockets;
using SampleFarm.Logging;

namespace SampleFarm.Hosting;

/// <summary>A local <c>redis-server</c> child process for a Redis node of the farm, without persistence.</summary>
public sealed class RedisServer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _directory;

    private RedisServer(Process process, string directory, int port)
    {
        _process = process;
        _directory = directory;
        Port = port;
    }

    public int Port { get; }

    /// <summary>The path of <c>redis-server</c> on PATH, or null.</summary>
    public static string? FindExecutable()
    {
        foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, "redis-server");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>True when something accepts connections on 127.0.0.1:<paramref name="port"/>.</summary>
    public static async Task<bool> IsListeningAsync(int port, CancellationToken cancellationToken)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromMilliseconds(500));
            await socket.ConnectAsync(System.Net.IPAddress.Loopback, port, timeout.Token).ConfigureAwait(false);
            return true;
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Starts redis-server on <paramref name="port"/> and waits until it accepts connections.</summary>
    public static async Task<RedisServer> StartAsync(string executable, int port, string name, FarmLog log, CancellationToken cancellationToken)
    {
        var directory = Path.Combine(Path.GetTempPath(), "sessionrouter-farm-redis-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        // Its own session (setsid), so a Ctrl+C in the terminal reaches only the farm, which then stops the
        // gateway before the nodes, instead of every redis-server quitting under a running gateway.
        const string Setsid = "/usr/bin/setsid";
        var detached = File.Exists(Setsid);
        var start = new ProcessStartInfo(detached ? Setsid : executable)
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (detached)
        {
            start.ArgumentList.Add(executable);
        }

        foreach (var argument in new[] { "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "yes" })
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start.");
        // redis-server's start-up banner is noise next to the farm's own summary: only "ready" is shown by default.
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { Length: > 0 } line)
            {
                var level = line.Contains("Ready to accept", StringComparison.Ordinal) ? Microsoft.Extensions.Logging.LogLevel.Information : Microsoft.Extensions.Logging.LogLevel.Debug;
                log.Write(name, level, null, line, null);
            }
        };
        process.ErrorDataReceived += (_, e) => { if (e.Data is { Length: > 0 } line) { log.Write(name, Microsoft.Extensions.Logging.LogLevel.Warning, null, line, null); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var server = new RedisServer(process, directory, port);
        for (var attempt = 0; attempt < 100; attempt++)
        {
            if (process.HasExited)
            {
                await server.DisposeAsync().ConfigureAwait(false);
                throw new InvalidOperationException($"redis-server on port {port} exited with code {process.ExitCode} (is the port taken?).");
            }

            if (await IsListeningAsync(port, cancellationToken).ConfigureAwait(false))
            {
                return server;
            }

            await Task.Delay(50, cancellationToken).ConfigureAwait(false);
        }

        await server.DisposeAsync().ConfigureAwait(false);
        throw new InvalidOperationException($"redis-server on port {port} did not accept connections within 5 s.");
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync().ConfigureAwait(false);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }

        _process.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A leftover empty temp directory is harmless.
        }
    }
}
