using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace SessionRouter.Gateway.Tests.Chaos;

/// <summary>The figures of one phase of a chaos run: a fault from its start until the farm settled, or a quiet time.</summary>
internal sealed class PhaseFigures(string name, bool isFault, TimeSpan start)
{
    private readonly ConcurrentDictionary<string, long> _failures = new(StringComparer.Ordinal);
    private long _requests;
    private long _answered;
    private long _lost;
    private long _stale;
    private long _ahead;
    private long _newIds;
    private long _unexpected;

    public string Name { get; } = name;

    /// <summary>A fault is active: requests may fail (never lose or go back).</summary>
    public bool IsFault { get; } = isFault;

    public TimeSpan Start { get; } = start;

    public TimeSpan End { get; set; } = start;

    public long Requests => Interlocked.Read(ref _requests);

    public long Answered => Interlocked.Read(ref _answered);

    public long Lost => Interlocked.Read(ref _lost);

    public long Stale => Interlocked.Read(ref _stale);

    public long Ahead => Interlocked.Read(ref _ahead);

    /// <summary>Answers under another session id than the session's own: its cookie was not accepted.</summary>
    public long NewIds => Interlocked.Read(ref _newIds);

    /// <summary>Failed requests that began and ended inside this phase, a quiet one.</summary>
    public long Unexpected => Interlocked.Read(ref _unexpected);

    public long Failed => _failures.Values.Sum();

    public IReadOnlyDictionary<string, long> FailuresByStatus => _failures;

    public void CountAnswer(AnswerVerdict verdict, bool newId)
    {
        Interlocked.Increment(ref _requests);
        Interlocked.Increment(ref _answered);
        switch (verdict)
        {
            case AnswerVerdict.Lost:
                Interlocked.Increment(ref _lost);
                break;
            case AnswerVerdict.Stale:
                Interlocked.Increment(ref _stale);
                break;
            case AnswerVerdict.Ahead:
                Interlocked.Increment(ref _ahead);
                break;
        }

        if (newId)
        {
            Interlocked.Increment(ref _newIds);
        }
    }

    public void CountFailure(string status, bool unexpected)
    {
        Interlocked.Increment(ref _requests);
        _failures.AddOrUpdate(status, 1, (_, n) => n + 1);
        if (unexpected)
        {
            Interlocked.Increment(ref _unexpected);
        }
    }

    /// <summary>Adds another phase's counts to this one (for the totals).</summary>
    public void Add(PhaseFigures other)
    {
        _requests += other.Requests;
        _answered += other.Answered;
        _lost += other.Lost;
        _stale += other.Stale;
        _ahead += other.Ahead;
        _newIds += other.NewIds;
        _unexpected += other.Unexpected;
        foreach (var (status, count) in other.FailuresByStatus)
        {
            _failures.AddOrUpdate(status, count, (_, n) => n + count);
        }
    }
}

/// <summary>
/// The phases of a chaos run in order, the one in force now, and a timeline of what the driver did. A request belongs to
/// the phase in force when its answer (or failure) came; it failed unexpectedly when that phase was quiet and already in
/// force when the request began.
/// </summary>
internal sealed class PhaseBook
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly List<PhaseFigures> _phases = [];
    private readonly ConcurrentQueue<string> _timeline = new();
    private PhaseFigures _current;

    public PhaseBook(string firstPhase)
    {
        _current = new PhaseFigures(firstPhase, isFault: false, TimeSpan.Zero);
        _phases.Add(_current);
    }

    public PhaseFigures Current => Volatile.Read(ref _current);

    public TimeSpan Elapsed => _clock.Elapsed;

    /// <summary>Ends the phase in force and begins the next one.</summary>
    public PhaseFigures Begin(string name, bool isFault)
    {
        var now = _clock.Elapsed;
        var next = new PhaseFigures(name, isFault, now);
        lock (_phases)
        {
            Current.End = now;
            _phases.Add(next);
            Volatile.Write(ref _current, next);
        }

        Note((isFault ? "fault: " : "") + name);
        return next;
    }

    /// <summary>Adds a line to the timeline, stamped with the run's clock.</summary>
    public void Note(string text) => _timeline.Enqueue(string.Create(CultureInfo.InvariantCulture, $"{_clock.Elapsed.TotalSeconds,7:F1} s  {text}"));

    public IReadOnlyList<PhaseFigures> Phases
    {
        get
        {
            lock (_phases)
            {
                return [.. _phases];
            }
        }
    }

    public PhaseFigures Total()
    {
        var total = new PhaseFigures("total", isFault: false, TimeSpan.Zero) { End = _clock.Elapsed };
        foreach (var phase in Phases)
        {
            total.Add(phase);
        }

        return total;
    }

    /// <summary>The per-phase table and the timeline, for the test output and the failure message.</summary>
    public string Describe()
    {
        Current.End = _clock.Elapsed;
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"{"phase",-52} {"kind",-5} {"from s",7} {"secs",6} {"requests",8} {"200",7} {"lost",5} {"stale",5} {"ahead",5} {"newid",5}  failed (by status; unexpected = in a quiet phase)");
        foreach (var phase in Phases.Append(Total()))
        {
            var kind = phase.Name == "total" ? "" : phase.IsFault ? "fault" : "quiet";
            text.AppendLine(CultureInfo.InvariantCulture, $"{Cut(phase.Name, 52),-52} {kind,-5} {phase.Start.TotalSeconds,7:F1} {(phase.End - phase.Start).TotalSeconds,6:F1} {phase.Requests,8} {phase.Answered,7} {phase.Lost,5} {phase.Stale,5} {phase.Ahead,5} {phase.NewIds,5}  {DescribeFailures(phase)}");
        }

        text.AppendLine("lost: an increment answered 200 with a count at or below the session's last acknowledged count; stale: a read-only answer below it;");
        text.AppendLine("ahead: a count above what the session's increments since then could make (an older copy back after a loss, or a write applied twice);");
        text.AppendLine("newid: answered under another session id (the cookie was not accepted).");
        text.AppendLine("timeline:");
        foreach (var line in _timeline)
        {
            text.Append("  ").AppendLine(line);
        }

        return text.ToString();
    }

    private static string DescribeFailures(PhaseFigures phase)
    {
        if (phase.Failed == 0)
        {
            return "-";
        }

        var byStatus = string.Join(' ', phase.FailuresByStatus.OrderBy(f => f.Key, StringComparer.Ordinal).Select(f => string.Create(CultureInfo.InvariantCulture, $"{f.Key}:{f.Value}")));
        return phase.Unexpected > 0
            ? string.Create(CultureInfo.InvariantCulture, $"{phase.Failed} ({byStatus}; unexpected {phase.Unexpected})")
            : string.Create(CultureInfo.InvariantCulture, $"{phase.Failed} ({byStatus})");
    }

    private static string Cut(string text, int width) => text.Length <= width ? text : text[..(width - 1)] + "…";
}
