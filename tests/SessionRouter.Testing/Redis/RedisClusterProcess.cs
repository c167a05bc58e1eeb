using System.Diagnostics;
using System.Globalization;

namespace SessionRouter.Testing.Redis;

/// <summary>
/// A real Redis Cluster of three masters (no replicas) on free loopback ports, each a
/// <see cref="RedisServerProcess"/> with <c>--cluster-enabled yes</c>, its own cluster config file in its
/// own temporary directory and <c>--cluster-node-timeout 2000</c>, joined with
/// <c>redis-cli --cluster create</c>. <see cref="StartAsync"/> completes once every node reports
/// <c>cluster_state:ok</c>; <see cref="DisposeAsync"/> stops every node and deletes the directories.
/// </summary>
public sealed class RedisClusterProcess : IAsyncDisposable
{
    private static readonly TimeSpan ClusterReadyTimeout = TimeSpan.FromSeconds(30);
    private const int MasterCount = 3;

    private RedisClusterProcess(IReadOnlyList<RedisServerProcess> nodes)
    {
        Nodes = nodes;
    }

    /// <summary>The masters, in the order given to <c>redis-cli --cluster create</c>.</summary>
    public IReadOnlyList<RedisServerProcess> Nodes { get; }

    /// <summary>The nodes' ports.</summary>
    public IReadOnlyList<int> Ports => Nodes.Select(n => n.Port).ToArray();

    /// <summary>A StackExchange.Redis connection string naming every master: <c>127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3</c>.</summary>
    public string ConnectionString => string.Join(',', Nodes.Select(n => n.ConnectionString));

    /// <summary>Starts three cluster-enabled servers, creates the cluster and waits until it serves every slot.</summary>
    public static async Task<RedisClusterProcess> StartAsync(CancellationToken cancellationToken = default)
    {
        var redisCli = RedisServerProcess.FindExecutable("redis-cli");
        var nodes = new List<RedisServerProcess>(MasterCount);
        try
        {
            for (var i = 0; i < MasterCount; i++)
            {
                nodes.Add(await RedisServerProcess.StartAsync(
                    ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "2000"],
                    cancellationToken));
            }

            var cluster = new RedisClusterProcess(nodes);
            await cluster.CreateAsync(redisCli, cancellationToken);
            await cluster.WaitUntilReadyAsync(cancellationToken);
            return cluster;
        }
        catch
        {
            foreach (var node in nodes)
            {
                await node.DisposeAsync();
            }

            throw;
        }
    }

    /// <summary>Completes once every running node reports <c>cluster_state:ok</c>; throws after 30 s.</summary>
    public async Task WaitUntilReadyAsync(CancellationToken cancellationToken = default)
    {
        var deadline = Stopwatch.StartNew();
        string? lastState = null;
        while (deadline.Elapsed < ClusterReadyTimeout)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var ready = true;
            foreach (var node in Nodes.Where(n => n.IsRunning))
            {
                try
                {
                    lastState = await RespProbe.SendAsync(node.Port, TimeSpan.FromSeconds(2), "CLUSTER", "INFO");
                }
                catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or OperationCanceledException)
                {
                    lastState = e.Message;
                }

                if (lastState is null || !lastState.Contains("cluster_state:ok", StringComparison.Ordinal))
                {
                    ready = false;
                    break;
                }
            }

            if (ready)
            {
                return;
            }

            await Task.Delay(50, cancellationToken);
        }

        throw new RedisProcessException($"The Redis cluster {ConnectionString} did not reach cluster_state:ok within {ClusterReadyTimeout.TotalSeconds} s. Last CLUSTER INFO: {lastState}");
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var node in Nodes)
        {
            await node.DisposeAsync();
        }
    }

    public override string ToString() => $"redis cluster {ConnectionString}";

    private async Task CreateAsync(string redisCli, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(redisCli)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        start.ArgumentList.Add("--cluster");
        start.ArgumentList.Add("create");
        foreach (var node in Nodes)
        {
            start.ArgumentList.Add(node.ConnectionString);
        }

        start.ArgumentList.Add("--cluster-replicas");
        start.ArgumentList.Add("0");
        start.ArgumentList.Add("--cluster-yes");

        using var process = Process.Start(start) ?? throw new InvalidOperationException("redis-cli could not be started.");
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(ClusterReadyTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new RedisProcessException($"redis-cli --cluster create {ConnectionString} did not finish within {ClusterReadyTimeout.TotalSeconds} s.");
        }

        if (process.ExitCode != 0)
        {
            var stdout = await output;
            var stderr = await error;
            throw new RedisProcessException(string.Create(CultureInfo.InvariantCulture,
                $"redis-cli --cluster create {ConnectionString} failed with exit code {process.ExitCode}: {stdout} {stderr}"));
        }
    }
}
