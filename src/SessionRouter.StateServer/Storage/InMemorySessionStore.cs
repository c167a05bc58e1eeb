using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SessionRouter.Core.Configuration;
using SessionRouter.Core.Storage;
using SessionRouter.StateServer.Diagnostics;
using SessionRouter.StateServer.Wire;

namespace SessionRouter.StateServer.Storage;

/// <summary>
/// The built-in engine's store: every session in memory, versioned, with exclusive locks whose waiters
/// are parked and handed the lock in arrival order, sliding expiry driven by a timer wheel (no scan of
/// idle items), a memory cap that refuses new sessions, and a maximum item size.
/// </summary>
/// <remarks>
/// At the memory cap nothing is evicted: a stored session was acknowledged to its client, and dropping it
/// would lose a user's state without a word. New sessions are refused instead (<c>CapacityExceeded</c>) and
/// existing ones stay readable and writable. Past <see cref="InMemorySessionStoreOptions.MemoryWarningFraction"/>
/// of the cap the store logs one warning and reports <see cref="StoreMemoryLevel.Warning"/>, early enough to add
/// memory or nodes.
/// </remarks>
/// <remarks>
/// The key space is split into shards, each with its own lock, entry set and expiry wheel. All state
/// of an entry is changed under its shard's lock; callers are woken outside of it (their continuations
/// run asynchronously).
/// </remarks>
/// <remarks>
/// A caller queued behind a held lock is announced to the store's contention watchers (the holder's lock id
/// with the key), after the shard's lock is left; with nobody watching that is one array-length read.
/// </remarks>
public sealed class InMemorySessionStore : ISessionStore, ILockContentionSource, IDisposable
{
    private const int ShardCount = 32;

    // Accounting of the bytes an entry really costs on a 64-bit runtime: the array header (16 bytes of
    // object header plus 8 of length), the entry object, and the entry's slot in its shard's set
    // (16-byte slot plus a 4-byte bucket, with room for the set's growth).
    private const int ArrayHeaderBytes = 24;
    private const int EntryObjectBytes = 88;
    private const int SetSlotBytes = 28;

    private readonly StoreShard[] _shards = new StoreShard[ShardCount];
    private readonly ConcurrentDictionary<string, int> _applications = new(StringComparer.Ordinal);
    private readonly InMemorySessionStoreOptions _options;
    private readonly TimeProvider _time;
    private readonly long _epochTicks;
    private readonly long _defaultLockTimeoutTicks;
    private readonly int _defaultItemTimeoutSeconds;
    private readonly ITimer _sweepTimer;
    private readonly StoreMetrics _metrics;
    private readonly Lock _sweepGate = new();
    private readonly List<SessionEntry> _due = [];
    private readonly ILogger _logger;
    private readonly ContentionFeed _contention = new();

    // Memory levels (0 when there is no cap): warn at or above _warningBytes; the level returns to normal only
    // below _relievedBytes, a little lower, so a store hovering at the line logs once, not on every write.
    private readonly long _warningBytes;
    private readonly long _relievedBytes;
    private int _memoryLevel;

    private int _nextApplicationId;
    private long _nextLockId;
    private long _bytesHeld;
    private long _activeSessions;
    private long _sessionsCreated;
    private long _sessionsExpired;
    private long _sessionsAbandoned;
    private long _locksWaited;
    private long _lockTakeovers;
    private long _refusedCapacity;
    private long _refusedTooLarge;
    private long _refusedQueueFull;

    public InMemorySessionStore(InMemorySessionStoreOptions? options = null, TimeProvider? timeProvider = null, IMeterFactory? meterFactory = null, ILogger? logger = null)
    {
        _options = options ?? new InMemorySessionStoreOptions();
        var errors = InMemorySessionStoreOptionsValidator.Validate(_options);
        if (errors.Count > 0)
        {
            throw new ArgumentException(ValidationErrors.Describe("Invalid in-memory store options", errors), nameof(options));
        }

        _time = timeProvider ?? TimeProvider.System;
        _epochTicks = _time.GetUtcNow().UtcTicks;
        _defaultLockTimeoutTicks = _options.DefaultLockTimeout.Ticks;
        _defaultItemTimeoutSeconds = ToTimeoutSeconds(_options.DefaultItemTimeout, 1);
        for (var i = 0; i < _shards.Length; i++)
        {
            _shards[i] = new StoreShard();
        }

        _logger = logger ?? NullLogger.Instance;
        if (_options.MemoryCapBytes > 0)
        {
            _warningBytes = Math.Max(1, (long)(_options.MemoryCapBytes * _options.MemoryWarningFraction));
            _relievedBytes = Math.Max(0, _warningBytes - (_options.MemoryCapBytes / 20));
        }

        _metrics = new StoreMetrics(meterFactory, GetStatistics, _options.MemoryCapBytes);
        _sweepTimer = _time.CreateTimer(static state => ((InMemorySessionStore)state!).SweepExpired(), this, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
    }

    /// <summary>The options in force (validated).</summary>
    public InMemorySessionStoreOptions Options => _options;

    /// <summary>
    /// Where the store stands against its memory cap: <see cref="StoreMemoryLevel.Full"/> from the first refused
    /// new session, <see cref="StoreMemoryLevel.Warning"/> past the warning fraction, both until the bytes held
    /// drop a little below the warning level again. Always <see cref="StoreMemoryLevel.Normal"/> without a cap.
    /// </summary>
    public StoreMemoryLevel MemoryLevel => (StoreMemoryLevel)Volatile.Read(ref _memoryLevel);

    /// <summary>The bytes held at which the store warns (0 without a cap).</summary>
    public long MemoryWarningBytes => _warningBytes;

    /// <summary>The store's counters now.</summary>
    public SessionStoreStatistics GetStatistics() => new(
        Interlocked.Read(ref _activeSessions),
        Interlocked.Read(ref _bytesHeld),
        Interlocked.Read(ref _sessionsCreated),
        Interlocked.Read(ref _sessionsExpired),
        Interlocked.Read(ref _sessionsAbandoned),
        Interlocked.Read(ref _locksWaited),
        Interlocked.Read(ref _lockTakeovers),
        Interlocked.Read(ref _refusedCapacity),
        Interlocked.Read(ref _refusedTooLarge),
        Interlocked.Read(ref _refusedQueueFull));

    public ValueTask<SessionReadResult> GetAsync(SessionKey key, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Span<byte> keyBuffer = stackalloc byte[StateProtocol.MaxSessionIdBytes];
        var keyBytes = EncodeKey(key, keyBuffer);
        if (!_applications.TryGetValue(key.Application, out var applicationId))
        {
            return new(SessionReadResult.NotFound);
        }

        var hash = EntryKeyComparer.Hash(applicationId, keyBytes);
        var shard = ShardOf(hash);
        lock (shard.Gate)
        {
            var now = NowTicks();
            var entry = Find(shard, applicationId, keyBytes, now);
            if (entry is null)
            {
                return new(SessionReadResult.NotFound);
            }

            Slide(shard, entry, now);

            // A locked item's uninitialized flag belongs to the lock holder's read: a plain read does not consume it.
            return entry.IsLocked
                ? new(new SessionReadResult(StoreStatus.Ok, Snapshot(entry, consumeFlag: false), LockOf(entry, now)))
                : new(new SessionReadResult(StoreStatus.Ok, Snapshot(entry, consumeFlag: true), default));
        }
    }

    /// <summary>How many callers are parked waiting for <paramref name="key"/>'s lock now (diagnostics and tests).</summary>
    public int WaitingCallers(SessionKey key)
    {
        Span<byte> keyBuffer = stackalloc byte[StateProtocol.MaxSessionIdBytes];
        var keyBytes = EncodeKey(key, keyBuffer);
        if (!_applications.TryGetValue(key.Application, out var applicationId))
        {
            return 0;
        }

        var shard = ShardOf(EntryKeyComparer.Hash(applicationId, keyBytes));
        lock (shard.Gate)
        {
            return shard.Lookup.TryGetValue(new EntryProbe(applicationId, keyBytes), out var entry) ? entry.Waiters?.Count ?? 0 : 0;
        }
    }

    public ValueTask<SessionReadResult> GetExclusiveAsync(SessionKey key, LockRequest request, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var deadline = request.WaitTimeout > TimeSpan.Zero ? NowTicks() + request.WaitTimeout.Ticks : 0;
        var result = TryAcquire(key, request, null, deadline, out var parked, out var waitFor, out var queuedBehind);
        AnnounceContention(key, queuedBehind);
        return parked is null ? new(result) : WaitForLockAsync(key, request, parked, deadline, waitFor, cancellationToken);
    }

    /// <summary>
    /// Every caller that is queued behind a held lock from now on, with the holder's lock id, until
    /// <paramref name="cancellationToken"/> is cancelled (the enumeration then ends without an exception) or
    /// the store is disposed. A watcher that falls <see cref="ContentionFeed.Capacity"/> announcements behind
    /// loses the oldest. A caller queued behind a previous waiter is announced too, with the current
    /// holder's id.
    /// </summary>
    public async IAsyncEnumerable<LockContention> WatchContentionAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var subscription = WatchContention();
        var reader = subscription.Reader;
        while (await WaitToReadAsync(reader, cancellationToken).ConfigureAwait(false))
        {
            while (reader.TryRead(out var contention))
            {
                yield return contention;
            }
        }
    }

    /// <summary>A watch read straight from its channel (the engine's contention stream writes what is queued, then flushes once).</summary>
    internal ContentionSubscription WatchContention() => _contention.Subscribe();

    /// <summary>False when the watch ends: cancelled, or the store disposed.</summary>
    internal static async ValueTask<bool> WaitToReadAsync(System.Threading.Channels.ChannelReader<LockContention> reader, CancellationToken cancellationToken)
    {
        try
        {
            return await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    private void AnnounceContention(SessionKey key, long holderLockId)
    {
        if (holderLockId != 0 && _contention.HasWatchers)
        {
            _contention.Announce(new LockContention(key, holderLockId));
        }
    }

    public ValueTask<SessionWriteResult> SetAsync(SessionKey key, SessionWrite write, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        write.ThrowIfInvalid();
        Span<byte> keyBuffer = stackalloc byte[StateProtocol.MaxSessionIdBytes];
        var keyBytes = EncodeKey(key, keyBuffer);
        if (write.Data.Length > _options.MaxItemBytes)
        {
            Interlocked.Increment(ref _refusedTooLarge);
            return new(new SessionWriteResult(StoreStatus.TooLarge));
        }

        var applicationId = ApplicationIdFor(key.Application);
        var hash = EntryKeyComparer.Hash(applicationId, keyBytes);
        var shard = ShardOf(hash);
        var timeoutSeconds = ToTimeoutSeconds(write.Timeout, _defaultItemTimeoutSeconds);
        lock (shard.Gate)
        {
            var now = NowTicks();
            var entry = Find(shard, applicationId, keyBytes, now);
            if (entry is null)
            {
                if (write.LockId is not null)
                {
                    return new(new SessionWriteResult(StoreStatus.LockMismatch));
                }

                if (write.ExpectedVersion is > 0)
                {
                    return new(new SessionWriteResult(StoreStatus.VersionConflict));
                }

                entry = TryCreate(shard, applicationId, keyBytes, write.Data.Span, timeoutSeconds, now, uninitialized: false);
                if (entry is null)
                {
                    return new(new SessionWriteResult(StoreStatus.CapacityExceeded));
                }

                // A missing item counts as version 0, so any writer-assigned version is newer.
                entry.Version = write.Version ?? entry.Version;
                return new(new SessionWriteResult(StoreStatus.Ok, entry.Version));
            }

            // A writer-assigned version without a lock id is a repair: it neither needs nor touches the lock.
            var repair = write.Version is not null && write.LockId is null;
            if (entry.IsLocked && !repair)
            {
                if (write.LockId is null)
                {
                    return new(new SessionWriteResult(StoreStatus.Locked, 0, LockOf(entry, now)));
                }

                if (write.LockId.Value != entry.LockId)
                {
                    return new(new SessionWriteResult(StoreStatus.LockMismatch, 0, LockOf(entry, now)));
                }
            }
            else if (write.LockId is not null)
            {
                return new(new SessionWriteResult(StoreStatus.LockMismatch));
            }

            if (write.ExpectedVersion is { } expected)
            {
                if (expected == 0)
                {
                    return new(new SessionWriteResult(StoreStatus.AlreadyExists, entry.Version));
                }

                if (expected != entry.Version)
                {
                    return new(new SessionWriteResult(StoreStatus.VersionConflict, entry.Version));
                }
            }

            if (write.Version is { } version && version <= entry.Version)
            {
                if (version < entry.Version)
                {
                    // Refused: a lock the caller holds stays held, for the caller to release.
                    return new(new SessionWriteResult(StoreStatus.VersionConflict, entry.Version));
                }

                // The same version again (a duplicate, or a repair that raced its writer): only the expiry slides.
                Slide(shard, entry, now);
                if (write.LockId is not null)
                {
                    ReleaseOrRenewLock(entry, now, write.KeepLock);
                }

                return new(new SessionWriteResult(StoreStatus.Ok, entry.Version));
            }

            Replace(entry, write.Data.Span);
            entry.Version = write.Version ?? entry.Version + 1;
            entry.IsUninitialized = false;
            entry.TimeoutSeconds = timeoutSeconds;
            Slide(shard, entry, now);
            if (entry.IsLocked && !repair)
            {
                ReleaseOrRenewLock(entry, now, write.KeepLock);
            }

            return new(new SessionWriteResult(StoreStatus.Ok, entry.Version));
        }
    }

    public ValueTask<SessionWriteResult> ReleaseAsync(SessionKey key, long lockId, CancellationToken cancellationToken = default)
        => new(OnExistingEntry(key, lockId, static (store, shard, entry, now, lockId) =>
        {
            if (!entry.IsLocked || entry.LockId != lockId)
            {
                return new SessionWriteResult(StoreStatus.LockMismatch, 0, entry.IsLocked ? LockOf(entry, now) : default);
            }

            store.Slide(shard, entry, now);
            store.ReleaseLock(entry, now);
            return new SessionWriteResult(StoreStatus.Ok, entry.Version);
        }, cancellationToken));

    public ValueTask<SessionWriteResult> RemoveAsync(SessionKey key, long? lockId, CancellationToken cancellationToken = default)
        => new(OnExistingEntry(key, lockId, static (store, shard, entry, now, lockId) =>
        {
            if (lockId is null)
            {
                if (entry.IsLocked)
                {
                    return new SessionWriteResult(StoreStatus.Locked, 0, LockOf(entry, now));
                }
            }
            else if (!entry.IsLocked || entry.LockId != lockId.Value)
            {
                return new SessionWriteResult(StoreStatus.LockMismatch, 0, entry.IsLocked ? LockOf(entry, now) : default);
            }

            var version = entry.Version;
            store.RemoveEntry(shard, entry);
            Interlocked.Increment(ref store._sessionsAbandoned);
            return new SessionWriteResult(StoreStatus.Ok, version);
        }, cancellationToken));

    public ValueTask<SessionWriteResult> TouchAsync(SessionKey key, CancellationToken cancellationToken = default)
        => new(OnExistingEntry(key, 0, static (store, shard, entry, now, _) =>
        {
            store.Slide(shard, entry, now);
            return new SessionWriteResult(StoreStatus.Ok, entry.Version);
        }, cancellationToken));

    /// <summary>
    /// Runs <paramref name="action"/> on the key's live entry under its shard's lock; NotFound when there is none.
    /// Static lambdas with their state passed in: no allocation per call.
    /// </summary>
    private SessionWriteResult OnExistingEntry<TState>(
        SessionKey key,
        TState state,
        Func<InMemorySessionStore, StoreShard, SessionEntry, long, TState, SessionWriteResult> action,
        CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Span<byte> keyBuffer = stackalloc byte[StateProtocol.MaxSessionIdBytes];
        var keyBytes = EncodeKey(key, keyBuffer);
        if (!_applications.TryGetValue(key.Application, out var applicationId))
        {
            return new SessionWriteResult(StoreStatus.NotFound);
        }

        var shard = ShardOf(EntryKeyComparer.Hash(applicationId, keyBytes));
        lock (shard.Gate)
        {
            var now = NowTicks();
            var entry = Find(shard, applicationId, keyBytes, now);
            return entry is null ? new SessionWriteResult(StoreStatus.NotFound) : action(this, shard, entry, now, state);
        }
    }

    public ValueTask<SessionWriteResult> CreateUninitializedAsync(SessionKey key, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        CreateUninitializedAsync(key, ReadOnlyMemory<byte>.Empty, timeout, cancellationToken);

    /// <summary>
    /// Create-uninitialized with an initial blob: MS-ASP's PUT with <c>ExtraFlags: 1</c> carries the
    /// client's serialized empty session, which classic clients expect to read back.
    /// </summary>
    internal ValueTask<SessionWriteResult> CreateUninitializedAsync(SessionKey key, ReadOnlyMemory<byte> data, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Span<byte> keyBuffer = stackalloc byte[StateProtocol.MaxSessionIdBytes];
        var keyBytes = EncodeKey(key, keyBuffer);
        if (data.Length > _options.MaxItemBytes)
        {
            Interlocked.Increment(ref _refusedTooLarge);
            return new(new SessionWriteResult(StoreStatus.TooLarge));
        }

        var applicationId = ApplicationIdFor(key.Application);
        var shard = ShardOf(EntryKeyComparer.Hash(applicationId, keyBytes));
        var timeoutSeconds = ToTimeoutSeconds(timeout, _defaultItemTimeoutSeconds);
        lock (shard.Gate)
        {
            var now = NowTicks();
            var entry = Find(shard, applicationId, keyBytes, now);
            if (entry is not null)
            {
                return new(new SessionWriteResult(StoreStatus.AlreadyExists, entry.Version, entry.IsLocked ? LockOf(entry, now) : default));
            }

            entry = TryCreate(shard, applicationId, keyBytes, data.Span, timeoutSeconds, now, uninitialized: true);
            return entry is null
                ? new(new SessionWriteResult(StoreStatus.CapacityExceeded))
                : new(new SessionWriteResult(StoreStatus.Ok, entry.Version));
        }
    }

    /// <summary>Frees every item whose expiry has passed (the wheel's timer calls it once a second).</summary>
    internal void SweepExpired()
    {
        lock (_sweepGate)
        {
            var now = NowTicks();
            var nowSecond = SecondFloor(now);
            foreach (var shard in _shards)
            {
                lock (shard.Gate)
                {
                    shard.CollectDue(nowSecond, _due);
                    foreach (var entry in _due)
                    {
                        if (entry.IsLocked)
                        {
                            // A locked item is never expired: its holder may still write it. Look again one timeout later.
                            shard.Schedule(entry, nowSecond + entry.TimeoutSeconds);
                        }
                        else
                        {
                            RemoveEntry(shard, entry);
                            Interlocked.Increment(ref _sessionsExpired);
                        }
                    }
                }

                _due.Clear();
            }
        }
    }

    public void Dispose()
    {
        _sweepTimer.Dispose();
        _metrics.Dispose();
        _contention.Complete();
    }

    private async ValueTask<SessionReadResult> WaitForLockAsync(SessionKey key, LockRequest request, LockWaiter waiter, long deadline, TimeSpan waitFor, CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                await waiter.Signal.WaitAsync(waitFor, _time, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // Either the wait timeout or the holder's lock timeout is due: evaluate again below.
            }
            catch (OperationCanceledException)
            {
                AbandonWait(key, waiter);
                throw;
            }

            var result = TryAcquire(key, request, waiter, deadline, out var parked, out waitFor, out var queuedBehind);
            AnnounceContention(key, queuedBehind);
            if (parked is null)
            {
                return result;
            }

            waiter = parked;
        }
    }

    /// <summary>
    /// One attempt to take the lock, under the shard's lock. Either answers (and <paramref name="parked"/>
    /// is null) or leaves <paramref name="parked"/> queued on the item and says how long to wait before
    /// looking again (the wait deadline or the moment the holder's lock can be taken over).
    /// <paramref name="queuedBehind"/> is the holder's lock id when the caller was queued by this attempt (to be
    /// announced once the shard's lock is left), else 0.
    /// </summary>
    private SessionReadResult TryAcquire(SessionKey key, LockRequest request, LockWaiter? waiter, long deadline, out LockWaiter? parked, out TimeSpan waitFor, out long queuedBehind)
    {
        parked = null;
        waitFor = default;
        queuedBehind = 0;
        Span<byte> keyBuffer = stackalloc byte[StateProtocol.MaxSessionIdBytes];
        var keyBytes = EncodeKey(key, keyBuffer);
        var applicationId = request.CreateIfMissing ? ApplicationIdFor(key.Application) : ApplicationIdOrZero(key.Application);
        if (applicationId == 0)
        {
            return SessionReadResult.NotFound;
        }

        var shard = ShardOf(EntryKeyComparer.Hash(applicationId, keyBytes));
        lock (shard.Gate)
        {
            if (waiter is not null)
            {
                if (waiter.Granted is { } granted)
                {
                    return granted;
                }

                if (waiter.MustRetry)
                {
                    waiter = null;
                }
            }

            var now = NowTicks();
            var entry = Find(shard, applicationId, keyBytes, now);
            if (entry is null)
            {
                if (!request.CreateIfMissing)
                {
                    return SessionReadResult.NotFound;
                }

                var itemTimeout = ToTimeoutSeconds(request.ItemTimeout, _defaultItemTimeoutSeconds);
                entry = TryCreate(shard, applicationId, keyBytes, [], itemTimeout, now, uninitialized: true);
                if (entry is null)
                {
                    return new SessionReadResult(StoreStatus.CapacityExceeded, null, default);
                }

                TakeLock(entry, now, request.ProposedLockId);
                return new SessionReadResult(StoreStatus.Ok, Snapshot(entry, consumeFlag: true), LockOf(entry, now));
            }

            if (!entry.IsLocked)
            {
                Dequeue(entry, waiter);
                TakeLock(entry, now, request.ProposedLockId);
                Slide(shard, entry, now);
                return new SessionReadResult(StoreStatus.Ok, Snapshot(entry, consumeFlag: true), LockOf(entry, now));
            }

            var lockTimeoutTicks = request.LockTimeout is { } lockTimeout ? Math.Max(lockTimeout.Ticks, 0) : _defaultLockTimeoutTicks;
            if (now - entry.LockAcquiredTicks >= lockTimeoutTicks)
            {
                var head = entry.Waiters?.Head;
                if (head is null || ReferenceEquals(head, waiter))
                {
                    Dequeue(entry, waiter);
                    TakeLock(entry, now, request.ProposedLockId);
                    Slide(shard, entry, now);
                    Interlocked.Increment(ref _lockTakeovers);
                    return new SessionReadResult(StoreStatus.Ok, Snapshot(entry, consumeFlag: true), LockOf(entry, now), TookOver: true);
                }

                // Callers already wait: the stale lock goes to the first of them, in arrival order.
                Interlocked.Increment(ref _lockTakeovers);
                HandOff(entry, now, tookOver: true);
            }

            if (request.WaitTimeout <= TimeSpan.Zero)
            {
                return new SessionReadResult(StoreStatus.Locked, null, LockOf(entry, now));
            }

            if (now >= deadline)
            {
                Dequeue(entry, waiter);
                return new SessionReadResult(StoreStatus.WaitTimeout, null, LockOf(entry, now));
            }

            if (waiter is null || !waiter.IsQueued)
            {
                var queue = entry.Waiters ??= new LockWaiterQueue();
                if (queue.Count >= _options.MaxWaitersPerSession)
                {
                    if (queue.Count == 0)
                    {
                        entry.Waiters = null;
                    }

                    Interlocked.Increment(ref _refusedQueueFull);
                    return new SessionReadResult(StoreStatus.QueueFull, null, LockOf(entry, now));
                }

                if (waiter is null)
                {
                    waiter = new LockWaiter(request);
                    Interlocked.Increment(ref _locksWaited);
                }

                queue.Enqueue(waiter);
                queuedBehind = entry.LockId;
            }

            var lockStaleIn = entry.LockAcquiredTicks + lockTimeoutTicks - now;
            waitFor = TimeSpan.FromTicks(Math.Max(Math.Min(deadline - now, lockStaleIn), TimeSpan.TicksPerMillisecond));
            parked = waiter;
            return default;
        }
    }

    /// <summary>A waiting caller gave up (cancelled): leave the queue, or pass on a lock handed over meanwhile.</summary>
    private void AbandonWait(SessionKey key, LockWaiter waiter)
    {
        Span<byte> keyBuffer = stackalloc byte[StateProtocol.MaxSessionIdBytes];
        var keyBytes = EncodeKey(key, keyBuffer);
        var applicationId = ApplicationIdOrZero(key.Application);
        if (applicationId == 0)
        {
            return;
        }

        var shard = ShardOf(EntryKeyComparer.Hash(applicationId, keyBytes));
        lock (shard.Gate)
        {
            var now = NowTicks();
            var entry = Find(shard, applicationId, keyBytes, now);
            if (entry is null)
            {
                return;
            }

            if (waiter.Granted is { } granted)
            {
                if (entry.LockId == granted.Lock.LockId)
                {
                    ReleaseLock(entry, now);
                }
            }
            else
            {
                Dequeue(entry, waiter);
            }
        }
    }

    private static void Dequeue(SessionEntry entry, LockWaiter? waiter)
    {
        if (waiter is null || !waiter.IsQueued || entry.Waiters is not { } queue)
        {
            return;
        }

        queue.Remove(waiter);
        if (queue.Count == 0)
        {
            entry.Waiters = null;
        }
    }

    /// <param name="proposedLockId">The caller's own lock id when positive (LockRequest.ProposedLockId); else the next of the store's.</param>
    private void TakeLock(SessionEntry entry, long now, long proposedLockId)
    {
        entry.LockId = proposedLockId > 0 ? proposedLockId : Interlocked.Increment(ref _nextLockId);
        entry.LockAcquiredTicks = now;
    }

    /// <summary>
    /// The lock after an applied write by its holder: released (set-and-release), or with
    /// <see cref="SessionWrite.KeepLock"/> kept under the same id with its age restarting now, so the lock-timeout
    /// takeover counts from this write. Waiters stay queued: the lock is not free, and a parked waiter that wakes
    /// at the old stale moment looks again and parks until the renewed lock's.
    /// </summary>
    private void ReleaseOrRenewLock(SessionEntry entry, long now, bool keepLock)
    {
        if (keepLock)
        {
            entry.LockAcquiredTicks = now;
            return;
        }

        ReleaseLock(entry, now);
    }

    /// <summary>Releases the lock, handing it straight to the first waiter if there is one (no barging).</summary>
    private void ReleaseLock(SessionEntry entry, long now)
    {
        entry.LockId = 0;
        HandOff(entry, now, tookOver: false);
    }

    private void HandOff(SessionEntry entry, long now, bool tookOver)
    {
        if (entry.Waiters is not { } queue)
        {
            if (tookOver)
            {
                entry.LockId = 0;
            }

            return;
        }

        var next = queue.Dequeue();
        if (queue.Count == 0)
        {
            entry.Waiters = null;
        }

        if (next is null)
        {
            entry.LockId = 0;
            return;
        }

        TakeLock(entry, now, next.Request.ProposedLockId);
        next.Grant(new SessionReadResult(StoreStatus.Ok, Snapshot(entry, consumeFlag: true), LockOf(entry, now), tookOver));
    }

    private SessionEntry? Find(StoreShard shard, int applicationId, ReadOnlySpan<byte> keyBytes, long now)
    {
        if (!shard.Lookup.TryGetValue(new EntryProbe(applicationId, keyBytes), out var entry))
        {
            return null;
        }

        if (entry.ExpirySecond <= SecondFloor(now) && !entry.IsLocked)
        {
            // Due but not swept yet: it is gone for every caller from this moment.
            RemoveEntry(shard, entry);
            Interlocked.Increment(ref _sessionsExpired);
            return null;
        }

        return entry;
    }

    private SessionEntry? TryCreate(StoreShard shard, int applicationId, ReadOnlySpan<byte> keyBytes, ReadOnlySpan<byte> data, int timeoutSeconds, long now, bool uninitialized)
    {
        var footprint = Footprint(keyBytes.Length + data.Length);
        var held = Interlocked.Add(ref _bytesHeld, footprint);
        if (_options.MemoryCapBytes > 0 && held > _options.MemoryCapBytes)
        {
            Interlocked.Add(ref _bytesHeld, -footprint);
            Interlocked.Increment(ref _refusedCapacity);
            MemoryFull(held - footprint);
            return null;
        }

        MemoryGrew(held);

        var buffer = GC.AllocateUninitializedArray<byte>(keyBytes.Length + data.Length);
        keyBytes.CopyTo(buffer);
        data.CopyTo(buffer.AsSpan(keyBytes.Length));
        var entry = new SessionEntry(applicationId, buffer, keyBytes.Length)
        {
            Version = 1,
            TimeoutSeconds = timeoutSeconds,
            IsUninitialized = uninitialized,
        };
        shard.Entries.Add(entry);
        Slide(shard, entry, now);
        Interlocked.Increment(ref _activeSessions);
        Interlocked.Increment(ref _sessionsCreated);
        return entry;
    }

    private void Replace(SessionEntry entry, ReadOnlySpan<byte> data)
    {
        var old = entry.Buffer;
        var buffer = GC.AllocateUninitializedArray<byte>(entry.KeyLength + data.Length);
        old.AsSpan(0, entry.KeyLength).CopyTo(buffer);
        data.CopyTo(buffer.AsSpan(entry.KeyLength));
        entry.Buffer = buffer;
        var change = Align8(buffer.Length) - Align8(old.Length);
        var held = Interlocked.Add(ref _bytesHeld, change);
        if (change > 0)
        {
            MemoryGrew(held);
        }
        else if (change < 0)
        {
            MemoryShrank(held);
        }
    }

    private void RemoveEntry(StoreShard shard, SessionEntry entry)
    {
        shard.Entries.Remove(entry);
        shard.Unschedule(entry);
        MemoryShrank(Interlocked.Add(ref _bytesHeld, -Footprint(entry.Buffer.Length)));
        Interlocked.Decrement(ref _activeSessions);
        entry.LockId = 0;
        if (entry.Waiters is { } queue)
        {
            entry.Waiters = null;
            while (queue.Dequeue() is { } waiter)
            {
                waiter.Retry();
            }
        }
    }

    // The three memory transitions below run under a shard's lock and log only when the level changes (a few
    // times in a node's life): one compare on every write otherwise.
    private void MemoryGrew(long held)
    {
        if (_warningBytes > 0 && held >= _warningBytes
            && Interlocked.CompareExchange(ref _memoryLevel, (int)StoreMemoryLevel.Warning, (int)StoreMemoryLevel.Normal) == (int)StoreMemoryLevel.Normal)
        {
            var percent = Percent(held);
            StateServerLog.MemoryWarning(_logger, held, _options.MemoryCapBytes, percent, _options.MemoryWarningFraction * 100);
        }
    }

    private void MemoryFull(long held)
    {
        if (Volatile.Read(ref _memoryLevel) != (int)StoreMemoryLevel.Full
            && Interlocked.Exchange(ref _memoryLevel, (int)StoreMemoryLevel.Full) != (int)StoreMemoryLevel.Full)
        {
            StateServerLog.MemoryFull(_logger, held, _options.MemoryCapBytes);
        }
    }

    private void MemoryShrank(long held)
    {
        if (held < _relievedBytes && Volatile.Read(ref _memoryLevel) != (int)StoreMemoryLevel.Normal)
        {
            var previous = (StoreMemoryLevel)Interlocked.Exchange(ref _memoryLevel, (int)StoreMemoryLevel.Normal);
            if (previous != StoreMemoryLevel.Normal)
            {
                var percent = Percent(held);
                StateServerLog.MemoryRelieved(_logger, held, _options.MemoryCapBytes, percent, previous);
            }
        }
    }

    private double Percent(long held) => Math.Round(100.0 * held / _options.MemoryCapBytes, 1);

    private void Slide(StoreShard shard, SessionEntry entry, long now) =>
        shard.Schedule(entry, SecondCeiling(now + (entry.TimeoutSeconds * TimeSpan.TicksPerSecond)));

    private static SessionItem Snapshot(SessionEntry entry, bool consumeFlag)
    {
        var uninitialized = consumeFlag && entry.IsUninitialized;
        if (uninitialized)
        {
            entry.IsUninitialized = false;
        }

        // The buffer is never written after it is assigned, so the slice stays valid and unchanged.
        return new SessionItem(entry.Data, entry.Version, TimeSpan.FromSeconds(entry.TimeoutSeconds), uninitialized);
    }

    private static SessionLock LockOf(SessionEntry entry, long now) =>
        new(entry.LockId, new DateTimeOffset(entry.LockAcquiredTicks, TimeSpan.Zero), TimeSpan.FromTicks(Math.Max(now - entry.LockAcquiredTicks, 0)));

    private StoreShard ShardOf(int hash) => _shards[(uint)hash % ShardCount];

    private int ApplicationIdFor(string application) =>
        _applications.TryGetValue(application, out var id)
            ? id
            : _applications.GetOrAdd(application, static (_, store) => Interlocked.Increment(ref store._nextApplicationId), this);

    private int ApplicationIdOrZero(string application) => _applications.TryGetValue(application, out var id) ? id : 0;

    private long NowTicks() => _time.GetUtcNow().UtcTicks;

    private int SecondFloor(long ticks) => (int)((ticks - _epochTicks) / TimeSpan.TicksPerSecond);

    private int SecondCeiling(long ticks) => (int)((ticks - _epochTicks + TimeSpan.TicksPerSecond - 1) / TimeSpan.TicksPerSecond);

    private static long Align8(int length) => (length + 7L) & ~7L;

    /// <summary>The bytes one entry holds for a buffer of <paramref name="bufferLength"/> bytes.</summary>
    internal static long Footprint(int bufferLength) => ArrayHeaderBytes + Align8(bufferLength) + EntryObjectBytes + SetSlotBytes;

    private static int ToTimeoutSeconds(TimeSpan timeout, int fallbackSeconds)
    {
        if (timeout <= TimeSpan.Zero)
        {
            return fallbackSeconds;
        }

        var maxSeconds = (long)InMemorySessionStoreOptions.MaxItemTimeout.TotalSeconds;
        var seconds = (timeout.Ticks + TimeSpan.TicksPerSecond - 1) / TimeSpan.TicksPerSecond;
        return (int)Math.Min(seconds, maxSeconds);
    }

    private static ReadOnlySpan<byte> EncodeKey(SessionKey key, Span<byte> buffer)
    {
        if (string.IsNullOrEmpty(key.SessionId))
        {
            throw new ArgumentException("The session id is empty.", nameof(key));
        }

        ArgumentNullException.ThrowIfNull(key.Application, nameof(key));
        if (!Encoding.UTF8.TryGetBytes(key.SessionId, buffer, out var written))
        {
            throw new ArgumentException($"The session id is longer than {StateProtocol.MaxSessionIdBytes} UTF-8 bytes.", nameof(key));
        }

        return buffer[..written];
    }
}
