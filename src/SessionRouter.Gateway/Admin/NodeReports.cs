using System.Net;
using System.Text.Json;
using SessionRouter.Core.Configuration;
using SessionRouter.Gateway.Configuration;
using SessionRouter.Gateway.Nodes;
using SessionRouter.StateServer.Wire;

namespace SessionRouter.Gateway.Admin;

/// <summary>
/// What each built-in engine node says about itself on its <c>/health</c> endpoint (sessions, bytes held, memory
/// cap and warning level, its health status), read when the status page asks and kept for a second so that
/// several open pages cost the nodes one read. Redis nodes are not asked: Redis reports its memory through its
/// own tools (INFO memory).
/// </summary>
internal sealed class NodeReports : IDisposable
{
    private static readonly TimeSpan KeptFor = TimeSpan.FromSeconds(1);

    private readonly HttpClient _http = new(new SocketsHttpHandler
    {
        PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
        ConnectTimeout = TimeSpan.FromSeconds(5),

        // Reads for an operator's page: never part of a traced request.
        ActivityHeadersPropagator = null,
    })
    { Timeout = Timeout.InfiniteTimeSpan };

    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private Task<AdminNodeReport[]>? _last;
    private long _lastRevision;
    private DateTimeOffset _lastAt;

    public NodeReports(TimeProvider time) => _time = time;

    public Task<AdminNodeReport[]> GetAsync(GatewaySnapshot snapshot)
    {
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            if (_last is null || _lastRevision != snapshot.Revision || now - _lastAt >= KeptFor)
            {
                _last = ReadAllAsync(snapshot);
                _lastRevision = snapshot.Revision;
                _lastAt = now;
            }

            return _last;
        }
    }

    private async Task<AdminNodeReport[]> ReadAllAsync(GatewaySnapshot snapshot)
    {
        var timeout = snapshot.Options.HealthChecks.Timeout;
        var reads = new Task<AdminNodeReport>[snapshot.Nodes.Length];
        for (var i = 0; i < reads.Length; i++)
        {
            reads[i] = ReadAsync(snapshot.Nodes[i].Options, timeout);
        }

        return await Task.WhenAll(reads).ConfigureAwait(false);
    }

    private async Task<AdminNodeReport> ReadAsync(StateNodeOptions node, TimeSpan timeout)
    {
        if (node.Engine != StateNodeEngine.Builtin || string.IsNullOrEmpty(node.Address))
        {
            return new AdminNodeReport(node.Id, false, null, null, null, null, null, null, "Redis reports its memory through INFO memory.");
        }

        using var request = new HttpRequestMessage(HttpMethod.Get, node.Address.TrimEnd('/') + StateProtocol.HealthPath)
        {
            Version = node.Http2 ? HttpVersion.Version20 : HttpVersion.Version11,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        if (!string.IsNullOrEmpty(node.AccessKey))
        {
            request.Headers.TryAddWithoutValidation(StateProtocol.AccessKey, node.AccessKey);
        }

        using var deadline = new CancellationTokenSource(timeout, _time);
        try
        {
            using var response = await _http.SendAsync(request, deadline.Token).ConfigureAwait(false);
            var body = await response.Content.ReadAsByteArrayAsync(deadline.Token).ConfigureAwait(false);
            using var json = JsonDocument.Parse(body);
            var root = json.RootElement;
            return new AdminNodeReport(
                node.Id,
                true,
                root.TryGetProperty("status", out var status) ? status.GetString() : null,
                Number(root, "sessions"),
                Number(root, "bytes"),
                Number(root, "memoryCapBytes"),
                Number(root, "memoryWarningBytes"),
                root.TryGetProperty("memoryLevel", out var level) ? level.GetString() : null,
                null);
        }
        catch (Exception error) when (error is HttpRequestException or OperationCanceledException or JsonException or InvalidOperationException)
        {
            var reason = error is OperationCanceledException ? $"no answer within {timeout.TotalMilliseconds:0} ms" : error.Message;
            return new AdminNodeReport(node.Id, false, null, null, null, null, null, null, reason);
        }
    }

    private static long? Number(JsonElement root, string name)
        => root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var number) ? number : null;

    public void Dispose() => _http.Dispose();
}

/// <summary>One node's own figures; <paramref name="Reported"/> false with <paramref name="Note"/> saying why when it gave none.</summary>
internal sealed record AdminNodeReport(
    string Id,
    bool Reported,
    string? Status,
    long? Sessions,
    long? Bytes,
    long? MemoryCapBytes,
    long? MemoryWarningBytes,
    string? MemoryLevel,
    string? Note);
