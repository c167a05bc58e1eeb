using System.Collections.Concurrent;
using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using SessionRouter.Testing.Network;

namespace SessionRouter.Gateway.Tests.Chaos;

/// <summary>
/// One built-in engine node as its own OS process (<c>dotnet sessionrouter-stateserver.dll</c>, the host program the
/// test project's output carries), so that a test can do to it what happens to a real node: SIGKILL it, restart it on
/// the same ports with empty memory, and SIGSTOP/SIGCONT it (a hung node that comes back). An in-process engine cannot
/// be hung or killed without taking the test down with it.
/// </summary>
internal sealed class EngineNodeProcess : IAsyncDisposable
{
    private const string HostFileName = "sessionrouter-stateserver.dll";

    // The host's exit code when a port cannot be bound (docs/engine.md).
    private const int PortInUseExitCode = 3;
    private const int OutputLinesKept = 40;

    // $1 is the test process, the rest the command. In the watchdog subshell $$ is still the shell's pid, which exec
    // hands to the engine; the watchdog ends with the engine, and holds none of its output pipes.
    private const string Watchdog = """
        parent=$1; shift
        (while kill -0 $$ 2>/dev/null; do
           kill -0 "$parent" 2>/dev/null || { kill -9 $$; exit 0; }
           sleep 1
         done) </dev/null >/dev/null 2>&1 &
        exec "$@"
        """;

    private static readonly TimeSpan ReadinessBound = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan ExitBound = TimeSpan.FromSeconds(20);

    // Every engine process this test process started and has not seen exit: killed when the test process exits, so
    // that a run that ends without disposing its nodes leaves no engine behind (the watchdog covers a killed one).
    private static readonly ConcurrentDictionary<int, Process> Running = new();

    private readonly ConcurrentQueue<string> _output = new();
    private Process? _process;

    static EngineNodeProcess()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            foreach (var process in Running.Values)
            {
                try
                {
                    process.Kill();
                }
                catch (Exception)
                {
                    // Already gone; an exit handler must not throw.
                }
            }
        };
    }

    private EngineNodeProcess(string id, int port, int http2Port)
    {
        Id = id;
        Port = port;
        Http2Port = http2Port;
    }

    /// <summary>The node's id in the partition map.</summary>
    public string Id { get; }

    /// <summary>The MS-ASP port (HTTP/1.1); its <c>/health</c> tells when the process is ready.</summary>
    public int Port { get; }

    /// <summary>The HTTP/2 port, the one the gateway's client talks to.</summary>
    public int Http2Port { get; }

    /// <summary>The address a <c>SessionRouter:Nodes</c> entry names for this node.</summary>
    public string Address => string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{Http2Port}");

    public int ProcessId => _process?.Id ?? 0;

    /// <summary>True while the process is stopped by SIGSTOP.</summary>
    public bool IsSuspended { get; private set; }

    /// <summary>The last lines the node's processes wrote (warnings and errors; the host logs at Warning here).</summary>
    public string RecentOutput => string.Join('\n', _output);

    /// <summary>Starts a node on two free loopback ports and waits until it answers its health endpoint.</summary>
    public static async Task<EngineNodeProcess> StartAsync(string id, CancellationToken cancellationToken)
    {
        // A free port can be taken by someone else before the host binds it: then try other ports.
        for (var attempt = 1; ; attempt++)
        {
            var node = new EngineNodeProcess(id, LoopbackPorts.GetFree(), LoopbackPorts.GetFree());
            try
            {
                await node.LaunchAsync(cancellationToken).ConfigureAwait(false);
                return node;
            }
            catch (PortInUseException) when (attempt < 5)
            {
                await node.DisposeAsync().ConfigureAwait(false);
            }
            catch
            {
                await node.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }
    }

    /// <summary>SIGKILL: the node dies at once with every session it held, as in a crash.</summary>
    public async Task KillAsync()
    {
        var process = _process ?? throw new InvalidOperationException($"node {Id} is not running");
        IsSuspended = false;
        await StopProcessAsync(process).ConfigureAwait(false);
        _process = null;
    }

    /// <summary>Starts a new process on the same ports (so the partition map still names it): its memory is empty.</summary>
    public async Task RestartAsync(CancellationToken cancellationToken)
    {
        if (_process is not null)
        {
            throw new InvalidOperationException($"node {Id} is still running");
        }

        // The killed process's ports are normally free at once; give the kernel a little time if they are not.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await LaunchAsync(cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (PortInUseException) when (attempt < 20)
            {
                await Task.Delay(500, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>SIGSTOP: the node stops answering without closing a connection, as a hung or paused machine does.</summary>
    public void Suspend()
    {
        Signal(Signals.Stop);
        IsSuspended = true;
    }

    /// <summary>SIGCONT: the node carries on with whatever it had received meanwhile.</summary>
    public void Resume()
    {
        Signal(Signals.Continue);
        IsSuspended = false;
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is { } process)
        {
            _process = null;
            IsSuspended = false;

            // SIGKILL ends a stopped process too; no SIGCONT needed first.
            await StopProcessAsync(process).ConfigureAwait(false);
        }
    }

    private async Task LaunchAsync(CancellationToken cancellationToken)
    {
        // Through sh, which execs the host in its own place (same pid: the signals reach the engine itself) after
        // starting a watchdog that SIGKILLs it once this test process is gone. The ProcessExit handler covers a
        // test process that exits; the watchdog one that is killed (an aborted run, a test session timeout).
        var start = new ProcessStartInfo("/bin/sh")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        foreach (var argument in (string[])["-c", Watchdog, "engine-" + Id, Environment.ProcessId.ToString(CultureInfo.InvariantCulture), DotnetHost, HostPath])
        {
            start.ArgumentList.Add(argument);
        }

        // Environment variables, the way an operator configures the host (docs/engine.md); they win over the
        // appsettings.json that came with the host.
        start.Environment["SESSIONROUTER_StateServer__Port"] = Port.ToString(CultureInfo.InvariantCulture);
        start.Environment["SESSIONROUTER_StateServer__Http2Port"] = Http2Port.ToString(CultureInfo.InvariantCulture);
        start.Environment["SESSIONROUTER_Logging__LogLevel__Default"] = "Warning";

        // Several engines share two cores with the gateways and the clients of the test: the workstation
        // collector keeps each process small and leaves the cores to the requests.
        start.Environment["DOTNET_gcServer"] = "0";

        var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => Keep(e.Data);
        process.ErrorDataReceived += (_, e) => Keep(e.Data);
        if (!process.Start())
        {
            throw new InvalidOperationException($"node {Id}: the engine host did not start");
        }

        Running[process.Id] = process;
        _process = process;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        Keep($"[started pid {process.Id} on ports {Port} and {Http2Port}]");

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var health = new Uri(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{Port}/health"));
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            if (process.HasExited)
            {
                Running.TryRemove(process.Id, out _);
                _process = null;
                var exitCode = process.ExitCode;
                process.Dispose();
                if (exitCode == PortInUseExitCode)
                {
                    throw new PortInUseException();
                }

                throw new InvalidOperationException($"node {Id}: the engine host exited with code {exitCode} before it was ready:\n{RecentOutput}");
            }

            try
            {
                using var response = await http.GetAsync(health, cancellationToken).ConfigureAwait(false);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // The attempt timed out on a busy machine: ask again.
            }

            if (deadline.Elapsed > ReadinessBound)
            {
                throw new TimeoutException($"node {Id}: the engine host did not answer {health} within {ReadinessBound.TotalSeconds} s:\n{RecentOutput}");
            }

            await Task.Delay(100, cancellationToken).ConfigureAwait(false);
        }
    }

    private static async Task StopProcessAsync(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill();
            }

            using var bound = new CancellationTokenSource(ExitBound);
            await process.WaitForExitAsync(bound.Token).ConfigureAwait(false);
        }
        catch (InvalidOperationException)
        {
            // It had exited already.
        }
        finally
        {
            Running.TryRemove(process.Id, out _);
            process.Dispose();
        }
    }

    private void Signal(int signal)
    {
        var process = _process ?? throw new InvalidOperationException($"node {Id} is not running");
        if (Signals.Send(process.Id, signal) != 0)
        {
            throw new Win32Exception(Marshal.GetLastPInvokeError(), $"node {Id}: signal {signal} to pid {process.Id} failed");
        }
    }

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        _output.Enqueue(line);
        while (_output.Count > OutputLinesKept && _output.TryDequeue(out _))
        {
        }
    }

    /// <summary>The host program next to this assembly (see the project file), with its runtimeconfig.json.</summary>
    private static string HostPath
    {
        get
        {
            var path = Path.Combine(AppContext.BaseDirectory, HostFileName);
            if (!File.Exists(path) || !File.Exists(Path.ChangeExtension(path, ".runtimeconfig.json")))
            {
                throw new FileNotFoundException($"{HostFileName} and its runtimeconfig.json are not in {AppContext.BaseDirectory}: the test project references src/SessionRouter.StateServer.Host so that building it copies them; build it again.", path);
            }

            return path;
        }
    }

    /// <summary>The dotnet program that runs this test process (the SDK names it in DOTNET_HOST_PATH), else the one on the PATH.</summary>
    private static string DotnetHost
    {
        get
        {
            var named = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
            if (!string.IsNullOrEmpty(named) && File.Exists(named))
            {
                return named;
            }

            var own = Environment.ProcessPath;
            return own is not null && Path.GetFileNameWithoutExtension(own) == "dotnet" ? own : "dotnet";
        }
    }

    private sealed class PortInUseException : Exception;

    /// <summary>kill(2): .NET sends SIGKILL itself (<see cref="Process.Kill()"/>) but has no call for SIGSTOP and SIGCONT.</summary>
    private static class Signals
    {
        public static readonly int Stop = OperatingSystem.IsMacOS() ? 17 : 19;
        public static readonly int Continue = OperatingSystem.IsMacOS() ? 19 : 18;

        public static int Send(int processId, int signal) => kill(processId, signal);

        [DllImport("libc", SetLastError = true)]
        private static extern int kill(int pid, int sig);
    }
}
