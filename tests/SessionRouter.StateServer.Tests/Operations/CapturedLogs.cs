using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace SessionRouter.StateServer.Tests.Operations;

/// <summary>A logger provider that keeps every line, with its event id, for assertions.</summary>
internal sealed class CapturedLogs : ILoggerProvider
{
    public ConcurrentQueue<Line> Lines { get; } = new();

    /// <summary>Lines of the engine's store with <paramref name="eventId"/> (other categories have ids of their own).</summary>
    public int Count(int eventId) => Lines.Count(l => l.EventId == eventId && l.Category.StartsWith("SessionRouter.StateServer", StringComparison.Ordinal));

    public string Dump() => string.Join(Environment.NewLine, Lines.Select(l => $"{l.Level} [{l.EventId}] {l.Category}: {l.Message}"));

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    public sealed record Line(string Category, LogLevel Level, int EventId, string Message);

    private sealed class Logger(CapturedLogs sink, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            => sink.Lines.Enqueue(new Line(category, logLevel, eventId.Id, formatter(state, exception)));
    }
}
