namespace SessionRouter.Gateway.Tests.Chaos;

/// <summary>What one answer of a session says about the store, judged against what the session was acknowledged before.</summary>
internal enum AnswerVerdict
{
    Consistent,

    /// <summary>An increment answered a count at or below the last acknowledged one: an acknowledged write is gone.</summary>
    Lost,

    /// <summary>A read-only answer older than the last acknowledged count.</summary>
    Stale,

    /// <summary>
    /// A count above what the session's increments since the last acknowledged count could make: an older copy that came
    /// back after a loss (the ledger took the lost count as acknowledged), or a write applied twice.
    /// </summary>
    Ahead,
}

/// <summary>
/// One session's counter as its client knows it. <see cref="Acknowledged"/> is the last count an answer 200 showed;
/// <see cref="FailedSinceAcknowledged"/> the increments sent since that got no 200 (each may or may not have been saved).
/// So an increment answered 200 with count c is right exactly when Acknowledged &lt; c &lt;= Acknowledged + 1 + failed, and
/// a read-only answer when Acknowledged &lt;= c &lt;= Acknowledged + failed. Each session sends one request at a time.
/// </summary>
internal sealed class SessionLedger
{
    public int Acknowledged { get; private set; }

    public int FailedSinceAcknowledged { get; private set; }

    /// <summary>Judges an increment answered 200 with <paramref name="count"/>, which becomes the acknowledged count.</summary>
    public AnswerVerdict Incremented(int count)
    {
        var verdict = count <= Acknowledged ? AnswerVerdict.Lost
            : count > Acknowledged + 1 + FailedSinceAcknowledged ? AnswerVerdict.Ahead
            : AnswerVerdict.Consistent;

        // The store acknowledged this count, right or wrong: later answers build on it, so one lost write is
        // counted once and not again with every answer after it.
        Acknowledged = count;
        FailedSinceAcknowledged = 0;
        return verdict;
    }

    /// <summary>Judges a read-only answer 200 with <paramref name="count"/>.</summary>
    public AnswerVerdict Read(int count)
    {
        if (count < Acknowledged)
        {
            // Not taken as the new count: the next increment shows whether the store itself went back.
            return AnswerVerdict.Stale;
        }

        if (count > Acknowledged + FailedSinceAcknowledged)
        {
            Acknowledged = count;
            FailedSinceAcknowledged = 0;
            return AnswerVerdict.Ahead;
        }

        // Increments that failed for the client but were saved show here; no later answer may go below them.
        FailedSinceAcknowledged -= count - Acknowledged;
        Acknowledged = count;
        return AnswerVerdict.Consistent;
    }

    /// <summary>An increment got no 200: it may or may not have been saved.</summary>
    public void IncrementFailed() => FailedSinceAcknowledged++;
}
