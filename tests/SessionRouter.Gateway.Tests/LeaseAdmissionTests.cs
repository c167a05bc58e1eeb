using SessionRouter.Core.Storage;
using SessionRouter.Gateway.Leases;
using Xunit;

namespace SessionRouter.Gateway.Tests;

/// <summary>Which sessions are worth a lease: those that come back within the lease time, unless revoked lately.</summary>
public sealed class LeaseAdmissionTests
{
    private const long Window = 1_000;
    private const long Backoff = 5_000;

    [Fact]
    public void ASessionThatComesBackWithinTheWindow_IsAdmitted_OnceItWasSeen()
    {
        var admission = new LeaseAdmission();
        var key = Key("a");

        Assert.False(admission.Admit(key, now: 10_000, Window, Backoff));
        Assert.True(admission.Admit(key, now: 10_500, Window, Backoff));
        Assert.False(admission.Admit(key, now: 12_000, Window, Backoff));
    }

    [Fact]
    public void AnotherSessionInTheSameSlot_DoesNotAdmitIt()
    {
        var admission = new LeaseAdmission();
        var (first, second) = TwoKeysInOneSlot();

        Assert.False(admission.Admit(first, now: 10_000, Window, Backoff));
        Assert.False(admission.Admit(second, now: 10_100, Window, Backoff));
        Assert.True(admission.Admit(second, now: 10_200, Window, Backoff));
    }

    [Fact]
    public void ARevokedSession_IsNotAdmittedDuringTheBackoff_AndIsAfterIt()
    {
        var admission = new LeaseAdmission();
        var key = Key("a");
        admission.Admit(key, now: 10_000, Window, Backoff);
        admission.Revoked(key, now: 10_100);

        Assert.False(admission.Admit(key, now: 10_200, Window, Backoff));
        Assert.True(admission.Admit(key, now: 10_200, Window, contentionBackoff: 0));

        // Past the backoff, a session that comes back is leased again.
        Assert.False(admission.Admit(key, now: 15_150, Window, Backoff));
        Assert.True(admission.Admit(key, now: 15_200, Window, Backoff));
    }

    private static SessionKey Key(string id) => new("app", id);

    // Ids whose hashes agree in the bits that pick a slot (the table has 2^17 slots) but differ as a whole.
    private static (SessionKey First, SessionKey Second) TwoKeysInOneSlot()
    {
        var seen = new Dictionary<int, string>();
        for (var i = 0; ; i++)
        {
            var id = "session-" + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
            var hash = id.GetHashCode(StringComparison.Ordinal);
            if (seen.TryGetValue(hash & ((1 << 17) - 1), out var other) && other.GetHashCode(StringComparison.Ordinal) != hash)
            {
                return (Key(other), Key(id));
            }

            seen[hash & ((1 << 17) - 1)] = id;
        }
    }
}
