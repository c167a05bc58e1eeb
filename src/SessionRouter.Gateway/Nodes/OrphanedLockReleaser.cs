using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SessionRouter.Core.Diagnostics;
using SessionRouter.Core.Storage;
using SessionRouter.Gateway.Configuration;
using SessionRouter.Gateway.Diagnostics;

namespace SessionRouter.Gateway.Nodes;

/// <summary>
/// Releases the locks a node may grant after the gateway gave up on the reply: a lock-taking read that timed
/// out against a hung node can still be carried out when the node resumes, and its session would then stay
/// locked until the lock timeout. Every lock-taking read proposes its own lock id, so the gateway knows the id
/// of a lock it never heard of; this service tries to release it whenever the node is healthy, until the
/// release succeeds or the lock timeout has passed (the lock can then be taken over anyway).
/// </summary>
internal sealed class OrphanedLockReleaser(
    GatewaySnapshotProvider snapshots,
    IGatewayNodeHealth health,
    GatewayMetrics metrics,
    ILogger<OrphanedLockReleaser> logger,
    TimeProvider time) : IHostedService, IAsyncDisposable
{
    // One entry per lock-taking read that failed; a node that fails many requests at once adds many. Past this
    // the oldest are dropped: their locks expire with the lock timeout, as they did before this service.
    private const int MaxWatched = 10_000;

    private readonly Lock _gate = new();
    private readonly LinkedList<WatchedLock> _watched = new();
    private CancellationTokenSource? _stopping;
    private Task? _loop;

    /// <summary>Watches the lock <paramref name="lockId"/> that <paramref name="node"/> may grant on <paramref name="key"/> after a failed read.</summary>
    public void Watch(StateNodeHandle node, SessionKey key, long lockId, TimeSpan lockTimeout)
    {
        lock (_gate)
        {
            if (_watched.Count == MaxWatched)
            {
                _watched.RemoveFirst();
            }

            _watched.AddLast(new WatchedLock(node, key, lockId, time.GetUtcNow() + lockTimeout));
        }
    }

    /// <summary>How many locks are watched now.</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _watched.Count;
            }
        }
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _stopping = new CancellationTokenSource();
        _loop = RunAsync(_stopping.Token);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        // The host stops it and the container disposes it: whichever comes first does the work.
        var stopping = Interlocked.Exchange(ref _stopping, null);
        if (stopping is null)
        {
            return;
        }

        await stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            await _loop!.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            stopping.Dispose();
        }
    }

    public ValueTask DisposeAsync() => new(StopAsync(CancellationToken.None));

    private async Task RunAsync(CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(snapshots.Current.Options.HealthChecks.Interval, time, stopping).ConfigureAwait(false);
                await ReleaseRoundAsync(stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
        }
    }

    /// <summary>One attempt on every watched lock whose node is healthy now.</summary>
    internal async Task ReleaseRoundAsync(CancellationToken cancellationToken)
    {
        WatchedLock[] round;
        lock (_gate)
        {
            if (_watched.Count == 0)
            {
                return;
            }

            round = [.. _watched];
        }

        var now = time.GetUtcNow();
        foreach (var watched in round)
        {
            if (now > watched.Until)
            {
                Forget(watched);
                continue;
            }

            if (!health.IsHealthy(watched.Node.Id))
            {
                continue;
            }

            try
            {
                var released = await watched.Node.Store.ReleaseAsync(watched.Key, watched.LockId, cancellationToken).ConfigureAwait(false);
                if (released.Status == StoreStatus.Ok)
                {
                    Forget(watched);
                    metrics.OrphanedLockReleased();
                    GatewayLog.OrphanedLockReleased(logger, SessionIdText.Redact(watched.Key.SessionId), watched.Node.Id);
                }

                // Otherwise the node has not granted it (yet), or it is gone: try again next round until the lock timeout.
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
#pragma warning disable CA1031 // The node failed again (its store recorded it); the next round tries again.
            catch (Exception)
#pragma warning restore CA1031
            {
            }
        }
    }

    private void Forget(WatchedLock watched)
    {
        lock (_gate)
        {
            _watched.Remove(watched);
        }
    }

    private sealed record WatchedLock(StateNodeHandle Node, SessionKey Key, long LockId, DateTimeOffset Until);
}
