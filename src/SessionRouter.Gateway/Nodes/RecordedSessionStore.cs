using System.Runtime.CompilerServices;
using SessionRouter.Core.Storage;

namespace SessionRouter.Gateway.Nodes;

/// <summary>
/// A node's store as the gateway calls it: every call that answers reports the node healthy and is timed,
/// every call that fails is recorded against the node (<see cref="StoreCallRecorder"/>). A call the caller
/// cancelled is not the node's fault and is not recorded.
/// </summary>
internal sealed class RecordedSessionStore(ISessionStore inner, StateNodeHandle node, StoreCallRecorder recorder) : ISessionStore
{
    public ValueTask<SessionReadResult> GetAsync(SessionKey key, CancellationToken cancellationToken = default)
        => CallAsync(key, static (store, key, ct) => store.GetAsync(key, ct), StoreOperation.Read, cancellationToken);

    public ValueTask<SessionReadResult> GetExclusiveAsync(SessionKey key, LockRequest request, CancellationToken cancellationToken = default)
        => CallAsync((key, request), static (store, args, ct) => store.GetExclusiveAsync(args.key, args.request, ct), StoreOperation.Load, cancellationToken);

    public ValueTask<SessionWriteResult> SetAsync(SessionKey key, SessionWrite write, CancellationToken cancellationToken = default)
        => CallAsync((key, write), static (store, args, ct) => store.SetAsync(args.key, args.write, ct), StoreOperation.Save, cancellationToken);

    public ValueTask<SessionWriteResult> ReleaseAsync(SessionKey key, long lockId, CancellationToken cancellationToken = default)
        => CallAsync((key, lockId), static (store, args, ct) => store.ReleaseAsync(args.key, args.lockId, ct), StoreOperation.Release, cancellationToken);

    public ValueTask<SessionWriteResult> RemoveAsync(SessionKey key, long? lockId, CancellationToken cancellationToken = default)
        => CallAsync((key, lockId), static (store, args, ct) => store.RemoveAsync(args.key, args.lockId, ct), StoreOperation.Remove, cancellationToken);

    public ValueTask<SessionWriteResult> TouchAsync(SessionKey key, CancellationToken cancellationToken = default)
        => CallAsync(key, static (store, key, ct) => store.TouchAsync(key, ct), StoreOperation.Touch, cancellationToken);

    public ValueTask<SessionWriteResult> CreateUninitializedAsync(SessionKey key, TimeSpan timeout, CancellationToken cancellationToken = default)
        => CallAsync((key, timeout), static (store, args, ct) => store.CreateUninitializedAsync(args.key, args.timeout, ct), StoreOperation.Create, cancellationToken);

    // Static lambdas and value-tuple arguments: the decorator adds no allocation beyond its async frame.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<TResult> CallAsync<TArgs, TResult>(
        TArgs args,
        Func<ISessionStore, TArgs, CancellationToken, ValueTask<TResult>> call,
        string operation,
        CancellationToken cancellationToken)
    {
        var started = recorder.Starting();
        try
        {
            var result = await call(inner, args, cancellationToken).ConfigureAwait(false);
            recorder.Answered(node, started, operation);
            return result;
        }
        catch (Exception ex) when (!(ex is OperationCanceledException && cancellationToken.IsCancellationRequested))
        {
            recorder.Failed(node, ex);
            throw;
        }
    }
}

/// <summary>The <c>operation</c> tag of the gateway's store-call duration.</summary>
internal static class StoreOperation
{
    /// <summary>An exclusive read (takes the session's lock; includes any wait for it).</summary>
    public const string Load = "load";

    /// <summary>A read-only read.</summary>
    public const string Read = "read";

    public const string Save = "save";
    public const string Release = "release";
    public const string Remove = "remove";
    public const string Touch = "touch";
    public const string Create = "create";
}
