using SessionRouter.Core.Storage;

namespace SessionRouter.Redis.Locking;

/// <summary>
/// The callers of this process that wait for a session's lock, per session and in arrival order, with a
/// per-session limit. A release notification (pub/sub) wakes the first waiter that is not already
/// awake; that waiter tries again, and if another caller won the race it waits again at the head.
/// </summary>
internal sealed class LockWaitRegistry(int maxWaitersPerSession)
{
    private readonly Dictionary<SessionKey, LinkedList<LockWaiter>> _sessions = [];
    private readonly Lock _gate = new();

    /// <summary>Joins the session's queue, or returns null when it already holds the maximum number of waiters.</summary>
    public LockWaiter? TryEnter(SessionKey key)
    {
        lock (_gate)
        {
            if (!_sessions.TryGetValue(key, out var queue))
            {
                if (maxWaitersPerSession == 0)
                {
                    return null;
                }

                queue = new LinkedList<LockWaiter>();
                _sessions.Add(key, queue);
            }
            else if (queue.Count >= maxWaitersPerSession)
            {
                return null;
            }

            var waiter = new LockWaiter(key, this);
            waiter.Node = queue.AddLast(waiter);
            return waiter;
        }
    }

    /// <summary>How many callers wait for <paramref name="key"/> now (diagnostics and tests).</summary>
    public int CountOf(SessionKey key)
    {
        lock (_gate)
        {
            return _sessions.TryGetValue(key, out var queue) ? queue.Count : 0;
        }
    }

    /// <summary>The session's lock was released or the session removed: wake the first waiter not already awake.</summary>
    public void Notify(SessionKey key)
    {
        lock (_gate)
        {
            if (!_sessions.TryGetValue(key, out var queue))
            {
                return;
            }

            foreach (var waiter in queue)
            {
                if (waiter.TryWake())
                {
                    return;
                }
            }
        }
    }

    /// <summary>Wakes every waiter (the connection came back: notifications may have been lost meanwhile).</summary>
    public void NotifyAll()
    {
        lock (_gate)
        {
            foreach (var queue in _sessions.Values)
            {
                foreach (var waiter in queue)
                {
                    waiter.TryWake();
                }
            }
        }
    }

    internal void Leave(LockWaiter waiter)
    {
        lock (_gate)
        {
            if (waiter.Node is not { List: { } queue } node)
            {
                return;
            }

            queue.Remove(node);
            waiter.Node = null;
            if (queue.Count == 0)
            {
                _sessions.Remove(waiter.Key);
            }
        }
    }

    internal Lock Gate => _gate;
}

/// <summary>One caller waiting for a session's lock. Dispose leaves the queue.</summary>
internal sealed class LockWaiter(SessionKey key, LockWaitRegistry registry) : IDisposable
{
    private TaskCompletionSource _signal = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public SessionKey Key { get; } = key;

    internal LinkedListNode<LockWaiter>? Node { get; set; }

    /// <summary>Prepares a fresh signal before an attempt, so a notification during the attempt is kept.</summary>
    public void Arm()
    {
        lock (registry.Gate)
        {
            if (_signal.Task.IsCompleted)
            {
                _signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }
    }

    /// <summary>Waits for a notification; false when <paramref name="timeout"/> passed first.</summary>
    public async Task<bool> WaitAsync(TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        Task signal;
        lock (registry.Gate)
        {
            signal = _signal.Task;
        }

        try
        {
            await signal.WaitAsync(timeout, time, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    /// <summary>Completes the armed signal; false when it was already completed (the waiter is awake).</summary>
    internal bool TryWake() => _signal.TrySetResult();

    public void Dispose() => registry.Leave(this);
}
