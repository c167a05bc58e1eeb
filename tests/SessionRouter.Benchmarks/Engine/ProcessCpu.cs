using System.Diagnostics;
using System.Globalization;

namespace SessionRouter.Benchmarks.Engine;

/// <summary>
/// CPU time (user + system) of a process, read from /proc/&lt;pid&gt;/stat: on a shared machine the CPU
/// spent per operation is a steadier figure than operations per second.
/// </summary>
internal static class ProcessCpu
{
    private static readonly double TicksPerSecond = ReadClockTicks();

    /// <summary>CPU time used so far by process <paramref name="pid"/> (zero when it cannot be read).</summary>
    public static TimeSpan Of(int pid)
    {
        if (pid == Environment.ProcessId)
        {
            using var self = Process.GetCurrentProcess();
            return self.TotalProcessorTime;
        }

        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");

            // Fields after the command name (which may contain spaces) start after the last ')'.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            return TimeSpan.FromSeconds(ticks / TicksPerSecond);
        }
        catch (IOException)
        {
            return TimeSpan.Zero;
        }
    }

    private static double ReadClockTicks()
    {
        try
        {
            using var getconf = Process.Start(new ProcessStartInfo("getconf", "CLK_TCK") { RedirectStandardOutput = true, UseShellExecute = false });
            var text = getconf!.StandardOutput.ReadToEnd().Trim();
            getconf.WaitForExit();
            return double.Parse(text, CultureInfo.InvariantCulture);
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return 100;
        }
    }
}
