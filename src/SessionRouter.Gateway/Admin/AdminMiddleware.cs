using System.Buffers.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using SessionRouter.Core.Configuration;
using SessionRouter.Core.Health;
using SessionRouter.Core.Partitioning;
using SessionRouter.Gateway.Configuration;
using SessionRouter.Gateway.Diagnostics;
using SessionRouter.Gateway.Nodes;

namespace SessionRouter.Gateway.Admin;

/// <summary>
/// The admin endpoints under <c>SessionRouter:Admin:PathPrefix</c> (default <c>/_sessionrouter</c>):
/// <c>status</c> (configuration revision, overall health, nodes with health, when each was last probed, share of the
/// key space and last error, recent health transitions and reloads), <c>where/{sessionId}</c> (the session's
/// preference list), <c>health</c> (ASP.NET Core health status from the nodes' health), <c>metrics</c> (Prometheus),
/// <c>reports</c> (each engine node's own sessions and memory) and <c>ui/</c> (the status page that reads them).
/// Loopback callers only unless <c>Admin:AllowRemote</c>, or remote callers with <c>Admin:AccessKey</c>
/// (<see cref="AdminAccess"/>); others get 404 as if the path did not exist, or a login prompt when a key is set.
/// </summary>
internal sealed class AdminMiddleware
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter() },
    };

    private readonly RequestDelegate _next;
    private readonly GatewaySnapshotProvider _snapshots;
    private readonly IGatewayNodeHealth _health;
    private readonly KeySpaceShares _shares;
    private readonly StateNodesHealthCheck _healthCheck;
    private readonly NodeReports _reports;
    private readonly StatusPageFiles _page;
    private readonly PrometheusScrape _scrape;

    public AdminMiddleware(
        RequestDelegate next,
        GatewaySnapshotProvider snapshots,
        IGatewayNodeHealth health,
        KeySpaceShares shares,
        StateNodesHealthCheck healthCheck,
        NodeReports reports,
        StatusPageFiles page,
        PrometheusScrape scrape)
    {
        _next = next;
        _snapshots = snapshots;
        _health = health;
        _shares = shares;
        _healthCheck = healthCheck;
        _reports = reports;
        _page = page;
        _scrape = scrape;
    }

    public Task InvokeAsync(HttpContext context)
    {
        var admin = _snapshots.Current.Options.Admin;
        if (!admin.Enabled || !context.Request.Path.StartsWithSegments(admin.PathPrefix, StringComparison.OrdinalIgnoreCase, out var rest))
        {
            return _next(context);
        }

        switch (AdminAccess.Check(context, admin))
        {
            case AdminAccessVerdict.Hidden:
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return Task.CompletedTask;
            case AdminAccessVerdict.Challenge:
                context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                context.Response.Headers.WWWAuthenticate = AdminAccess.Challenge;
                return Task.CompletedTask;
        }

        if (!HttpMethods.IsGet(context.Request.Method))
        {
            context.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            return Task.CompletedTask;
        }

        context.Response.Headers.CacheControl = "no-store";
        var path = rest.Value ?? "";
        switch (path)
        {
            case "" or "/" or "/status":
                return context.Response.WriteAsJsonAsync(BuildStatus(), Json);
            case "/health":
                return WriteHealthAsync(context);
            case "/reports":
                return WriteReportsAsync(context);
            case "/metrics" when _scrape.Endpoint is { } scrape:
                return scrape(context);
            case "/ui":
                // The page's files are addressed relative to the page: it must be opened at ui/.
                context.Response.Redirect(context.Request.PathBase + admin.PathPrefix + "/ui/");
                return Task.CompletedTask;
        }

        if (path.StartsWith("/where/", StringComparison.Ordinal))
        {
            return WriteWhereAsync(context, path["/where/".Length..]);
        }

        if (path.StartsWith("/ui/", StringComparison.Ordinal) && _page.TryWrite(context.Response, path["/ui/".Length..], out var written))
        {
            return written;
        }

        context.Response.StatusCode = StatusCodes.Status404NotFound;
        return Task.CompletedTask;
    }

    private Task WriteHealthAsync(HttpContext context)
    {
        var result = _healthCheck.Evaluate();
        context.Response.StatusCode = result.Status == HealthStatus.Unhealthy ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status200OK;
        return context.Response.WriteAsJsonAsync(
            new AdminHealth(result.Status, result.Description, new Dictionary<string, AdminHealthCheck>(StringComparer.Ordinal)
            {
                [StateNodesHealthCheck.Name] = new AdminHealthCheck(result.Status, result.Description, result.Data),
            }),
            Json);
    }

    private async Task WriteReportsAsync(HttpContext context)
    {
        var snapshot = _snapshots.Current;
        var reports = await _reports.GetAsync(snapshot).ConfigureAwait(false);
        await context.Response.WriteAsJsonAsync(new AdminReports(snapshot.Revision, reports), Json).ConfigureAwait(false);
    }

    private AdminStatus BuildStatus()
    {
        var snapshot = _snapshots.Current;
        var shares = _shares.Get(snapshot);
        var nodes = new List<AdminNodeStatus>(snapshot.Nodes.Length);
        for (var i = 0; i < snapshot.Nodes.Length; i++)
        {
            var node = snapshot.Nodes[i];
            var health = _health.GetStatus(node.Id);
            nodes.Add(new AdminNodeStatus(
                node.Id,
                node.Options.Engine,
                StateNodeKinds.Describe(node.Options),
                node.Options.Weight,
                health.Healthy,
                health.State,
                health.Since,
                shares[i],
                health.LastError ?? node.LastError,
                node.LastErrorAt,
                health.LastProbe));
        }

        var options = snapshot.Options;
        return new AdminStatus(
            snapshot.Revision,
            snapshot.AppliedAt,
            options.ApplicationName,
            options.DefaultSessionMode,
            options.WhenNoHealthyNode,
            _healthCheck.Evaluate().Status,
            nodes,
            _health.GetRecentTransitions(),
            _snapshots.Reloads.Count,
            _snapshots.Reloads.Recent());
    }

    private Task WriteWhereAsync(HttpContext context, string sessionId)
    {
        if (sessionId.Length != Cookies.SessionCookieCodec.IdLength || !Base64Url.IsValid(sessionId))
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            return context.Response.WriteAsJsonAsync(new { error = "A session id is 22 base64url characters (128 bits)." }, Json);
        }

        var snapshot = _snapshots.Current;
        var order = new int[snapshot.Nodes.Length];
        var count = snapshot.Resolver.GetPreferenceList(sessionId, order);
        var list = new List<AdminWhereEntry>(count);
        for (var position = 0; position < count; position++)
        {
            var node = snapshot.Nodes[order[position]];
            list.Add(new AdminWhereEntry(position, node.Id, _health.IsHealthy(node.Id)));
        }

        // The node a request of the session asks first now: the gateway's own choice. With a replication factor
        // above 1 the session lives on its replica set (the head of the list, whatever its health), a majority of
        // which answers every request.
        var served = snapshot.Resolver.FirstHealthy(sessionId, _health);
        var servedBy = served < 0 ? null : snapshot.Nodes[served].Id;
        var replicationFactor = Math.Min(snapshot.Options.ReplicationFactor, count);
        var replicas = list.Take(replicationFactor).Select(entry => entry.NodeId).ToArray();

        return context.Response.WriteAsJsonAsync(new AdminWhere(sessionId, snapshot.Revision, servedBy, replicas, (replicationFactor / 2) + 1, list), Json);
    }
}

internal sealed record AdminStatus(
    long Revision,
    DateTimeOffset AppliedAt,
    string ApplicationName,
    SessionMode DefaultSessionMode,
    NoHealthyNodeBehavior WhenNoHealthyNode,
    HealthStatus Health,
    IReadOnlyList<AdminNodeStatus> Nodes,
    IReadOnlyList<NodeHealthTransition> Transitions,
    long ReloadCount,
    IReadOnlyList<ReloadOutcome> Reloads);

internal sealed record AdminNodeStatus(
    string Id,
    StateNodeEngine Engine,
    string Address,
    double Weight,
    bool Healthy,
    string State,
    DateTimeOffset? Since,
    double KeySpaceShare,
    string? LastError,
    DateTimeOffset? LastErrorAt,
    DateTimeOffset? LastProbe);

internal sealed record AdminWhere(string SessionId, long Revision, string? ServedBy, IReadOnlyList<string> Replicas, int Majority, IReadOnlyList<AdminWhereEntry> PreferenceList);

internal sealed record AdminWhereEntry(int Position, string NodeId, bool Healthy);

internal sealed record AdminHealth(HealthStatus Status, string? Description, IReadOnlyDictionary<string, AdminHealthCheck> Checks);

internal sealed record AdminHealthCheck(HealthStatus Status, string? Description, IReadOnlyDictionary<string, object> Data);

internal sealed record AdminReports(long Revision, IReadOnlyList<AdminNodeReport> Nodes);
