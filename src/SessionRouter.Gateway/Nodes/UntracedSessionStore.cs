using System.Diagnostics;
using SessionRouter.Core.Storage;

namespace SessionRouter.Gateway.Nodes;

/// <summary>
/// Calls an engine node's store with no ambient <see cref="Activity"/>. ASP.NET Core starts an Activity
/// for every request whenever logging is on, and with one current HttpClient's diagnostics handler starts a
/// child Activity, sets its tags and injects a <c>traceparent</c> header into each engine call: two per
/// read-write request, about 5% of the gateway's CPU in the profile of docs/performance.md. The engine calls
/// are the gateway's own plumbing, not hops of the user's trace; the request forwarded to the site keeps
/// its trace context.
/// </summary>
/// <remarks>
/// Clearing <see cref="Activity.Current"/> before the call and restoring it once the call has returned its
/// (possibly unfinished) task scopes the change to the store call: the store's async method captured the
/// cleared context at its first await, the caller continues with its own.
/// </remarks>
internal sealed class UntracedSessionStore(ISessionStore inner) : ISessionStore
{
    public ISessionStore Inner { get; } = inner;

    public ValueTask<SessionReadResult> GetAsync(SessionKey key, CancellationToken cancellationToken = default)
        => Call(static (store, a) => store.GetAsync(a.key, a.cancellationToken), (key, cancellationToken));

    public ValueTask<SessionReadResult> GetExclusiveAsync(SessionKey key, LockRequest request, CancellationToken cancellationToken = default)
        => Call(static (store, a) => store.GetExclusiveAsync(a.key, a.request, a.cancellationToken), (key, request, cancellationToken));

    public ValueTask<SessionWriteResult> SetAsync(SessionKey key, SessionWrite write, CancellationToken cancellationToken = default)
        => Call(static (store, a) => store.SetAsync(a.key, a.write, a.cancellationToken), (key, write, cancellationToken));

    public ValueTask<SessionWriteResult> ReleaseAsync(SessionKey key, long lockId, CancellationToken cancellationToken = default)
        => Call(static (store, a) => store.ReleaseAsync(a.key, a.lockId, a.cancellationToken), (key, lockId, cancellationToken));

    public ValueTask<SessionWriteResult> RemoveAsync(SessionKey key, long? lockId, CancellationToken cancellationToken = default)
        => Call(static (store, a) => store.RemoveAsync(a.key, a.lockId, a.cancellationToken), (key, lockId, cancellationToken));

    public ValueTask<SessionWriteResult> TouchAsync(SessionKey key, CancellationToken cancellationToken = default)
        => Call(static (store, a) => store.TouchAsync(a.key, a.cancellationToken), (key, cancellationToken));

    public ValueTask<SessionWriteResult> CreateUninitializedAsync(SessionKey key, TimeSpan timeout, CancellationToken cancellationToken = default)
        => Call(static (store, a) => store.CreateUninitializedAsync(a.key, a.timeout, a.cancellationToken), (key, timeout, cancellationToken));

    private ValueTask<TResult> Call<TArgs, TResult>(Func<ISessionStore, TArgs, ValueTask<TResult>> call, TArgs args)
    {
        var ambient = Activity.Current;
        if (ambient is null)
        {
            return call(Inner, args);
        }

        Activity.Current = null;
        try
        {
            return call(Inner, args);
        }
        finally
        {
            Activity.Current = ambient;
        }
    }
}
