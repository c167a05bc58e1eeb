using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SessionRouter.Core.Configuration;
using SessionRouter.Core.Health;
using SessionRouter.Core.Storage;
using SessionRouter.Redis.Configuration;
using SessionRouter.Redis.Diagnostics;
using SessionRouter.Redis.Locking;
using SessionRouter.Redis.Scripts;
using StackExchange.Redis;

namespace SessionRouter.Redis;

/// <summary>
/// The session store contract over Redis (standalone, with replicas, or a Redis Cluster): every
/// operation is one Lua script run by SHA (one round trip, atomic on the server), lock ages come from the
/// server's clock, and a caller waiting for a lock is woken by a pub/sub notification from the releasing
/// script. Create with <see cref="ConnectAsync"/>; one instance per state node, shared by all requests.
/// A caller that starts waiting for a held lock publishes a contention announcement (fire and forget) that
/// every <see cref="WatchContentionAsync"/> of every process on the node receives.
/// </summary>
/// <remarks>
/// Transport failures and timeouts surface as <see cref="SessionStoreUnavailableException"/> carrying the
/// node id, bounded by <see cref="RedisStoreOptions.OperationTimeout"/>; while the connection is down,
/// operations fail at once (unless <see cref="RedisStoreOptions.FailFastWhenDisconnected"/> is off) and the
/// connection is re-established in the background.
/// </remarks>
public sealed class RedisSessionStore : ISessionStore, IStateNodeProbe, ILockContentionSource, IAsyncDisposable
{
    private const long MaxTimeoutMs = 366L * 24 * 60 * 60 * 1000;

    /// <summary>Announcements one watcher may have unread before the oldest are dropped.</summary>
    private const int WatcherCapacity = 1024;

    private static readonly RedisValue[] NoArguments = [];

    /// <summary>Expected version 0 (create only), the gateway's one conditional write: eight zero bytes, shared, never written to.</summary>
    private static readonly RedisValue CreateOnlyVersion = new byte[8];

    /// <summary>The set script's eighth argument for a write that keeps its lock (SessionWrite.KeepLock).</summary>
    private static readonly RedisValue KeepLockArgument = "1";

    private readonly IConnectionMultiplexer _connection;
    private readonly IDatabase _database;
    private readonly RedisStoreOptions _options;
    private readonly SessionKeyLayout _layout;
    private readonly LockWaitRegistry _waiters;
    private readonly ConcurrentDictionary<string, Lazy<Task>> _subscriptions = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _channelNames = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<Channel<LockContention>, bool> _watchers = new();
    private readonly ILogger _logger;
    private readonly RedisStoreMetrics _metrics;
    private readonly TimeProvider _time = TimeProvider.System;
    private readonly long _defaultLockTimeoutMs;
    private readonly long _defaultItemTimeoutMs;
    private int _disposed;

    private RedisSessionStore(IConnectionMultiplexer connection, RedisStoreOptions options, ILogger logger, IMeterFactory? meterFactory)
    {
        _connection = connection;
        _database = connection.GetDatabase();
        _options = options;
        _layout = new SessionKeyLayout(options.KeyPrefix);
        _waiters = new LockWaitRegistry(options.MaxLockWaiters);
        _logger = logger;
        _metrics = new RedisStoreMetrics(meterFactory, options.NodeId);
        _defaultLockTimeoutMs = ToMilliseconds(options.DefaultLockTimeout, 1);
        _defaultItemTimeoutMs = ToMilliseconds(options.DefaultItemTimeout, 1);
        _connection.ConnectionFailed += OnConnectionFailed;
        _connection.ConnectionRestored += OnConnectionRestored;
    }

    /// <summary>The node id given in the options.</summary>
    public string NodeId => _options.NodeId;

    /// <summary>The options in force (validated).</summary>
    public RedisStoreOptions Options => _options;

    /// <summary>True while at least one server of the node is connected.</summary>
    public bool IsConnected => _connection.IsConnected;

    /// <summary>The StackExchange.Redis connection (for diagnostics and tests; do not close it).</summary>
    public IConnectionMultiplexer Connection => _connection;

    /// <summary>
    /// Validates <paramref name="options"/> (an <see cref="ArgumentException"/> names every faulty setting),
    /// connects, and loads the scripts on every primary. A node that is down at start-up does not fail
    /// this call: the store is returned, its operations throw <see cref="SessionStoreUnavailableException"/>
    /// and <see cref="ProbeAsync"/> fails until the connection is established in the background.
    /// </summary>
    public static async Task<RedisSessionStore> ConnectAsync(
        RedisStoreOptions options,
        ILoggerFactory? loggerFactory = null,
        IMeterFactory? meterFactory = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = RedisStoreOptionsValidator.Validate(options);
        if (errors.Count > 0)
        {
            throw new ArgumentException(ValidationErrors.Describe($"Invalid Redis node '{options.NodeId}'", errors), nameof(options));
        }

        var logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<RedisSessionStore>();
        var configuration = BuildConfiguration(options);
        RedisStoreLog.Connecting(logger, options.NodeId, configuration.EndPoints.Count);
        var connection = await ConnectionMultiplexer.ConnectAsync(configuration).WaitAsync(cancellationToken).ConfigureAwait(false);
        var store = new RedisSessionStore(connection, options, logger, meterFactory);
        await store.PreloadScriptsAsync().ConfigureAwait(false);
        return store;
    }

    public async ValueTask<SessionReadResult> GetAsync(SessionKey key, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var redisKey = _layout.KeyOf(key);
        var reply = await RunAsync(SessionScripts.Get, redisKey, NoArguments).ConfigureAwait(false);
        _metrics.Operation("get", reply.Status);
        return reply.Status switch
        {
            StoreStatus.Ok => new SessionReadResult(StoreStatus.Ok, reply.ToItem(), reply.Header!.Value.LockAt(reply.NowMs)),
            StoreStatus.NotFound => SessionReadResult.NotFound,
            var other => new SessionReadResult(other, null, default),
        };
    }

    public async ValueTask<SessionReadResult> GetExclusiveAsync(SessionKey key, LockRequest request, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var redisKey = _layout.KeyOf(key);
        var lockTimeoutMs = request.LockTimeout is { } lockTimeout ? Math.Max(ToMilliseconds(lockTimeout, 0), 0) : _defaultLockTimeoutMs;
        var willWait = request.WaitTimeout > TimeSpan.Zero;
        RedisValue[] arguments =
        [
            RandomNumberGenerator.GetInt32(1 << 20),
            lockTimeoutMs,
            request.CreateIfMissing ? 1 : 0,
            ToMilliseconds(request.ItemTimeout, _defaultItemTimeoutMs),
            willWait ? ToMilliseconds(request.WaitTimeout, 0) : 0,
            request.ProposedLockId > 0 ? Int64Value(request.ProposedLockId) : RedisValue.EmptyString,
        ];

        var reply = await RunAsync(SessionScripts.GetExclusive, redisKey, arguments).ConfigureAwait(false);
        if (reply.Status == StoreStatus.Locked && willWait)
        {
            return await WaitForLockAsync(key, redisKey, arguments, lockTimeoutMs, request.WaitTimeout, reply, cancellationToken).ConfigureAwait(false);
        }

        return ToLockResult(reply);
    }

    public async ValueTask<SessionWriteResult> SetAsync(SessionKey key, SessionWrite write, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        write.ThrowIfInvalid();
        var redisKey = _layout.KeyOf(key);
        if (write.Data.Length > _options.MaxItemBytes)
        {
            _metrics.Operation("set", StoreStatus.TooLarge);
            return new SessionWriteResult(StoreStatus.TooLarge);
        }

        var lockArgument = write.LockId is { } lockId ? Int64Value(lockId) : RedisValue.EmptyString;
        var expectedArgument = write.ExpectedVersion switch
        {
            null => RedisValue.EmptyString,
            0 => CreateOnlyVersion,
            { } expected => Int64Value(expected),
        };

        // The writer's version is a seventh argument and a kept lock an eighth, each only when there is one (an
        // empty seventh when only the lock is kept): a plain write sends, and allocates, no more.
        var arguments = new RedisValue[write.KeepLock ? 8 : write.Version is null ? 6 : 7];
        arguments[0] = lockArgument;
        arguments[1] = expectedArgument;
        arguments[2] = ToMilliseconds(write.Timeout, _defaultItemTimeoutMs);
        arguments[3] = write.Data;
        arguments[4] = ChannelName(key.Application);
        arguments[5] = key.SessionId;
        if (write.Version is { } version)
        {
            arguments[6] = Int64Value(version);
        }
        else if (write.KeepLock)
        {
            arguments[6] = RedisValue.EmptyString;
        }

        if (write.KeepLock)
        {
            arguments[7] = KeepLockArgument;
        }

        var reply = await RunAsync(SessionScripts.Set, redisKey, arguments).ConfigureAwait(false);
        var result = ToWriteResult("set", reply);
        if (result.Status == StoreStatus.Ok && _options.WaitForReplicas > 0)
        {
            await WaitForReplicasAsync(redisKey).ConfigureAwait(false);
        }

        return result;
    }

    /// <summary>
    /// Redis <c>WAIT</c> on the key's primary: the save is already applied there, so a shortfall is counted and
    /// logged, never reported as a failed save (the state the caller wrote is what every later read sees).
    /// </summary>
    private async Task WaitForReplicasAsync(RedisKey redisKey)
    {
        try
        {
            var server = _connection.GetServer(redisKey);
            var timeoutMs = (long)_options.WaitForReplicasTimeout.TotalMilliseconds;
            var acknowledged = (long)await server.ExecuteAsync("WAIT", _options.WaitForReplicas, timeoutMs).ConfigureAwait(false);
            if (acknowledged < _options.WaitForReplicas)
            {
                _metrics.Unreplicated();
                RedisStoreLog.Unreplicated(_logger, _options.NodeId, acknowledged, _options.WaitForReplicas, _options.WaitForReplicasTimeout);
            }
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            _metrics.Unreplicated();
            RedisStoreLog.WaitFailed(_logger, _options.NodeId, ex.Message);
        }
    }

    public async ValueTask<SessionWriteResult> ReleaseAsync(SessionKey key, long lockId, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var redisKey = _layout.KeyOf(key);
        RedisValue[] arguments = [Int64Value(lockId), ChannelName(key.Application), key.SessionId];
        var reply = await RunAsync(SessionScripts.Release, redisKey, arguments).ConfigureAwait(false);
        return ToWriteResult("release", reply);
    }

    public async ValueTask<SessionWriteResult> RemoveAsync(SessionKey key, long? lockId, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var redisKey = _layout.KeyOf(key);
        RedisValue[] arguments =
        [
            lockId is { } id ? Int64Value(id) : RedisValue.EmptyString,
            ChannelName(key.Application),
            key.SessionId,
        ];
        var reply = await RunAsync(SessionScripts.Remove, redisKey, arguments).ConfigureAwait(false);
        return ToWriteResult("remove", reply);
    }

    public async ValueTask<SessionWriteResult> TouchAsync(SessionKey key, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var redisKey = _layout.KeyOf(key);
        var reply = await RunAsync(SessionScripts.Touch, redisKey, NoArguments).ConfigureAwait(false);
        return ToWriteResult("touch", reply);
    }

    public async ValueTask<SessionWriteResult> CreateUninitializedAsync(SessionKey key, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var redisKey = _layout.KeyOf(key);
        RedisValue[] arguments = [ToMilliseconds(timeout, _defaultItemTimeoutMs)];
        var reply = await RunAsync(SessionScripts.CreateUninitialized, redisKey, arguments).ConfigureAwait(false);
        return ToWriteResult("create", reply);
    }

    /// <summary>
    /// PINGs every primary of the node and completes when each answered; throws
    /// <see cref="SessionStoreUnavailableException"/> otherwise. For a Redis Cluster the primaries are
    /// those that own slots in the client's current cluster map, so a failed master whose slots a
    /// replica took over no longer counts, while a master whose slots nobody serves fails the probe.
    /// </summary>
    public async ValueTask ProbeAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        try
        {
            var primaries = Primaries();
            if (primaries.Length == 0)
            {
                _metrics.Failure("probe");
                throw new SessionStoreUnavailableException($"Redis node '{_options.NodeId}' knows no primary server.") { NodeId = _options.NodeId };
            }

            await Task.WhenAll(primaries.Select(s => s.PingAsync())).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            throw Unavailable("probe", e);
        }
    }

    private IServer[] Primaries()
    {
        var servers = _connection.GetServers();
        var configuration = servers.FirstOrDefault(s => s.IsConnected && s.ServerType == ServerType.Cluster)?.ClusterConfiguration;
        if (configuration is null)
        {
            // Standalone (with or without replicas): every primary must answer, a disconnected one included.
            return servers.Where(s => !s.IsConnected || !s.IsReplica).ToArray();
        }

        // The client's current view of the cluster (refreshed on MOVED and failover): the masters that
        // own slots. A failed master whose slots moved to a promoted replica owns none and is left out.
        return configuration.Nodes
            .Where(n => !n.IsReplica && n.Slots.Count > 0 && n.EndPoint is not null)
            .Select(n => _connection.GetServer(n.EndPoint!))
            .ToArray();
    }

    /// <summary>How many callers of this process wait for the lock of <paramref name="key"/> now.</summary>
    public int WaitingCallers(SessionKey key) => _waiters.CountOf(key);

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _connection.ConnectionFailed -= OnConnectionFailed;
        _connection.ConnectionRestored -= OnConnectionRestored;
        _waiters.NotifyAll();
        foreach (var watcher in _watchers.Keys)
        {
            // Each watch ends once it has read what is queued.
            watcher.Writer.TryComplete();
        }

        await _connection.CloseAsync(allowCommandsToComplete: false).ConfigureAwait(false);
        _connection.Dispose();
        _metrics.Dispose();
    }

    private async ValueTask<SessionReadResult> WaitForLockAsync(
        SessionKey key,
        RedisKey redisKey,
        RedisValue[] arguments,
        long lockTimeoutMs,
        TimeSpan waitTimeout,
        ScriptReply locked,
        CancellationToken cancellationToken)
    {
        using var waiter = _waiters.TryEnter(key);
        if (waiter is null)
        {
            _metrics.Operation("get-exclusive", StoreStatus.QueueFull);
            return new SessionReadResult(StoreStatus.QueueFull, null, locked.Header!.Value.LockAt(locked.NowMs));
        }

        _metrics.LockWait();
        var started = Stopwatch.GetTimestamp();
        await EnsureSubscribedAsync(key.Application).ConfigureAwait(false);

        // Subscribed and queued: from here a release publishes to us. Try again once at once, because the
        // holder may have released between the first attempt and the subscription.
        var announcedHolder = 0L;
        while (true)
        {
            waiter.Arm();
            var reply = await RunAsync(SessionScripts.GetExclusive, redisKey, arguments).ConfigureAwait(false);
            if (reply.Status != StoreStatus.Locked)
            {
                return ToLockResult(reply);
            }

            var holder = reply.Header!.Value;
            var remaining = waitTimeout - Stopwatch.GetElapsedTime(started);
            if (remaining <= TimeSpan.Zero)
            {
                _metrics.Operation("get-exclusive", StoreStatus.WaitTimeout);
                return new SessionReadResult(StoreStatus.WaitTimeout, null, holder.LockAt(reply.NowMs));
            }

            // About to wait behind this holder: tell the watchers, once per holder (a new holder that won the
            // race after a release is announced again, as the lease it may keep is a new one).
            if (holder.LockId != announcedHolder)
            {
                announcedHolder = holder.LockId;
                AnnounceContention(key, holder.LockId);
            }

            // A holder that never releases (crashed) becomes stale at its lock timeout: wake then to take over.
            var staleInMs = Math.Max(lockTimeoutMs - (reply.NowMs - holder.LockTimeMs), 1);
            var waitFor = TimeSpan.FromMilliseconds(Math.Min(remaining.TotalMilliseconds, staleInMs));
            await waiter.WaitAsync(waitFor, _time, cancellationToken).ConfigureAwait(false);
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        }
    }

    /// <summary>
    /// Every caller of any process on this node that starts waiting for a held lock, from the moment the
    /// subscription to the contention channel is in place until <paramref name="cancellationToken"/> is
    /// cancelled (the enumeration then ends without an exception and the subscription is removed). Pub/sub is
    /// at most once: announcements published while the connection is down are lost (StackExchange.Redis
    /// subscribes again when it reconnects), and a watcher <see cref="WatcherCapacity"/> announcements behind
    /// loses the oldest. Throws <see cref="SessionStoreUnavailableException"/> when the subscription fails.
    /// </summary>
    public async IAsyncEnumerable<LockContention> WatchContentionAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var queue = Channel.CreateBounded<LockContention>(new BoundedChannelOptions(WatcherCapacity)
        {
            FullMode = BoundedChannelFullMode.DropOldest,
            SingleReader = true,
            SingleWriter = false,
        });
        _watchers.TryAdd(queue, true);
        var subscriber = _connection.GetSubscriber();
        var channel = _layout.ContentionChannel;
        Action<RedisChannel, RedisValue> handler = (_, message) =>
        {
            if (ContentionMessage.TryDecode(((ReadOnlyMemory<byte>)message).Span, out var contention))
            {
                queue.Writer.TryWrite(contention);
            }
            else
            {
                RedisStoreLog.MalformedContention(_logger, _options.NodeId);
            }
        };

        try
        {
            if (!await SubscribeWatchAsync(subscriber, channel, handler, cancellationToken).ConfigureAwait(false))
            {
                yield break;
            }

            var reader = queue.Reader;
            while (await WaitToReadAsync(reader, cancellationToken).ConfigureAwait(false))
            {
                while (reader.TryRead(out var contention))
                {
                    yield return contention;
                }
            }
        }
        finally
        {
            _watchers.TryRemove(queue, out _);

            // Only this watcher's handler: another watcher of the store keeps the subscription.
            if (Volatile.Read(ref _disposed) == 0)
            {
                try
                {
                    await subscriber.UnsubscribeAsync(channel, handler, CommandFlags.FireAndForget).ConfigureAwait(false);
                }
                catch (Exception e) when (e is RedisException or TimeoutException)
                {
                    // The connection is down: the subscription is gone with it.
                }
            }
        }
    }

    /// <summary>Subscribes one watcher; false when the caller cancelled first.</summary>
    private async Task<bool> SubscribeWatchAsync(ISubscriber subscriber, RedisChannel channel, Action<RedisChannel, RedisValue> handler, CancellationToken cancellationToken)
    {
        try
        {
            await subscriber.SubscribeAsync(channel, handler).WaitAsync(cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return false;
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            throw Unavailable("watch-contention", e);
        }
    }

    private static async ValueTask<bool> WaitToReadAsync(ChannelReader<LockContention> reader, CancellationToken cancellationToken)
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

    /// <summary>Publishes an announcement without waiting for it (best effort: a failure only loses it).</summary>
    private void AnnounceContention(SessionKey key, long holderLockId)
    {
        if (holderLockId <= 0 || ContentionMessage.Encode(new LockContention(key, holderLockId)) is not { } message)
        {
            return;
        }

        try
        {
            _connection.GetSubscriber().Publish(_layout.ContentionChannel, message, CommandFlags.FireAndForget);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            RedisStoreLog.ContentionNotPublished(_logger, _options.NodeId, e.Message);
        }
    }

    private async Task EnsureSubscribedAsync(string application)
    {
        var subscription = _subscriptions.GetOrAdd(application, app => new Lazy<Task>(() => SubscribeAsync(app)));
        try
        {
            await subscription.Value.ConfigureAwait(false);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            // Let the next waiter subscribe again.
            _subscriptions.TryRemove(new KeyValuePair<string, Lazy<Task>>(application, subscription));
            throw Unavailable("subscribe", e);
        }
    }

    private Task SubscribeAsync(string application) =>
        _connection.GetSubscriber().SubscribeAsync(
            _layout.ChannelOf(application),
            (_, message) =>
            {
                if (!message.IsNullOrEmpty)
                {
                    _waiters.Notify(new SessionKey(application, message.ToString()));
                }
            });

    private async ValueTask<ScriptReply> RunAsync(SessionScript script, RedisKey key, RedisValue[] arguments)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        RedisKey[] keys = [key];
        RedisResult result;
        try
        {
            try
            {
                result = await _database.ScriptEvaluateAsync(script.Hash, keys, arguments).ConfigureAwait(false);
            }
            catch (RedisServerException e) when (e.Kind == RedisErrorKind.NoScript)
            {
                // The server lost its script cache (restart, failover, SCRIPT FLUSH): send the text once,
                // which caches it again for the next EVALSHA.
                RedisStoreLog.ScriptReloaded(_logger, _options.NodeId, script.Name);
                result = await _database.ScriptEvaluateAsync(script.Text, keys, arguments).ConfigureAwait(false);
            }
        }
        catch (RedisServerException e) when (e.Kind == RedisErrorKind.OutOfMemory)
        {
            RedisStoreLog.OutOfMemory(_logger, _options.NodeId, script.Name);
            return ScriptReply.CapacityExceeded;
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            throw Unavailable(script.Name, e);
        }

        try
        {
            return ScriptReply.Parse(result);
        }
        catch (Exception e) when (e is InvalidDataException or InvalidCastException)
        {
            throw Unavailable(script.Name, e);
        }
    }

    private SessionReadResult ToLockResult(ScriptReply reply)
    {
        _metrics.Operation("get-exclusive", reply.Status);
        switch (reply.Status)
        {
            case StoreStatus.Ok:
                if (reply.TookOver)
                {
                    _metrics.Takeover();
                }

                return new SessionReadResult(StoreStatus.Ok, reply.ToItem(), reply.Header!.Value.LockAt(reply.NowMs), reply.TookOver);
            case StoreStatus.NotFound:
                return SessionReadResult.NotFound;
            case StoreStatus.Locked:
                return new SessionReadResult(StoreStatus.Locked, null, reply.Header!.Value.LockAt(reply.NowMs));
            default:
                return new SessionReadResult(reply.Status, null, default);
        }
    }

    private SessionWriteResult ToWriteResult(string operation, ScriptReply reply)
    {
        _metrics.Operation(operation, reply.Status);
        if (reply.Header is not { } header)
        {
            return new SessionWriteResult(reply.Status);
        }

        return reply.Status switch
        {
            StoreStatus.Locked or StoreStatus.LockMismatch => new SessionWriteResult(reply.Status, 0, header.LockAt(reply.NowMs)),
            StoreStatus.AlreadyExists => new SessionWriteResult(reply.Status, header.Version, header.LockAt(reply.NowMs)),
            _ => new SessionWriteResult(reply.Status, header.Version),
        };
    }

    private SessionStoreUnavailableException Unavailable(string operation, Exception error)
    {
        _metrics.Failure(operation);
        RedisStoreLog.OperationFailed(_logger, _options.NodeId, operation, error);
        return new SessionStoreUnavailableException($"Redis node '{_options.NodeId}' is unavailable ({operation}): {error.Message}", error)
        {
            NodeId = _options.NodeId,
        };
    }

    private async Task PreloadScriptsAsync()
    {
        foreach (var server in _connection.GetServers())
        {
            if (!server.IsConnected || server.IsReplica)
            {
                continue;
            }

            try
            {
                foreach (var script in SessionScripts.All)
                {
                    await server.ScriptLoadAsync(script.Text).ConfigureAwait(false);
                }
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                RedisStoreLog.PreloadFailed(_logger, _options.NodeId, server.EndPoint, e);
            }
        }
    }

    private void OnConnectionFailed(object? sender, ConnectionFailedEventArgs e)
    {
        if (e.ConnectionType == ConnectionType.Interactive)
        {
            RedisStoreLog.ConnectionFailed(_logger, _options.NodeId, e.EndPoint, e.FailureType, e.Exception);
        }
    }

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e)
    {
        RedisStoreLog.ConnectionRestored(_logger, _options.NodeId, e.EndPoint);
        if (e.ConnectionType == ConnectionType.Subscription)
        {
            // Releases published while the subscription was down are lost: let every waiter look again.
            _waiters.NotifyAll();
        }
    }

    private static ConfigurationOptions BuildConfiguration(RedisStoreOptions options)
    {
        var configuration = ConfigurationOptions.Parse(options.ConnectionString);
        configuration.AbortOnConnectFail = false;
        configuration.ConnectTimeout = (int)options.ConnectTimeout.TotalMilliseconds;
        configuration.SyncTimeout = (int)options.OperationTimeout.TotalMilliseconds;
        configuration.AsyncTimeout = (int)options.OperationTimeout.TotalMilliseconds;
        configuration.ClientName ??= "SessionRouter";
        if (options.TlsCaPath is not null)
        {
            configuration.CertificateValidation += TrustedAuthority.Load(Path.GetFullPath(options.TlsCaPath)).Validate;
        }
        if (options.FailFastWhenDisconnected)
        {
            configuration.BacklogPolicy = BacklogPolicy.FailFast;
        }

        return configuration;
    }

    private string ChannelName(string application) =>
        _channelNames.TryGetValue(application, out var name)
            ? name
            : _channelNames.GetOrAdd(application, static (app, layout) => layout.ChannelOf(app).ToString(), _layout);

    /// <summary>A lock id or a version as the scripts keep it: 8 big-endian bytes (Lua's numbers are doubles, exact only to 2^53).</summary>
    private static RedisValue Int64Value(long value)
    {
        var bytes = new byte[8];
        BinaryPrimitives.WriteInt64BigEndian(bytes, value);
        return bytes;
    }

    private static long ToMilliseconds(TimeSpan value, long fallbackMs)
    {
        if (value <= TimeSpan.Zero)
        {
            return fallbackMs;
        }

        return Math.Clamp((long)Math.Ceiling(value.TotalMilliseconds), 1, MaxTimeoutMs);
    }
}
