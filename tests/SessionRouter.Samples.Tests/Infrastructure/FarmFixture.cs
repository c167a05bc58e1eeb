using System.Net;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using SampleFarm.Hosting;
using SampleFarm.Logging;
using Xunit;

namespace SessionRouter.Samples.Tests.Infrastructure;

/// <summary>
/// The sample farm exactly as <c>dotnet run --project samples/SampleFarm</c> starts it from the repository's
/// yarp.json (three engines, three SampleSite instances, the gateway), on free loopback ports.
/// Its log is appended to <c>artifacts/farm.log</c> in the test output directory, one marked block per run,
/// so a rerun keeps the log of an earlier failing run.
/// </summary>
public sealed class FarmFixture : IAsyncLifetime
{
    private StreamWriter? _logFile;

    public Farm Farm { get; private set; } = null!;

    public Uri Gateway => Farm.GatewayAddress!;

    public static string ArtifactsDirectory
    {
        get
        {
            var directory = Path.Combine(AppContext.BaseDirectory, "artifacts");
            Directory.CreateDirectory(directory);
            return directory;
        }
    }

    public async Task InitializeAsync()
    {
        _logFile = new StreamWriter(Path.Combine(ArtifactsDirectory, "farm.log"), append: true) { AutoFlush = true };
        await _logFile.WriteLineAsync($"==== farm started {DateTime.UtcNow:O} ====");
        Farm = await Farm.StartAsync(new FarmOptions
        {
            UseFreePorts = true,
            Log = new FarmLog(TextWriter.Synchronized(_logFile), colour: false, LogLevel.Information),
        });
    }

    public async Task DisposeAsync()
    {
        await Farm.DisposeAsync();
        if (_logFile is not null)
        {
            await _logFile.DisposeAsync();
        }
    }

    /// <summary>A client that keeps the gateway's cookie and does not follow redirects (so each hop is visible).</summary>
    public HttpClient NewBrowser() => new(new SocketsHttpHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false }) { BaseAddress = Gateway };
}

/// <summary>Reads the <c>data-testid</c> values of the cart page.</summary>
public static partial class CartPageText
{
    public static string Field(string html, string testId)
    {
        var match = Regex.Match(html, "data-testid=\"" + Regex.Escape(testId) + "\">([^<]*)<");
        Assert.True(match.Success, $"The page has no data-testid=\"{testId}\".");
        return WebUtility.HtmlDecode(match.Groups[1].Value);
    }

    /// <summary>"site-2 (127.0.0.1:40123)" → "site-2".</summary>
    public static string ServedBy(string html) => Field(html, "served-by").Split(' ')[0];
}
