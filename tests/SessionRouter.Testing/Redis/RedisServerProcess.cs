using System.Diagnostics;
using System.Globalization;
using SessionRouter.Testing.Network;

namespace SessionRouter.Testing.Redis;

/// <summary>
/// A real <c>redis-server</c> process on a free loopback port, without persistence, in its own temporary
/// directory. Start with <see cref="StartAsync"/>; <see cref="DisposeAsync"/> stops it and deletes the
/// directory. <see cref="Kill"/> and <see cref="RestartAsync"/> serve fault tests.
/// </summary>
public sealed class RedisServerProcess : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(15);
    private const int PortAttempts = 5;

    private readonly string _directory;
    private readonly IReadOnlyList<string> _extraArguments;
    private Process? _process;
    private bool _disposed;

    private RedisServerProcess(int port, int tlsPort, string directory, IReadOnlyList<string> extraArguments)
    {
        Port = port;
        TlsPort = tlsPort;
        _directory = directory;
        _extraArguments = extraArguments;
    }

    /// <summary>The loopback port the server listens on (kept across <see cref="RestartAsync"/>).</summary>
    public int Port { get; }

    /// <summary>The loopback port of the server's TLS listener; 0 unless started with <see cref="StartWithTlsAsync"/>.</summary>
    public int TlsPort { get; }

    /// <summary>A StackExchange.Redis connection string for the TLS listener: <c>127.0.0.1:TLSPORT,ssl=true</c>.</summary>
    public string TlsConnectionString => string.Create(CultureInfo.InvariantCulture, $"127.0.0.1:{TlsPort},ssl=true");

    /// <summary>A StackExchange.Redis connection string for this server: <c>127.0.0.1:PORT</c>.</summary>
    public string ConnectionString => string.Create(CultureInfo.InvariantCulture, $"127.0.0.1:{Port}");

    /// <summary>The server's working directory (logs, cluster config file); deleted on dispose.</summary>
    public string Directory => _directory;

    /// <summary>The operating system's id of the running process (0 when it does not run).</summary>
    public int ProcessId => _process is { HasExited: false } process ? process.Id : 0;

    /// <summary>True while the process runs.</summary>
    public bool IsRunning => _process is { HasExited: false };

    /// <summary>
    /// Starts <c>redis-server --save "" --appendonly no --bind 127.0.0.1 --port P</c> on a free port and
    /// completes once it answers PING. <paramref name="extraArguments"/> are appended verbatim
    /// (e.g. <c>--cluster-enabled yes</c>). Throws with a clear message when redis-server is not installed.
    /// </summary>
    public static Task<RedisServerProcess> StartAsync(IEnumerable<string>? extraArguments = null, CancellationToken cancellationToken = default)
        => StartAsync(tls: null, extraArguments, cancellationToken);

    /// <summary>
    /// Starts a server as <see cref="StartAsync(IEnumerable{string}?, CancellationToken)"/> does, with a TLS
    /// listener on a second free port (<see cref="TlsPort"/>) serving <paramref name="tls"/>'s certificate;
    /// clients need no certificate. The plain port stays open for the readiness probe and fixtures.
    /// </summary>
    public static Task<RedisServerProcess> StartWithTlsAsync(RedisTlsFiles tls, IEnumerable<string>? extraArguments = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(tls);
        return StartAsync(tls, extraArguments, cancellationToken);
    }

    private static async Task<RedisServerProcess> StartAsync(RedisTlsFiles? tls, IEnumerable<string>? extraArguments, CancellationToken cancellationToken)
    {
        var executable = FindExecutable("redis-server");
        Exception? lastError = null;
        for (var attempt = 0; attempt < PortAttempts; attempt++)
        {
            var directory = Path.Combine(Path.GetTempPath(), "sessionrouter-redis-" + Guid.NewGuid().ToString("N"));
            System.IO.Directory.CreateDirectory(directory);
            var extras = new List<string>();
            var tlsPort = 0;
            if (tls is not null)
            {
                tlsPort = LoopbackPorts.GetFree();
                extras.AddRange(
                [
                    "--tls-port", tlsPort.ToString(CultureInfo.InvariantCulture),
                    "--tls-cert-file", tls.CertificateFile, "--tls-key-file", tls.KeyFile,
                    "--tls-ca-cert-file", tls.CaFile, "--tls-auth-clients", "no",
                ]);
            }

            extras.AddRange(extraArguments ?? []);
            var server = new RedisServerProcess(LoopbackPorts.GetFree(), tlsPort, directory, extras);
            try
            {
                await server.LaunchAsync(executable, cancellationToken);
                return server;
            }
            catch (RedisProcessException e)
            {
                // Most likely another process took the port between probing and binding: try a new one.
                lastError = e;
                await server.DisposeAsync();
            }
            catch
            {
                await server.DisposeAsync();
                throw;
            }
        }

        throw new InvalidOperationException($"redis-server did not start after {PortAttempts} attempts.", lastError);
    }

    /// <summary>Stops the process at once (SIGKILL), as a crash would. Does nothing when it is not running.</summary>
    public void Kill()
    {
        var process = _process;
        if (process is null)
        {
            return;
        }

        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    /// <summary>Kills the process if it runs and starts it again on the same port with the same arguments.</summary>
    public async Task RestartAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Kill();
        _process?.Dispose();
        _process = null;
        await LaunchAsync(FindExecutable("redis-server"), cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        Kill();
        _process?.Dispose();
        _process = null;
        for (var attempt = 0; attempt < 3; attempt++)
        {
            try
            {
                if (System.IO.Directory.Exists(_directory))
                {
                    System.IO.Directory.Delete(_directory, recursive: true);
                }

                break;
            }
            catch (IOException)
            {
                await Task.Delay(100);
            }
        }
    }

    public override string ToString() => $"redis-server {ConnectionString}";

    /// <summary>Full path of <paramref name="name"/> on PATH; throws a message that says how to install it.</summary>
    internal static string FindExecutable(string name)
    {
        foreach (var folder in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(folder, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException(
            $"{name} was not found on PATH. The Redis tests start real Redis processes: run ./test.sh, which installs it " +
            "(or apt-get install redis-server).");
    }

    private string LogFile => Path.Combine(_directory, "redis.log");

    private async Task LaunchAsync(string executable, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(executable)
        {
            UseShellExecute = false,
            RedirectStandardOutput = false,
            RedirectStandardError = false,
            WorkingDirectory = _directory,
        };
        foreach (var argument in new[]
                 {
                     "--save", "", "--appendonly", "no", "--bind", "127.0.0.1",
                     "--port", Port.ToString(CultureInfo.InvariantCulture),
                     "--dir", _directory, "--logfile", LogFile, "--daemonize", "no",
                 }.Concat(_extraArguments))
        {
            start.ArgumentList.Add(argument);
        }

        _process = Process.Start(start) ?? throw new InvalidOperationException("redis-server could not be started.");

        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < StartTimeout)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (_process.HasExited)
            {
                throw new RedisProcessException($"redis-server on port {Port} exited with code {_process.ExitCode}: {ReadLogTail()}");
            }

            if (await RespProbe.PingAsync(Port, TimeSpan.FromSeconds(1)))
            {
                // The port was free when it was chosen, but another process can bind it before this server does
                // (another test's redis-server, say): this one then exits, and the PONG came from the other one.
                var answering = await AnsweringProcessIdAsync();
                if (answering == _process.Id)
                {
                    return;
                }

                if (answering is not null)
                {
                    Kill();
                    throw new RedisProcessException($"port {Port} is answered by another redis-server (pid {answering}), not by the one started here (pid {_process.Id})");
                }
            }

            await Task.Delay(20, cancellationToken);
        }

        Kill();
        throw new RedisProcessException($"redis-server on port {Port} did not answer PING within {StartTimeout.TotalSeconds} s: {ReadLogTail()}");
    }

    /// <summary>The process id of the redis-server that answers on <see cref="Port"/>; null when none answered.</summary>
    private async Task<int?> AnsweringProcessIdAsync()
    {
        try
        {
            var info = await RespProbe.SendAsync(Port, TimeSpan.FromSeconds(1), "INFO", "server") ?? "";
            foreach (var line in info.Split('\n'))
            {
                if (line.StartsWith("process_id:", StringComparison.Ordinal)
                    && int.TryParse(line.AsSpan("process_id:".Length).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var id))
                {
                    return id;
                }
            }

            return null;
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or IOException or OperationCanceledException)
        {
            return null;
        }
    }

    private string ReadLogTail()
    {
        try
        {
            var lines = File.ReadAllLines(LogFile);
            return string.Join(" | ", lines.TakeLast(5));
        }
        catch (IOException)
        {
            return "(no log)";
        }
    }
}

/// <summary>PEM files of a redis-server TLS listener: its certificate, its private key and the CA that issued it.</summary>
public sealed record RedisTlsFiles(string CertificateFile, string KeyFile, string CaFile);

/// <summary>A redis-server process failed to start or to answer.</summary>
public sealed class RedisProcessException : Exception
{
    public RedisProcessException()
    {
    }

    public RedisProcessException(string message)
        : base(message)
    {
    }

    public RedisProcessException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
