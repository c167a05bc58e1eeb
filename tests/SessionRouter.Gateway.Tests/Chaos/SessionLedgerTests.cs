using Xunit;

namespace SessionRouter.Gateway.Tests.Chaos;

/// <summary>The chaos test's judge of answers: what it calls lost, stale or ahead, and what it must let pass.</summary>
public sealed class SessionLedgerTests
{
    [Fact]
    public void IncrementsInOrder_AreConsistent()
    {
        var ledger = new SessionLedger();
        for (var count = 1; count <= 5; count++)
        {
            Assert.Equal(AnswerVerdict.Consistent, ledger.Incremented(count));
        }

        Assert.Equal(AnswerVerdict.Consistent, ledger.Read(5));
    }

    [Fact]
    public void AFailedIncrementMayHaveBeenSaved_OrNot()
    {
        var saved = Ledger(acknowledged: 3, failed: 1);
        Assert.Equal(AnswerVerdict.Consistent, saved.Incremented(5));

        var notSaved = Ledger(acknowledged: 3, failed: 1);
        Assert.Equal(AnswerVerdict.Consistent, notSaved.Incremented(4));

        var readFirst = Ledger(acknowledged: 3, failed: 2);
        Assert.Equal(AnswerVerdict.Consistent, readFirst.Read(3));
        Assert.Equal(AnswerVerdict.Consistent, readFirst.Read(4));
    }

    [Fact]
    public void AnIncrementAtOrBelowTheAcknowledgedCount_IsLost_AndCountedOnce()
    {
        var ledger = Ledger(acknowledged: 7, failed: 0);
        Assert.Equal(AnswerVerdict.Lost, ledger.Incremented(1));

        // The session goes on from the count the store acknowledged, so later answers are not lost again.
        Assert.Equal(AnswerVerdict.Consistent, ledger.Incremented(2));
    }

    [Fact]
    public void AReadBelowTheAcknowledgedCount_IsStale_AndDoesNotLowerIt()
    {
        var ledger = Ledger(acknowledged: 7, failed: 0);
        Assert.Equal(AnswerVerdict.Stale, ledger.Read(6));
        Assert.Equal(AnswerVerdict.Consistent, ledger.Incremented(8));
    }

    [Fact]
    public void AReadThatSawAFailedIncrement_RaisesTheFloor()
    {
        var ledger = Ledger(acknowledged: 3, failed: 1);
        Assert.Equal(AnswerVerdict.Consistent, ledger.Read(4));
        Assert.Equal(AnswerVerdict.Stale, ledger.Read(3));
        Assert.Equal(AnswerVerdict.Lost, ledger.Incremented(4));
    }

    [Fact]
    public void ACountAboveWhatTheIncrementsCouldMake_IsAhead()
    {
        Assert.Equal(AnswerVerdict.Ahead, Ledger(acknowledged: 3, failed: 1).Incremented(6));
        Assert.Equal(AnswerVerdict.Ahead, Ledger(acknowledged: 3, failed: 0).Read(4));
    }

    private static SessionLedger Ledger(int acknowledged, int failed)
    {
        var ledger = new SessionLedger();
        if (acknowledged > 0)
        {
            ledger.Incremented(acknowledged);
        }

        for (var i = 0; i < failed; i++)
        {
            ledger.IncrementFailed();
        }

        return ledger;
    }
}
