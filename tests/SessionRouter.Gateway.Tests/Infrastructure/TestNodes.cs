using System.Collections.Concurrent;
using SessionRouter.Core.Configuration;
using SessionRouter.Core.Health;
using SessionRouter.Core.Storage;
using SessionRouter.Gateway.Nodes;
using SessionRouter.StateServer.Storage;

namespace SessionRouter.Gateway.Tests.Infrastructure;

/// <summary>
/// For tests about the gateway's own logic: each node is the engine library's in-memory store behind a
/// switch that makes it fail like an unreachable node, and that counts calls.
/// </summary>
internal sealed class InMemoryNodeConnector : IStateNodeConnector
{
    public ConcurrentDictionary<string, SwitchableStore> Stores { get; } = new(StringComparer.Ordinal);

    public ConcurrentBag<string> Connected { get; } = [];

    public ValueTask<StateNodeConnection> ConnectAsync(StateNodeOptions node, SessionRouterOptions options, CancellationToken cancellationToken)
    {
        var store = Stores.GetOrAdd(node.Id, id => new SwitchableStore(id));
        Connected.Add(node.Id);
        return ValueTask.FromResult(new StateNodeConnection(store, store, store));
    }
}

internal sealed class SwitchableStore(string nodeId) : ISessionStore, ILockContentionSource, IStateNodeProbe, IAsyncDisposable
{
    private InMemorySessionStore _inner = NewInner();
    private int _calls;
    private bool _down;
    private bool _failWrites;
    private bool _muteContention;

    public string NodeId { get; } = nodeId;

    public InMemorySessionStore Inner => _inner;

    /// <summary>The node restarts: everything it held is gone (an in-memory engine after a crash or restart).</summary>
    public void RestartEmpty() => _inner = NewInner();

    private static InMemorySessionStore NewInner() => new(new InMemorySessionStoreOptions { MaxWaitersPerSession = 256 });

    /// <summary>When true every call throws <see cref="SessionStoreUnavailableException"/>.</summary>
    public bool Down { get => Volatile.Read(ref _down); set => Volatile.Write(ref _down, value); }

    /// <summary>When true only writes (set, remove) fail: the node dies between load and save.</summary>
    public bool FailWrites { get => Volatile.Read(ref _failWrites); set => Volatile.Write(ref _failWrites, value); }

    public int Calls => Volatile.Read(ref _calls);

    /// <summary>
    /// When true a lock-taking read that its caller could cancel takes the lock and then holds its reply until the
    /// caller cancels, and the reply is lost: the widest form of the race where a node grants a lock just as the
    /// caller gives up. A caller that cannot cancel gets its reply at once.
    /// </summary>
    public bool LoseLockRepliesOnCancel { get; set; }

    /// <summary>Completes when a lock-taking read was granted while <see cref="LoseLockRepliesOnCancel"/> was on.</summary>
    public TaskCompletionSource LockGranted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public int Disposed;

    private void Enter(bool write = false)
    {
        Interlocked.Increment(ref _calls);
        if (Down || (write && FailWrites))
        {
            throw new SessionStoreUnavailableException($"node {NodeId} is down (test switch)") { NodeId = NodeId };
        }
    }

    public ValueTask<SessionReadResult> GetAsync(SessionKey key, CancellationToken cancellationToken = default)
    {
        Enter();
        return _inner.GetAsync(key, cancellationToken);
    }

    /// <summary>
    /// When true a lock-taking read behaves like one sent to a hung node: its caller's attempt times out
    /// (<see cref="SessionStoreUnavailableException"/>) while the read waits in the node and is carried out by
    /// <see cref="ResumeAsync"/>, granting a lock whose reply nobody reads.
    /// </summary>
    public bool HangLockReads { get; set; }

    private readonly List<(SessionKey Key, LockRequest Request)> _hungLockReads = [];

    /// <summary>The hung node resumes: it carries out the lock-taking reads it held.</summary>
    public async Task<IReadOnlyList<SessionReadResult>> ResumeAsync()
    {
        HangLockReads = false;
        List<(SessionKey Key, LockRequest Request)> held;
        lock (_hungLockReads)
        {
            held = [.. _hungLockReads];
            _hungLockReads.Clear();
        }

        var results = new List<SessionReadResult>();
        foreach (var (key, request) in held)
        {
            results.Add(await _inner.GetExclusiveAsync(key, request with { WaitTimeout = TimeSpan.Zero }));
        }

        return results;
    }

    public ValueTask<SessionReadResult> GetExclusiveAsync(SessionKey key, LockRequest request, CancellationToken cancellationToken = default)
    {
        Enter();
        if (HangLockReads)
        {
            lock (_hungLockReads)
            {
                _hungLockReads.Add((key, request));
            }

            throw new SessionStoreUnavailableException($"node {NodeId} did not answer in time (test: hung)") { NodeId = NodeId };
        }

        return LoseLockRepliesOnCancel ? GrantThenLoseReplyOnCancelAsync(key, request, cancellationToken) : _inner.GetExclusiveAsync(key, request, cancellationToken);
    }

    private async ValueTask<SessionReadResult> GrantThenLoseReplyOnCancelAsync(SessionKey key, LockRequest request, CancellationToken cancellationToken)
    {
        var result = await _inner.GetExclusiveAsync(key, request, CancellationToken.None);
        LockGranted.TrySetResult();
        if (cancellationToken.CanBeCanceled)
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }

        return result;
    }

    public ValueTask<SessionWriteResult> SetAsync(SessionKey key, SessionWrite write, CancellationToken cancellationToken = default)
    {
        Enter(write: true);
        return _inner.SetAsync(key, write, cancellationToken);
    }

    public ValueTask<SessionWriteResult> ReleaseAsync(SessionKey key, long lockId, CancellationToken cancellationToken = default)
    {
        Enter();
        return _inner.ReleaseAsync(key, lockId, cancellationToken);
    }

    public ValueTask<SessionWriteResult> RemoveAsync(SessionKey key, long? lockId, CancellationToken cancellationToken = default)
    {
        Enter(write: true);
        return _inner.RemoveAsync(key, lockId, cancellationToken);
    }

    public ValueTask<SessionWriteResult> TouchAsync(SessionKey key, CancellationToken cancellationToken = default)
    {
        Enter();
        return _inner.TouchAsync(key, cancellationToken);
    }

    public ValueTask<SessionWriteResult> CreateUninitializedAsync(SessionKey key, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        Enter();
        return _inner.CreateUninitializedAsync(key, timeout, cancellationToken);
    }

    /// <summary>When true the node's announcements of waiting callers reach no watcher (a holder that is cut off or dead).</summary>
    public bool MuteContention { get => Volatile.Read(ref _muteContention); set => Volatile.Write(ref _muteContention, value); }

    public async IAsyncEnumerable<LockContention> WatchContentionAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // Not counted as a store call: tests count the calls of requests.
        if (Down)
        {
            throw new SessionStoreUnavailableException($"node {NodeId} is down (test switch)") { NodeId = NodeId };
        }

        // The store in force when the watch starts: one that restarts ends its watchers' streams with it in a real engine.
        await foreach (var contention in _inner.WatchContentionAsync(cancellationToken).ConfigureAwait(false))
        {
            if (Down)
            {
                throw new SessionStoreUnavailableException($"node {NodeId} is down (test switch)") { NodeId = NodeId };
            }

            if (!MuteContention)
            {
                yield return contention;
            }
        }
    }

    public ValueTask ProbeAsync(CancellationToken cancellationToken)
    {
        if (Down)
        {
            throw new SessionStoreUnavailableException($"node {NodeId} is down (test switch)");
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        Interlocked.Increment(ref Disposed);
        return ValueTask.CompletedTask;
    }
}
