using System.Net;
using System.Text;
using System.Text.Json;
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
/// so a rerun keeps the log of an earlier failing run; the end of this run's block is kept in memory too, so a
/// failing assertion can quote it (<see cref="ExplainAsync(string)"/>).
/// </summary>
public sealed class FarmFixture : IAsyncLifetime
{
    /// <summary>Bounds the wait for the first probe round (a hang guard: a healthy farm passes on the first probe).</summary>
    private const int ReadinessAttempts = 600;

    private TailKeepingWriter? _log;

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
        _log = new TailKeepingWriter(new StreamWriter(Path.Combine(ArtifactsDirectory, "farm.log"), append: true) { AutoFlush = true });
        await _log.WriteLineAsync($"==== farm started {DateTime.UtcNow:O} ====");
        Farm = await Farm.StartAsync(new FarmOptions
        {
            UseFreePorts = true,
            Log = new FarmLog(TextWriter.Synchronized(_log), colour: false, LogLevel.Information),
        });
        await WaitUntilEveryNodeWasProbedHealthyAsync();
    }

    public async Task DisposeAsync()
    {
        await Farm.DisposeAsync();
        if (_log is not null)
        {
            await _log.DisposeAsync();
        }
    }

    /// <summary>A client that keeps the gateway's cookie and does not follow redirects (so each hop is visible).</summary>
    public HttpClient NewBrowser() => new(new SocketsHttpHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false }) { BaseAddress = Gateway };

    /// <summary>GETs a page through <paramref name="browser"/>; anything but 200 fails with the body and the farm log.</summary>
    public async Task<string> GetPageAsync(HttpClient browser, string pathAndQuery)
    {
        ArgumentNullException.ThrowIfNull(browser);
        using var response = await browser.GetAsync(new Uri(pathAndQuery, UriKind.RelativeOrAbsolute));
        var body = await response.Content.ReadAsStringAsync();
        if (response.StatusCode != HttpStatusCode.OK)
        {
            Assert.Fail(await ExplainAsync($"GET {pathAndQuery}", response, body));
        }

        return body;
    }

    /// <summary>Fails with the body and the farm log unless <paramref name="response"/> has <paramref name="expected"/>.</summary>
    public async Task ExpectStatusAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        ArgumentNullException.ThrowIfNull(response);
        if (response.StatusCode != expected)
        {
            var body = await response.Content.ReadAsStringAsync();
            Assert.Fail(await ExplainAsync($"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri?.PathAndQuery}: expected {(int)expected} {expected}", response, body));
        }
    }

    /// <summary>What a failing check needs to be diagnosed from a CI log alone: the gateway's node status and the farm log's end.</summary>
    public async Task<string> ExplainAsync(string what)
    {
        var text = new StringBuilder(what).AppendLine();
        text.AppendLine("---- gateway status ----").AppendLine(await TryReadStatusAsync());
        text.AppendLine("---- farm log (end of this run) ----");
        foreach (var line in _log?.Tail() ?? [])
        {
            text.AppendLine(line);
        }

        return text.ToString();
    }

    private Task<string> ExplainAsync(string what, HttpResponseMessage response, string body)
        => ExplainAsync($"{what}: got {(int)response.StatusCode} {response.StatusCode}{Environment.NewLine}---- response body ----{Environment.NewLine}{Shorten(body)}");

    /// <summary>
    /// Waits until the gateway finished a probe of every node and found it healthy. Nodes start healthy, so this is
    /// about the first probe round: it is the costliest (connections, JIT) and must be over before the tests count
    /// on a stable state node per session. Fails with the status and the log if the farm never gets there.
    /// </summary>
    private async Task WaitUntilEveryNodeWasProbedHealthyAsync()
    {
        using var admin = new HttpClient { BaseAddress = Gateway };
        var last = "";
        for (var attempt = 0; attempt < ReadinessAttempts; attempt++)
        {
            last = await admin.GetStringAsync("/_sessionrouter/status");
            using var status = JsonDocument.Parse(last);
            var nodes = status.RootElement.GetProperty("nodes").EnumerateArray().ToList();
            if (nodes.Count > 0 && nodes.All(n => n.GetProperty("healthy").GetBoolean() && n.GetProperty("lastProbe").ValueKind != JsonValueKind.Null))
            {
                return;
            }

            await Task.Delay(50);
        }

        throw new InvalidOperationException(await ExplainAsync($"The farm's gateway never reported every node probed and healthy after {ReadinessAttempts} status reads. Last status:{Environment.NewLine}{last}"));
    }

    private async Task<string> TryReadStatusAsync()
    {
        try
        {
            using var admin = new HttpClient { BaseAddress = Gateway, Timeout = TimeSpan.FromSeconds(10) };
            return await admin.GetStringAsync("/_sessionrouter/status");
        }
        catch (Exception error) when (error is HttpRequestException or TaskCanceledException or InvalidOperationException)
        {
            return "(no status: " + error.Message + ")";
        }
    }

    private static string Shorten(string text) => text.Length <= 4000 ? text : text[..4000] + "…";

    /// <summary>Writes through to the log file and keeps the last lines of this run.</summary>
    private sealed class TailKeepingWriter(StreamWriter file) : TextWriter
    {
        private const int KeptLines = 80;
        private readonly Queue<string> _tail = new();
        private readonly StringBuilder _line = new();

        public override Encoding Encoding => file.Encoding;

        public string[] Tail()
        {
            lock (_tail)
            {
                return [.. _tail];
            }
        }

        public override void Write(char value)
        {
            file.Write(value);
            lock (_tail)
            {
                if (value == '\n')
                {
                    _tail.Enqueue(_line.ToString().TrimEnd('\r'));
                    _line.Clear();
                    while (_tail.Count > KeptLines)
                    {
                        _tail.Dequeue();
                    }
                }
                else
                {
                    _line.Append(value);
                }
            }
        }

        public override void Write(string? value)
        {
            foreach (var c in value ?? "")
            {
                Write(c);
            }
        }

        public override void WriteLine(string? value)
        {
            Write(value);
            Write(CoreNewLine);
        }

        public override void Flush() => file.Flush();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                file.Dispose();
            }

            base.Dispose(disposing);
        }

        public override async ValueTask DisposeAsync()
        {
            await file.DisposeAsync();
            await base.DisposeAsync();
        }
    }
}

/// <summary>Reads the <c>data-testid</c> values of the cart page.</summary>
public static partial class CartPageText
{
    public static string Field(string html, string testId)
    {
        var match = Regex.Match(html, "data-testid=\"" + Regex.Escape(testId) + "\">([^<]*)<");
        Assert.True(match.Success, $"The page has no data-testid=\"{testId}\". The page:{Environment.NewLine}{(html.Length <= 4000 ? html : html[..4000])}");
        return WebUtility.HtmlDecode(match.Groups[1].Value);
    }

    /// <summary>"site-2 (127.0.0.1:40123)" → "site-2".</summary>
    public static string ServedBy(string html) => Field(html, "served-by").Split(' ')[0];
}
