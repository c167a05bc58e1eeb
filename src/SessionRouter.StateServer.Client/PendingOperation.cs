using System.Text;
using System.Threading.Tasks.Sources;
using SessionRouter.Core.Storage;
using SessionRouter.StateServer.Wire;

namespace SessionRouter.StateServer.Client;

/// <summary>
/// One store operation queued for the next batch. Settled exactly once: with the engine's answer, with
/// the batch's failure, or cancelled by its caller while it still waits in the queue.
/// </summary>
internal abstract class PendingOperation
{
    private const int Queued = 0;
    private const int Taken = 1;
    private const int Cancelled = 2;

    private CancellationTokenRegistration _cancellation;
    private int _state;
    private int _settled;

    protected PendingOperation(BatchOperation operation, SessionKey key, int applicationBytes, int idBytes)
    {
        Operation = operation;
        Key = key;
        ApplicationBytes = applicationBytes;
        IdBytes = idBytes;
    }

    public BatchOperation Operation { get; }

    public SessionKey Key { get; }

    /// <summary>UTF-8 length of the application name (bounded by the client before it queues the operation).</summary>
    public int ApplicationBytes { get; }

    /// <summary>UTF-8 length of the session id (bounded by the client before it queues the operation).</summary>
    public int IdBytes { get; }

    public BatchRequestFlags Flags { get; set; }

    public int TimeoutMinutes { get; set; }

    public long LockId { get; set; }

    /// <summary>The record's version field: the expected version or the writer's version of a set, as <see cref="Flags"/> say.</summary>
    public long Version { get; set; }

    public long LockTimeoutMilliseconds { get; set; }

    public ReadOnlyMemory<byte> Data { get; set; }

    /// <summary>Bytes of this operation's record in a batch body.</summary>
    public int EncodedSize => BatchCodec.RequestSize(ApplicationBytes, IdBytes, Data.Length);

    /// <summary>
    /// A caller that gives up while the operation still waits for its batch takes it out of the queue.
    /// Once the operation is taken into a batch it completes with the node's answer only: the batch may
    /// still read the caller's data, and an acquired lock must reach the caller to be released.
    /// </summary>
    public void CancelWith(CancellationToken cancellationToken)
    {
        if (cancellationToken.CanBeCanceled)
        {
            _cancellation = cancellationToken.UnsafeRegister(
                static (state, token) =>
                {
                    var operation = (PendingOperation)state!;
                    if (Interlocked.CompareExchange(ref operation._state, Cancelled, Queued) == Queued && operation.TrySettle())
                    {
                        operation.SetFailure(new OperationCanceledException(token));
                    }
                },
                this);
        }
    }

    /// <summary>Claims the operation for a batch; false when its caller cancelled it first.</summary>
    public bool TryTake() => Interlocked.CompareExchange(ref _state, Taken, Queued) == Queued;

    /// <summary>Writes this operation's batch record (the key is encoded straight into place); returns its length.</summary>
    public int Encode(Span<byte> destination)
    {
        BatchCodec.WriteRequestHeader(destination, Operation, Flags, ApplicationBytes, IdBytes, TimeoutMinutes, LockId, Version, LockTimeoutMilliseconds, Data.Length);
        var offset = BatchCodec.RequestHeaderBytes;
        offset += Encoding.UTF8.GetBytes(Key.Application, destination[offset..]);
        offset += Encoding.UTF8.GetBytes(Key.SessionId, destination[offset..]);
        Data.Span.CopyTo(destination[offset..]);
        return offset + Data.Length;
    }

    public void Complete(in BatchAnswer answer)
    {
        _cancellation.Dispose();
        if (TrySettle())
        {
            SetAnswer(answer);
        }
    }

    public void Fail(Exception error)
    {
        _cancellation.Dispose();
        if (TrySettle())
        {
            SetFailure(error);
        }
    }

    protected abstract void SetAnswer(in BatchAnswer answer);

    protected abstract void SetFailure(Exception error);

    private bool TrySettle() => Interlocked.Exchange(ref _settled, 1) == 0;
}

/// <summary>How a batch answer becomes the store call's result.</summary>
internal interface IAnswerConversion<TResult>
{
    static abstract TResult Convert(in BatchAnswer answer);
}

/// <summary>The answer of a get or exclusive get.</summary>
internal readonly struct ReadConversion : IAnswerConversion<SessionReadResult>
{
    public static SessionReadResult Convert(in BatchAnswer answer) => answer.ToRead();
}

/// <summary>The answer of a set, release, remove, touch or create.</summary>
internal readonly struct WriteConversion : IAnswerConversion<SessionWriteResult>
{
    public static SessionWriteResult Convert(in BatchAnswer answer) => answer.ToWrite();
}

/// <summary>
/// A queued operation that is its own awaitable: the caller awaits <see cref="Result"/> directly, with no
/// Task and no async frame in between. Continuations run on the thread pool, never inline in the
/// batch's read loop, so one caller's work never delays the rest of its batch.
/// </summary>
internal sealed class PendingOperation<TResult, TConversion> : PendingOperation, IValueTaskSource<TResult>
    where TConversion : IAnswerConversion<TResult>
{
    private ManualResetValueTaskSourceCore<TResult> _core = new() { RunContinuationsAsynchronously = true };

    public PendingOperation(BatchOperation operation, SessionKey key, int applicationBytes, int idBytes)
        : base(operation, key, applicationBytes, idBytes)
    {
    }

    /// <summary>The result to await, once.</summary>
    public ValueTask<TResult> Result => new(this, _core.Version);

    public TResult GetResult(short token) => _core.GetResult(token);

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);

    protected override void SetAnswer(in BatchAnswer answer) => _core.SetResult(TConversion.Convert(answer));

    protected override void SetFailure(Exception error) => _core.SetException(error);
}
