namespace SessionRouter.Gateway.Configuration;

/// <summary>
/// The last outcomes of yarp.json edits (applied or refused, with the refused fields), newest first, for the
/// admin status: an operator who edited the file sees whether the edit took without reading the logs.
/// </summary>
internal sealed class ReloadHistory
{
    private const int Capacity = 10;
    private readonly Lock _gate = new();
    private readonly LinkedList<ReloadOutcome> _outcomes = new();
    private long _count;

    /// <summary>How many outcomes were ever recorded (rises by one per edit that was applied or refused).</summary>
    public long Count
    {
        get
        {
            lock (_gate)
            {
                return _count;
            }
        }
    }

    public void Record(ReloadOutcome outcome)
    {
        lock (_gate)
        {
            _count++;
            _outcomes.AddFirst(outcome);
            if (_outcomes.Count > Capacity)
            {
                _outcomes.RemoveLast();
            }
        }
    }

    /// <summary>The kept outcomes, newest first.</summary>
    public IReadOnlyList<ReloadOutcome> Recent()
    {
        lock (_gate)
        {
            return [.. _outcomes];
        }
    }
}

/// <summary>One edit's outcome: <paramref name="Revision"/> is the revision it created, or the one that stayed in force when refused.</summary>
internal sealed record ReloadOutcome(DateTimeOffset At, bool Applied, long Revision, IReadOnlyList<string> Errors);
