using SessionRouter.Core.Storage;

namespace SessionRouter.Gateway.Leases;

/// <summary>
/// Decides which sessions are worth a lease, so leases never make a request dearer than it was without them. A
/// lease costs a release when it ends; it pays only when the session comes back to this gateway while held. So a
/// session is leased when this gateway saw it miss a lease within the lease time before (it comes back soon), and
/// not while a request elsewhere revoked its lease recently (clients switching gateway would pay a revocation per
/// request). Fixed memory: two tables of timestamps indexed by a hash of the session id; a collision only makes
/// one decision wrong, never a state.
/// </summary>
internal sealed class LeaseAdmission
{
    // 2^16 slots a table: 1 MiB for both, whatever the number of sessions.
    private const int Slots = 1 << 16;

    private readonly long[] _lastMiss = new long[Slots];
    private readonly long[] _lastRevoked = new long[Slots];

    /// <summary>
    /// Notes that session <paramref name="key"/> must load (no lease held) at <paramref name="now"/>, and answers
    /// whether its request should keep the lock as a lease: it missed within <paramref name="recurrenceWindow"/>
    /// before, and was not revoked within <paramref name="contentionBackoff"/> (0: never held back). Timestamps are
    /// the time provider's.
    /// </summary>
    public bool Admit(SessionKey key, long now, long recurrenceWindow, long contentionBackoff)
    {
        var slot = Slot(key);
        var lastMiss = Volatile.Read(ref _lastMiss[slot]);
        Volatile.Write(ref _lastMiss[slot], now);
        if (contentionBackoff > 0)
        {
            var lastRevoked = Volatile.Read(ref _lastRevoked[slot]);
            if (lastRevoked != 0 && now - lastRevoked < contentionBackoff)
            {
                return false;
            }
        }

        return lastMiss != 0 && now - lastMiss < recurrenceWindow;
    }

    /// <summary>Notes that a request elsewhere took session <paramref name="key"/>'s lease from this gateway.</summary>
    public void Revoked(SessionKey key, long now) => Volatile.Write(ref _lastRevoked[Slot(key)], now);

    private static int Slot(SessionKey key) => key.SessionId.GetHashCode(StringComparison.Ordinal) & (Slots - 1);
}
