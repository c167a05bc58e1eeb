#pragma warning disable CA1507 // JSON keys of yarp.json, not member names.
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using SessionRouter.Gateway.Tests.Infrastructure;

namespace SessionRouter.Gateway.Tests.Chaos;

/// <summary>
/// The farm a chaos run works on: engine nodes as OS processes, two gateways (real Kestrel servers on loopback) that
/// share one yarp.json and one key ring, and two contract sites behind them. It edits the partition map the way an
/// operator does (the file; every gateway reloads it) and tells when every gateway sees every node healthy again.
/// </summary>
internal sealed class ChaosFarm : IAsyncDisposable
{
    private const int InitialNodes = 3;

    private readonly List<EngineNodeProcess> _map = [];
    private readonly List<(EngineNodeProcess Node, TimeSpan RemovedAt)> _drained = [];
    private readonly List<Uri> _gateways = [];
    private readonly HttpClient _admin = new() { Timeout = TimeSpan.FromSeconds(10) };
    private readonly PhaseBook _book;
    private GatewayFarm? _farm;
    private long _revision = 1;
    private int _nodesStarted;

    private ChaosFarm(PhaseBook book) => _book = book;

    /// <summary>The gateways' addresses; clients pick one per request.</summary>
    public IReadOnlyList<Uri> Gateways => _gateways;

    /// <summary>The nodes of the partition map in force, in the file's order.</summary>
    public IReadOnlyList<EngineNodeProcess> MapNodes => _map;

    public static async Task<ChaosFarm> StartAsync(PhaseBook book, int replicationFactor, bool leases, CancellationToken cancellationToken)
    {
        var farm = new ChaosFarm(book);
        try
        {
            var nodes = await Task.WhenAll(Enumerable.Range(0, InitialNodes).Select(_ => farm.StartNodeAsync(cancellationToken))).ConfigureAwait(false);
            farm._map.AddRange(nodes.OrderBy(n => n.Id, StringComparer.Ordinal));
            var options = new FarmOptions
            {
                Sites = 2,
                RealNodes = true,

                // GatewayFarm names them node-a, node-b, node-c in this order, as StartNodeAsync did.
                NodeAddresses = farm._map.Select(n => n.Address).ToList(),
                LockWaitTimeout = Format(ChaosSettings.LockWait),
                LockTimeout = Format(ChaosSettings.LockTimeout),

                // A probe or two lost to a busy machine must not mark a node down: only real faults should.
                ProbeTimeout = "00:00:02",
                FailuresToDown = 2,
                Edit = config =>
                {
                    var section = config["SessionRouter"]!.AsObject();
                    section["ReplicationFactor"] = replicationFactor;
                    section["IdleTimeout"] = Format(ChaosSettings.IdleTimeout);
                    section["HealthChecks"]!["SuccessesToUp"] = 2;
                    
                    // No backoff after a revocation: sessions switching gateway at random are leased again every time.
                    section["Leases"] = new JsonObject { ["Enabled"] = leases, ["Time"] = Format(ChaosSettings.LeaseTime), ["ContentionBackoff"] = "00:00:00" };
                },
            };
            farm._farm = await GatewayFarm.StartAsync(options).ConfigureAwait(false);
            farm._gateways.Add(farm._farm.Address);
            farm._gateways.Add(await farm._farm.StartAnotherGatewayAsync(options).ConfigureAwait(false));
            book.Note($"started nodes {string.Join(", ", farm._map.Select(Describe))}; gateways {string.Join(", ", farm._gateways)}; R = {replicationFactor}; leases {(leases ? "on" : "off")}");
            await farm.WaitUntilSettledAsync(cancellationToken).ConfigureAwait(false);
            return farm;
        }
        catch
        {
            await farm.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Starts a new engine process and adds it to the map; returns once every gateway applied the edit.</summary>
    public async Task<EngineNodeProcess> AddNodeAsync(CancellationToken cancellationToken)
    {
        var node = await StartNodeAsync(cancellationToken).ConfigureAwait(false);
        _book.Note($"started {Describe(node)}");
        _map.Add(node);
        await EditMapAsync(
            nodes => nodes.Add(new JsonObject { ["Id"] = node.Id, ["Engine"] = "Builtin", ["Address"] = node.Address }),
            $"added {node.Id} to the map",
            cancellationToken).ConfigureAwait(false);
        return node;
    }

    /// <summary>
    /// Removes <paramref name="node"/> from the map; returns once every gateway applied the edit. Its process keeps
    /// running: the gateways drain it, reading the sessions it held, until the handover ends with the idle timeout.
    /// </summary>
    public async Task RemoveNodeAsync(EngineNodeProcess node, CancellationToken cancellationToken)
    {
        _map.Remove(node);
        _drained.Add((node, _book.Elapsed));
        await EditMapAsync(
            nodes => nodes.Remove(nodes.Single(n => (string?)n!["Id"] == node.Id)),
            $"removed {node.Id} from the map (its process stays up while it is drained)",
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Stops the processes of removed nodes whose handover has ended (long runs would pile them up otherwise).</summary>
    public async Task StopDrainedNodesAsync()
    {
        var margin = TimeSpan.FromSeconds(30);
        foreach (var drained in _drained.Where(d => _book.Elapsed > d.RemovedAt + ChaosSettings.IdleTimeout + margin).ToList())
        {
            _drained.Remove(drained);
            await drained.Node.DisposeAsync().ConfigureAwait(false);
            _book.Note($"stopped {drained.Node.Id}: its handover has ended");
        }
    }

    /// <summary>
    /// Waits until every gateway runs the map in force and reports each of its nodes healthy, without a break for
    /// <see cref="ChaosSettings.SettledFor"/> (a node that flaps after its return is not settled yet).
    /// </summary>
    public async Task WaitUntilSettledAsync(CancellationToken cancellationToken)
    {
        var expected = _map.Select(n => n.Id).Order(StringComparer.Ordinal).ToArray();
        var bound = DateTime.UtcNow + ChaosSettings.SettleBound;
        DateTime? healthySince = null;
        var last = new List<string>();
        while (true)
        {
            var settled = true;
            last.Clear();
            foreach (var gateway in _gateways)
            {
                var view = await TryReadStatusAsync(gateway, cancellationToken).ConfigureAwait(false);
                last.Add(view?.ToString() ?? $"{gateway}: no status");
                settled &= view is not null
                    && view.Revision == _revision
                    && view.Healthy.Keys.Order(StringComparer.Ordinal).SequenceEqual(expected, StringComparer.Ordinal)
                    && view.Healthy.Values.All(healthy => healthy);
            }

            var now = DateTime.UtcNow;
            healthySince = settled ? healthySince ?? now : null;
            if (healthySince is { } since && now - since >= ChaosSettings.SettledFor)
            {
                _book.Note($"settled: both gateways see {string.Join(", ", expected)} healthy (revision {_revision})");
                return;
            }

            if (now > bound)
            {
                throw new TimeoutException($"the farm did not settle within {ChaosSettings.SettleBound.TotalSeconds} s (map {string.Join(", ", expected)}, revision {_revision}); last status: {string.Join("; ", last)}\n{NodeOutput()}");
            }

            await Task.Delay(200, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The recent output of every node process, for a failure message.</summary>
    public string NodeOutput() => string.Join('\n', _map.Concat(_drained.Select(d => d.Node)).Select(n => $"{n.Id} (pid {n.ProcessId}):\n{n.RecentOutput}"));

    public async ValueTask DisposeAsync()
    {
        // The gateways first, so that no request is left waiting on a node that is gone.
        if (_farm is not null)
        {
            await _farm.DisposeAsync().ConfigureAwait(false);
        }

        foreach (var node in _map.Concat(_drained.Select(d => d.Node)))
        {
            await node.DisposeAsync().ConfigureAwait(false);
        }

        _admin.Dispose();
    }

    private async Task<EngineNodeProcess> StartNodeAsync(CancellationToken cancellationToken)
    {
        var index = Interlocked.Increment(ref _nodesStarted) - 1;
        var id = index < 26 ? "node-" + (char)('a' + index) : string.Create(CultureInfo.InvariantCulture, $"node-{index}");
        return await EngineNodeProcess.StartAsync(id, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Edits <c>SessionRouter:Nodes</c> in yarp.json and waits until every gateway applied it.</summary>
    private async Task EditMapAsync(Action<JsonArray> edit, string what, CancellationToken cancellationToken)
    {
        var applied = await _farm!.EditConfigAsync(config => edit(config["SessionRouter"]!["Nodes"]!.AsArray())).ConfigureAwait(false);
        if (!applied)
        {
            throw new InvalidOperationException($"the gateway refused the edit that {what}");
        }

        _revision++;
        var bound = DateTime.UtcNow + ChaosSettings.SettleBound;
        foreach (var gateway in _gateways)
        {
            while ((await TryReadStatusAsync(gateway, cancellationToken).ConfigureAwait(false))?.Revision != _revision)
            {
                if (DateTime.UtcNow > bound)
                {
                    throw new TimeoutException($"gateway {gateway} did not apply revision {_revision} ({what}) within {ChaosSettings.SettleBound.TotalSeconds} s");
                }

                await Task.Delay(50, cancellationToken).ConfigureAwait(false);
            }
        }

        _book.Note($"{what}: both gateways run revision {_revision}");
    }

    /// <summary>A gateway's admin status, or null when it does not answer in time (a busy machine): the caller asks again.</summary>
    private async Task<GatewayView?> TryReadStatusAsync(Uri gateway, CancellationToken cancellationToken)
    {
        try
        {
            var text = await _admin.GetStringAsync(new Uri(gateway, "/_sessionrouter/status"), cancellationToken).ConfigureAwait(false);
            using var json = JsonDocument.Parse(text);
            var nodes = json.RootElement.GetProperty("nodes").EnumerateArray()
                .ToDictionary(n => n.GetProperty("id").GetString()!, n => n.GetProperty("healthy").GetBoolean(), StringComparer.Ordinal);
            return new GatewayView(gateway, json.RootElement.GetProperty("revision").GetInt64(), nodes);
        }
        catch (Exception error) when (error is HttpRequestException || (error is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return null;
        }
    }

    private static string Describe(EngineNodeProcess node) => $"{node.Id} (pid {node.ProcessId}, ports {node.Port}/{node.Http2Port})";

    private static string Format(TimeSpan value) => value.ToString("c", CultureInfo.InvariantCulture);

    private sealed record GatewayView(Uri Gateway, long Revision, Dictionary<string, bool> Healthy)
    {
        public override string ToString()
            => $"{Gateway}: revision {Revision}, {string.Join(", ", Healthy.Select(n => n.Key + (n.Value ? " up" : " down")))}";
    }
}
