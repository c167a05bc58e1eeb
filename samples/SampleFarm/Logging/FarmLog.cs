using Microsoft.Extensions.Logging;

namespace SampleFarm.Logging;

/// <summary>
/// One output for every part of the farm: each line starts with the time and the part's name
/// (<c>gateway</c>, <c>site-a</c>, <c>node-b</c>), so interleaved logs stay readable.
/// </summary>
public sealed class FarmLog
{
    private static readonly string[] Colours = ["\u001b[36m", "\u001b[32m", "\u001b[35m", "\u001b[33m", "\u001b[34m", "\u001b[96m", "\u001b[92m", "\u001b[95m"];
    private const string Reset = "\u001b[0m";

    private readonly TextWriter _writer;
    private readonly bool _colour;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, string> _colourOf = new(StringComparer.Ordinal);

    public FarmLog(TextWriter writer, bool colour, LogLevel minimumLevel = LogLevel.Information)
    {
        _writer = writer;
        _colour = colour;
        MinimumLevel = minimumLevel;
    }

    /// <summary>Writes to the console, in colour unless the output is redirected.</summary>
    public static FarmLog Console(LogLevel minimumLevel = LogLevel.Information)
        => new(System.Console.Out, !System.Console.IsOutputRedirected, minimumLevel);

    /// <summary>Discards everything (tests that only look at the farm's behaviour).</summary>
    public static FarmLog Null { get; } = new(TextWriter.Null, colour: false, LogLevel.None);

    public LogLevel MinimumLevel { get; }

    /// <summary>
    /// Framework chatter (a line per request, per health probe, host start-up banners) only from warnings up,
    /// unless debug logging was asked for: the farm prints its own summary of what listens where.
    /// </summary>
    internal LogLevel MinimumLevelFor(string category)
        => MinimumLevel > LogLevel.Debug && (category.StartsWith("Microsoft.", StringComparison.Ordinal) || category.StartsWith("System.", StringComparison.Ordinal) || category.StartsWith("Yarp.", StringComparison.Ordinal))
            ? LogLevel.Warning
            : MinimumLevel;

    /// <summary>A provider for one part's host.</summary>
    public ILoggerProvider ProviderFor(string source) => new FarmLoggerProvider(this, source);

    /// <summary>A standalone factory for one part (engines take an <see cref="ILoggerFactory"/>).</summary>
    public ILoggerFactory FactoryFor(string source)
        => LoggerFactory.Create(logging =>
        {
            logging.SetMinimumLevel(MinimumLevel);
            logging.AddProvider(ProviderFor(source));
        });

    /// <summary>A line of the farm itself.</summary>
    public void Info(string message) => Write("farm", LogLevel.Information, null, message, null);

    public void Warn(string message) => Write("farm", LogLevel.Warning, null, message, null);

    internal void Write(string source, LogLevel level, string? category, string message, Exception? exception)
    {
        if (level < (category is null ? MinimumLevel : MinimumLevelFor(category)) || level == LogLevel.None)
        {
            return;
        }

        var text = $"{DateTime.Now:HH:mm:ss.fff} {source,-8} {LevelName(level)} {(category is null ? "" : ShortCategory(category) + ": ")}{message}";
        if (exception is not null)
        {
            text += Environment.NewLine + "    " + exception.ToString().Replace(Environment.NewLine, Environment.NewLine + "    ", StringComparison.Ordinal);
        }

        lock (_gate)
        {
            if (_colour)
            {
                if (!_colourOf.TryGetValue(source, out var colour))
                {
                    colour = Colours[_colourOf.Count % Colours.Length];
                    _colourOf[source] = colour;
                }

                _writer.Write(colour);
                _writer.Write(text);
                _writer.WriteLine(Reset);
            }
            else
            {
                _writer.WriteLine(text);
            }

            _writer.Flush();
        }
    }

    private static string LevelName(LogLevel level) => level switch
    {
        LogLevel.Trace => "trce",
        LogLevel.Debug => "dbug",
        LogLevel.Information => "info",
        LogLevel.Warning => "WARN",
        LogLevel.Error => "FAIL",
        LogLevel.Critical => "CRIT",
        _ => "    ",
    };

    // "SessionRouter.Gateway.Pipeline.SessionMiddleware" -> "SessionMiddleware": the prefix already says which part.
    private static string ShortCategory(string category)
    {
        var dot = category.LastIndexOf('.');
        return dot < 0 ? category : category[(dot + 1)..];
    }

    private sealed class FarmLoggerProvider(FarmLog log, string source) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new FarmLogger(log, source, categoryName);

        public void Dispose()
        {
        }
    }

    private sealed class FarmLogger(FarmLog log, string source, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= log.MinimumLevelFor(category) && logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                log.Write(source, logLevel, category, formatter(state, exception), exception);
            }
        }
    }
}
