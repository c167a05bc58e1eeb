namespace SessionRouter.StateServer.Wire;

/// <summary>
/// Header names and fixed values of the engine's wire protocol: MS-ASP (the ASP.NET State Server
/// Protocol) plus extensions that a classic client never sends and can ignore.
/// </summary>
public static class StateProtocol
{
    // ---- MS-ASP ----

    /// <summary><c>acquire</c> (get-exclusive) or <c>release</c> on a GET.</summary>
    public const string Exclusive = "Exclusive";

    /// <summary>The lock cookie, as the spec's responses spell it (requests may use either spelling).</summary>
    public const string LockCookie = "LockCookie";

    /// <summary>The lock cookie, as the spec's requests spell it.</summary>
    public const string LockCookieHyphenated = "Lock-Cookie";

    public const string LockAge = "LockAge";
    public const string LockDate = "LockDate";

    /// <summary>The item's sliding expiry in minutes (0–525,600).</summary>
    public const string Timeout = "Timeout";

    /// <summary><c>1</c> on a PUT: create an uninitialized item, never overwriting one.</summary>
    public const string ExtraFlags = "ExtraFlags";

    /// <summary><c>1</c> on a GET response: the item is uninitialized (reported once).</summary>
    public const string ActionFlags = "ActionFlags";

    public const string AspNetVersion = "X-AspNet-Version";

    /// <summary>The value sent in <see cref="AspNetVersion"/> on every response (the one classic clients know).</summary>
    public const string AspNetVersionValue = "2.0.50727";

    public const int MaxTimeoutMinutes = 525_600;

    /// <summary>The longest session id an engine accepts, in UTF-8 bytes (on the MS-ASP path and in a batch record).</summary>
    public const int MaxSessionIdBytes = 512;

    // ---- extensions (never sent by a classic client) ----

    /// <summary>
    /// Response: the item's version (rises on every write); after a write, the new version, and after a refused
    /// writer-assigned version, the current one. Request (PUT): the version the writer assigns (positive), as
    /// <c>SessionWrite.Version</c> describes: applied only when newer than the item's; never with
    /// <see cref="ExpectedVersion"/> or <see cref="ExtraFlags"/> (400).
    /// </summary>
    public const string Version = "X-SR-Version";

    /// <summary>
    /// Request: <c>1</c> on a PUT with <see cref="LockId"/>: a write that is applied (or answered Ok as an equal
    /// <see cref="Version"/>) keeps the lock for its holder instead of releasing it, and the lock's age starts
    /// again from now (<c>SessionWrite.KeepLock</c>, a gateway's renewable lease). Any other value, the header
    /// without <see cref="LockId"/> (the classic cookie is not enough: its writes fall back to unlocked ones),
    /// with <see cref="ExtraFlags"/>: 1, or on any method but PUT is a 400.
    /// </summary>
    public const string KeepLock = "X-SR-KeepLock";

    /// <summary>Request: apply a PUT only if the item's version equals this (0: only if no item exists).</summary>
    public const string ExpectedVersion = "X-SR-Expected-Version";

    /// <summary>
    /// Request: the lock id with the contract's strict meaning (a PUT, release or DELETE is refused with
    /// <c>LockMismatch</c> unless this is the item's current lock). The classic <c>LockCookie</c> is
    /// ignored on an unlocked item, as aspnet_state does. On an exclusive GET (acquire): the positive id
    /// the caller proposes for the lock it is granted (LockRequest.ProposedLockId).
    /// </summary>
    public const string LockId = "X-SR-Lock-Id";

    /// <summary>Request: how long (milliseconds) an exclusive GET waits for the lock; the request is parked, not polled.</summary>
    public const string LockWait = "X-SR-Lock-Wait";

    /// <summary>Request: a lock older than this (milliseconds) is taken over by this exclusive GET.</summary>
    public const string LockTimeout = "X-SR-Lock-Timeout";

    /// <summary>Request: <c>1</c> on an exclusive GET creates an empty uninitialized item when missing and locks it atomically.</summary>
    public const string CreateIfMissing = "X-SR-Create";

    /// <summary>Request: <c>1</c> on a plain GET returns the last committed data even while the item is locked (with the holder's lock headers).</summary>
    public const string ReadCommitted = "X-SR-Read-Committed";

    /// <summary>Request: the engine's access key (required when one is configured).</summary>
    public const string AccessKey = "X-SR-Access-Key";

    /// <summary>Response: the store status name whenever it is not <c>Ok</c> (e.g. <c>LockMismatch</c>, <c>WaitTimeout</c>).</summary>
    public const string Status = "X-SR-Status";

    /// <summary>Response: <c>1</c> when an exclusive GET took over a lock older than the lock timeout.</summary>
    public const string TookOver = "X-SR-Took-Over";

    /// <summary>Response: the lock's age in milliseconds (the classic <c>LockAge</c> is in seconds).</summary>
    public const string LockAgeMilliseconds = "X-SR-Lock-Age-Ms";

    /// <summary>
    /// The batch extension: <c>POST</c> several store operations in one body, answered in one response
    /// in the same order (layout in docs/engine.md, "Batches"). One path segment, so it can never be a key.
    /// </summary>
    public const string BatchPath = "/batch";

    /// <summary>The content type of a batch body and of its answer.</summary>
    public const string BatchContentType = "application/x-sessionrouter-batch";

    /// <summary>
    /// The contention stream: a <c>GET</c> answered with a stream that announces, as they happen, callers
    /// that start waiting for a held lock (framing in docs/engine.md, "Contention stream";
    /// <see cref="ContentionCodec"/>). One path segment, so it can never be a key.
    /// </summary>
    public const string ContentionPath = "/contention";

    /// <summary>The content type of the contention stream.</summary>
    public const string ContentionContentType = "application/x-sessionrouter-contention";

    /// <summary>The largest batch body an engine accepts at least (more if its MaxItemBytes is larger).</summary>
    public const int MinBatchLimitBytes = 1024 * 1024;

    /// <summary>The health endpoint. One path segment, so it can never be an <c>/application/id</c> key.</summary>
    public const string HealthPath = "/health";

    /// <summary>The largest lock age an answer may carry, in milliseconds (what a <see cref="TimeSpan"/> holds).</summary>
    internal const long MaxLockAgeMilliseconds = long.MaxValue / TimeSpan.TicksPerMillisecond;

    /// <summary>
    /// Whether a lock date (Unix milliseconds) and age (milliseconds) read from an answer can be
    /// represented: the decoders check before they convert, so a hostile or corrupt answer is refused as
    /// malformed instead of throwing from deep inside the conversion.
    /// </summary>
    internal static bool IsLockTime(long acquiredAtUnixMilliseconds, long ageMilliseconds) =>
        acquiredAtUnixMilliseconds >= MinUnixMilliseconds && acquiredAtUnixMilliseconds <= MaxUnixMilliseconds
        && ageMilliseconds is >= 0 and <= MaxLockAgeMilliseconds;

    private const long MinUnixMilliseconds = -62_135_596_800_000;
    private const long MaxUnixMilliseconds = 253_402_300_799_999;
}
