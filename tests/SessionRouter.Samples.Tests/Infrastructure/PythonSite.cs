using System.Diagnostics;
using System.Text.RegularExpressions;

namespace SessionRouter.Samples.Tests.Infrastructure;

/// <summary><c>python3 samples/python-site/app.py</c> as a real process on a free loopback port.</summary>
public sealed partial class PythonSite : IAsyncDisposable
{
    private static readonly TimeSpan StartHangGuard = TimeSpan.FromSeconds(90);

    private readonly Process _process;

    private PythonSite(Process process, Uri address)
    {
        _process = process;
        Address = address;
    }

    public Uri Address { get; }

    public static string ScriptPath
    {
        get
        {
            for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
            {
                var candidate = Path.Combine(directory.FullName, "samples", "python-site", "app.py");
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }

            throw new FileNotFoundException("samples/python-site/app.py not found above " + AppContext.BaseDirectory);
        }
    }

    public static async Task<PythonSite> StartAsync(string signatureKey)
    {
        var start = new ProcessStartInfo("python3")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { ScriptPath, "--port", "0", "--key", signatureKey, "--name", "python-1" })
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("python3 did not start.");
        var errors = new System.Collections.Concurrent.ConcurrentQueue<string>();
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                errors.Enqueue(line);
            }
        };
        process.BeginErrorReadLine();
        try
        {
            // A hang guard only: on a loaded CI machine the interpreter may take many seconds to start.
            using var hangGuard = new CancellationTokenSource(StartHangGuard);
            string? line;
            try
            {
                line = await process.StandardOutput.ReadLineAsync(hangGuard.Token);
            }
            catch (OperationCanceledException) when (hangGuard.IsCancellationRequested)
            {
                throw new InvalidOperationException($"app.py printed no listening line within {StartHangGuard.TotalSeconds:0} s. stderr:{Environment.NewLine}{string.Join(Environment.NewLine, errors)}");
            }

            if (line is null)
            {
                throw new InvalidOperationException($"python3 exited (code {(process.HasExited ? process.ExitCode : -1)}) before listening. stderr:{Environment.NewLine}{string.Join(Environment.NewLine, errors)}");
            }

            var match = ListeningLine().Match(line);
            if (!match.Success)
            {
                throw new InvalidOperationException("Unexpected first line from app.py: " + line);
            }

            return new PythonSite(process, new Uri(match.Groups[1].Value));
        }
        catch
        {
            process.Kill(entireProcessTree: true);
            process.Dispose();
            throw;
        }
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

    [GeneratedRegex("^listening on (http://127\\.0\\.0\\.1:\\d+)$")]
    private static partial Regex ListeningLine();
}
