using SessionRouter.Core.Storage;

namespace SessionRouter.StateServer.Storage;

/// <summary>
/// One caller parked for a session's lock. It is completed by whoever releases the lock (the lock is
/// handed over directly, so nobody can barge in), or told to look again when the item disappears.
/// </summary>
internal sealed class LockWaiter
{
    private readonly TaskCompletionSource<bool> _signal = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public LockWaiter(LockRequest request) => Request = request;

    public LockRequest Request { get; }

    public LockWaiter? Next { get; set; }

    /// <summary>Set (under the shard lock) when the lock was handed to this waiter.</summary>
    public SessionReadResult? Granted { get; private set; }

    /// <summary>Set (under the shard lock) when the item was removed or expired: the caller evaluates again.</summary>
    public bool MustRetry { get; private set; }

    public bool IsQueued { get; set; }

    public Task Signal => _signal.Task;

    public void Grant(SessionReadResult result)
    {
        Granted = result;
        _signal.TrySetResult(true);
    }

    public void Retry()
    {
        MustRetry = true;
        _signal.TrySetResult(false);
    }
}

/// <summary>The FIFO of callers waiting for one session's lock (an intrusive list; allocated only while someone waits).</summary>
internal sealed class LockWaiterQueue
{
    private LockWaiter? _head;
    private LockWaiter? _tail;

    public int Count { get; private set; }

    public LockWaiter? Head => _head;

    public void Enqueue(LockWaiter waiter)
    {
        waiter.Next = null;
        waiter.IsQueued = true;
        if (_tail is null)
        {
            _head = waiter;
        }
        else
        {
            _tail.Next = waiter;
        }

        _tail = waiter;
        Count++;
    }

    public LockWaiter? Dequeue()
    {
        var waiter = _head;
        if (waiter is null)
        {
            return null;
        }

        _head = waiter.Next;
        if (_head is null)
        {
            _tail = null;
        }

        waiter.Next = null;
        waiter.IsQueued = false;
        Count--;
        return waiter;
    }

    public void Remove(LockWaiter waiter)
    {
        LockWaiter? previous = null;
        for (var current = _head; current is not null; previous = current, current = current.Next)
        {
            if (!ReferenceEquals(current, waiter))
            {
                continue;
            }

            if (previous is null)
            {
                _head = current.Next;
            }
            else
            {
                previous.Next = current.Next;
            }

            if (ReferenceEquals(_tail, current))
            {
                _tail = previous;
            }

            current.Next = null;
            current.IsQueued = false;
            Count--;
            return;
        }
    }
}
