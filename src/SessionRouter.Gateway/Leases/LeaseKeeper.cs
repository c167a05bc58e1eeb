using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SessionRouter.Gateway.Configuration;
using SessionRouter.Gateway.Diagnostics;
using SessionRouter.Gateway.Nodes;

namespace SessionRouter.Gateway.Leases;

/// <summary>
/// Keeps the <see cref="LeaseTable"/> honest while leases are on: watches every node of the map for callers waiting
/// for a lock (the revocation channel; a broken watch is set up again), gives up leases that expired or belong to a
/// replaced map, and at shutdown gives up every lease, so other gateways need not wait for them to expire.
/// </summary>
internal sealed class LeaseKeeper(
    LeaseTable leases,
    GatewaySnapshotProvider snapshots,
    ILogger<LeaseKeeper> logger,
    TimeProvider time) : BackgroundService
{
    private static readonly TimeSpan MaxSweepInterval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan RewatchDelay = TimeSpan.FromSeconds(1);

    private readonly Dictionary<StateNodeHandle, CancellationTokenSource> _watches = [];

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        var ended = await leases.EndAllAsync().ConfigureAwait(false);
        if (ended > 0)
        {
            GatewayLog.LeasesEndedAtShutdown(logger, ended);
        }
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) => RunAsync(stoppingToken);

    private async Task RunAsync(CancellationToken stopping)
    {
        try
        {
            while (!stopping.IsCancellationRequested)
            {
                var snapshot = snapshots.Current;
                var settings = snapshot.Options.Leases;
                UpdateWatches(settings.Enabled ? snapshot : null, stopping);
                await leases.SweepAsync(time.GetTimestamp(), snapshot.Revision).ConfigureAwait(false);
                var interval = settings.Time / 4 < MaxSweepInterval ? settings.Time / 4 : MaxSweepInterval;
                await Task.Delay(interval, time, stopping).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
        finally
        {
            UpdateWatches(null, CancellationToken.None);
        }
    }

    /// <summary>Watches every node of <paramref name="snapshot"/> (and its replaced maps) that announces contention; stops watching the others.</summary>
    private void UpdateWatches(GatewaySnapshot? snapshot, CancellationToken stopping)
    {
        var wanted = new HashSet<StateNodeHandle>();
        if (snapshot is not null)
        {
            foreach (var node in snapshot.HeldNodes)
            {
                if (node.Contention is not null)
                {
                    wanted.Add(node);
                }
            }
        }

        foreach (var (node, watch) in _watches.ToArray())
        {
            if (!wanted.Contains(node))
            {
                watch.Cancel();
                watch.Dispose();
                _watches.Remove(node);
            }
        }

        foreach (var node in wanted)
        {
            if (!_watches.ContainsKey(node))
            {
                var watch = CancellationTokenSource.CreateLinkedTokenSource(stopping);
                _watches.Add(node, watch);
                _ = WatchAsync(node, watch.Token);
            }
        }
    }

    private async Task WatchAsync(StateNodeHandle node, CancellationToken cancellationToken)
    {
        var failing = false;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await foreach (var contention in node.Contention!.WatchContentionAsync(cancellationToken).ConfigureAwait(false))
                {
                    if (failing)
                    {
                        failing = false;
                        GatewayLog.ContentionWatchRestored(logger, node.Id);
                    }

                    leases.OnContention(contention);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // A broken watch is set up again; until then leases on the node end when they expire.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                if (!failing)
                {
                    failing = true;
                    GatewayLog.ContentionWatchFailed(logger, node.Id, ex.Message);
                }
            }

            try
            {
                await Task.Delay(RewatchDelay, time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
