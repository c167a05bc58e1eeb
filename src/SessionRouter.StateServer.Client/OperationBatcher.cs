using SessionRouter.StateServer.Wire;

namespace SessionRouter.StateServer.Client;

/// <summary>
/// Bounds the requests a client has outstanding at one node and coalesces what arrives beyond that
/// bound into batches: while fewer than the bound are in flight an operation goes out at once as its
/// own request; otherwise it queues, and whichever request completes first sends everything queued as
/// one batch in its place. Under light load nothing waits; under heavy load the per-request cost of
/// HTTP (client and engine) is paid once per batch instead of once per operation.
/// </summary>
/// <remarks>
/// Only requests that cannot park hold a slot: a lock wait is sent outside the bound, so sessions that
/// wait for each other never hold up the rest of the node's traffic.
/// </remarks>
internal sealed class OperationBatcher
{
    /// <summary>The most bytes of records one batch carries.</summary>
    public const int MaxBatchBytes = 256 * 1024;

    /// <summary>Items larger than this are sent as requests of their own (they gain nothing from sharing one).</summary>
    public const int MaxBatchedItemBytes = 16 * 1024;

    /// <summary>Application names longer than this (UTF-8) are sent as requests of their own.</summary>
    public const int MaxBatchedApplicationBytes = 1024;

    private readonly object _gate = new();
    private readonly Queue<PendingOperation> _queue = new();
    private readonly int _maxInFlight;
    private readonly Func<List<PendingOperation>, Task> _sendBatch;
    private int _inFlight;
    private bool _closed;
    private long _batches;
    private long _batchedOperations;
    private long _direct;

    public OperationBatcher(int maxInFlight, Func<List<PendingOperation>, Task> sendBatch)
    {
        _maxInFlight = maxInFlight;
        _sendBatch = sendBatch;
    }

    /// <summary>Requests currently holding a slot (direct requests and batches).</summary>
    public int InFlight
    {
        get
        {
            lock (_gate)
            {
                return _inFlight;
            }
        }
    }

    /// <summary>Batches sent, operations they carried, and requests sent alone in a slot, since the start.</summary>
    public (long Batches, long BatchedOperations, long Direct) Counts
    {
        get
        {
            lock (_gate)
            {
                return (_batches, _batchedOperations, _direct);
            }
        }
    }

    /// <summary>Takes a slot for a request of its own when one is free and nothing is queued; the caller then calls <see cref="Exit"/>.</summary>
    public bool TryEnter()
    {
        lock (_gate)
        {
            if (_inFlight < _maxInFlight && _queue.Count == 0 && !_closed)
            {
                _inFlight++;
                _direct++;
                return true;
            }

            return false;
        }
    }

    /// <summary>Queues an operation; it is sent in a batch as soon as a slot frees (at once if one is free).</summary>
    public void Enqueue(PendingOperation operation)
    {
        List<PendingOperation>? batch = null;
        bool closed;
        lock (_gate)
        {
            closed = _closed;
            if (!closed)
            {
                _queue.Enqueue(operation);
                if (_inFlight < _maxInFlight)
                {
                    batch = TakeBatch();
                    if (batch is not null)
                    {
                        _inFlight++;
                    }
                }
            }
        }

        if (closed)
        {
            operation.Fail(new ObjectDisposedException(nameof(StateServerClient)));
        }
        else if (batch is not null)
        {
            _ = _sendBatch(batch);
        }
    }

    /// <summary>Gives back a slot, or hands it straight to a batch of what queued meanwhile.</summary>
    public void Exit()
    {
        List<PendingOperation>? batch;
        lock (_gate)
        {
            batch = _closed ? null : TakeBatch();
            if (batch is null)
            {
                _inFlight--;
            }
        }

        if (batch is not null)
        {
            _ = _sendBatch(batch);
        }
    }

    /// <summary>Fails everything still queued; later operations fail at once.</summary>
    public void Close()
    {
        PendingOperation[] abandoned;
        lock (_gate)
        {
            _closed = true;
            abandoned = _queue.ToArray();
            _queue.Clear();
        }

        foreach (var operation in abandoned)
        {
            operation.TryTake();
            operation.Fail(new ObjectDisposedException(nameof(StateServerClient)));
        }
    }

    private List<PendingOperation>? TakeBatch()
    {
        List<PendingOperation>? batch = null;
        var bytes = BatchCodec.PreambleBytes;
        while (_queue.TryPeek(out var next))
        {
            var size = next.EncodedSize;
            if (batch is not null && (batch.Count == BatchCodec.MaxOperations || bytes + size > MaxBatchBytes))
            {
                break;
            }

            _queue.Dequeue();
            if (!next.TryTake())
            {
                // Cancelled by its caller while it waited: it is never sent.
                continue;
            }

            if (batch is null)
            {
                batch = new List<PendingOperation>(Math.Min(_queue.Count + 1, BatchCodec.MaxOperations));
                _batches++;
            }

            _batchedOperations++;
            batch.Add(next);
            bytes += size;
        }

        return batch;
    }
}
