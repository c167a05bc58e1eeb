using System.Text;
using SessionRouter.Core.Storage;
using SessionRouter.StateServer.Protocol;

namespace SessionRouter.StateServer.Client;

/// <summary>
/// One store operation queued for the next batch. Completed (on the thread pool, never inline in the
/// batch's read loop) with the engine's answer, with the batch's failure, or cancelled by its caller
/// while it waits.
/// </summary>
internal sealed class PendingOperation : TaskCompletionSource<BatchAnswer>
{
    private const int Queued = 0;
    private const int Taken = 1;
    private const int Cancelled = 2;

    private CancellationTokenRegistration _cancellation;
    private int _state;

    public PendingOperation(BatchOperation operation, SessionKey key, int applicationBytes, int idBytes)
        : base(TaskCreationOptions.RunContinuationsAsynchronously)
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

    public long ExpectedVersion { get; set; }

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
                    if (Interlocked.CompareExchange(ref operation._state, Cancelled, Queued) == Queued)
                    {
                        operation.TrySetCanceled(token);
                    }
                },
                this);
        }
    }

    /// <summary>Claims the operation for a batch; false when its caller cancelled it first.</summary>
    public bool TryTake() => Interlocked.CompareExchange(ref _state, Taken, Queued) == Queued;

    public int Encode(Span<byte> destination)
    {
        Span<byte> application = stackalloc byte[ApplicationBytes];
        Span<byte> id = stackalloc byte[IdBytes];
        Encoding.UTF8.GetBytes(Key.Application, application);
        Encoding.UTF8.GetBytes(Key.SessionId, id);
        return BatchCodec.WriteRequest(
            destination,
            Operation,
            Flags,
            application,
            id,
            TimeoutMinutes,
            LockId,
            ExpectedVersion,
            LockTimeoutMilliseconds,
            Data.Span);
    }

    public void Complete(BatchAnswer answer)
    {
        _cancellation.Dispose();
        TrySetResult(answer);
    }

    public void Fail(Exception error)
    {
        _cancellation.Dispose();
        TrySetException(error);
    }
}
