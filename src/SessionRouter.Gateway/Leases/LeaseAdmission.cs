using SessionRouter.Core.Storage;

namespace SessionRouter.Gateway.Leases;

/// <summary>
/// Decides which sessions are worth a lease, so leases never make a request dearer than it was without them. A
/// lease costs a release when it ends; it pays only when the session comes back to this gateway while held. So a
/// session is leased when this gateway saw it miss a lease within the lease time before (it comes back soon), and
/// not while a request elsewhere revoked its lease recently (clients switching gateway would pay a revocation per
/// request). Fixed memory: tables of timestamps indexed by a hash of the session id; a collision only makes one
/// decision wrong, never a state.
/// </summary>
internal sealed class LeaseAdmission
{
    // 2^17 slots: 1.5 MiB for the misses (time and tag) and 1 MiB for the revocations, whatever the number of sessions.
    private const int Slots = 1 << 17;

    private readonly long[] _lastMiss = new long[Slots];
    private readonly int[] _missTag = new int[Slots];
    private readonly long[] _lastRevoked = new long[Slots];

    /// <summary>
    /// Notes that session <paramref name="key"/> must load (no lease held) at <paramref name="now"/>, and answers
    /// whether its request should keep the lock as a lease: the same session (its tag, not only its slot) missed
    /// within <paramref name="recurrenceWindow"/> before, and was not revoked within
    /// <paramref name="contentionBackoff"/> (0: never held back). Timestamps are the time provider's.
    /// </summary>
    /// <remarks>
    /// The tag keeps sessions that share a slot from admitting each other: under cold traffic (many sessions, each
    /// back only after the lease time) they would otherwise take leases that are never used and cost a release each.
    /// A slot is written without a lock; a torn pair only makes one decision wrong.
    /// </remarks>
    public bool Admit(SessionKey key, long now, long recurrenceWindow, long contentionBackoff)
    {
        var hash = key.SessionId.GetHashCode(StringComparison.Ordinal);
        var slot = hash & (Slots - 1);
        var tag = hash | 1;
        var lastMiss = Volatile.Read(ref _lastMiss[slot]);
        var sameSession = Volatile.Read(ref _missTag[slot]) == tag;
        Volatile.Write(ref _missTag[slot], tag);
        Volatile.Write(ref _lastMiss[slot], now);
        if (contentionBackoff > 0)
        {
            var lastRevoked = Volatile.Read(ref _lastRevoked[slot]);
            if (lastRevoked != 0 && now - lastRevoked < contentionBackoff)
            {
                return false;
            }
        }

        return sameSession && lastMiss != 0 && now - lastMiss < recurrenceWindow;
    }

    /// <summary>Notes that a request elsewhere took session <paramref name="key"/>'s lease from this gateway.</summary>
    public void Revoked(SessionKey key, long now) => Volatile.Write(ref _lastRevoked[key.SessionId.GetHashCode(StringComparison.Ordinal) & (Slots - 1)], now);
}
