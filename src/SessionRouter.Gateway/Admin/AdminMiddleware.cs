using System.Buffers.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;
using SessionRouter.Core.Configuration;
using SessionRouter.Core.Partitioning;
using SessionRouter.Gateway.Configuration;
using SessionRouter.Gateway.Nodes;

namespace SessionRouter.Gateway.Admin;

/// <summary>
/// The admin endpoints under <c>SessionRouter:Admin:PathPrefix</c> (default <c>/_sessionrouter</c>):
/// <c>status</c> (configuration revision, nodes with health, when each was last probed, share of the key space
/// and last error) and
/// <c>where/{sessionId}</c> (the session's preference list). Loopback clients only unless
/// <c>Admin:AllowRemote</c>; others get 404 as if the path did not exist.
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

    public AdminMiddleware(RequestDelegate next, GatewaySnapshotProvider snapshots, IGatewayNodeHealth health, KeySpaceShares shares)
    {
        _next = next;
        _snapshots = snapshots;
        _health = health;
        _shares = shares;
    }

    public Task InvokeAsync(HttpContext context)
    {
        var admin = _snapshots.Current.Options.Admin;
        if (!admin.Enabled || !context.Request.Path.StartsWithSegments(admin.PathPrefix, StringComparison.OrdinalIgnoreCase, out var rest))
        {
            return _next(context);
        }

        if (!admin.AllowRemote && !IsLoopback(context))
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        }

        if (!HttpMethods.IsGet(context.Request.Method))
        {
            context.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            return Task.CompletedTask;
        }

        var path = rest.Value ?? "";
        if (path is "" or "/" or "/status")
        {
            return context.Response.WriteAsJsonAsync(BuildStatus(), Json);
        }

        if (path.StartsWith("/where/", StringComparison.Ordinal))
        {
            return WriteWhereAsync(context, path["/where/".Length..]);
        }

        context.Response.StatusCode = StatusCodes.Status404NotFound;
        return Task.CompletedTask;
    }

    private static bool IsLoopback(HttpContext context)
    {
        var remote = context.Connection.RemoteIpAddress;
        return remote is null || System.Net.IPAddress.IsLoopback(remote);
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
            nodes,
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

        // The node a request of the session goes to now: the gateway's own choice.
        var served = snapshot.Resolver.FirstHealthy(sessionId, _health);
        var servedBy = served < 0 ? null : snapshot.Nodes[served].Id;

        return context.Response.WriteAsJsonAsync(new AdminWhere(sessionId, snapshot.Revision, servedBy, list), Json);
    }
}

internal sealed record AdminStatus(
    long Revision,
    DateTimeOffset AppliedAt,
    string ApplicationName,
    SessionMode DefaultSessionMode,
    NoHealthyNodeBehavior WhenNoHealthyNode,
    IReadOnlyList<AdminNodeStatus> Nodes,
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

internal sealed record AdminWhere(string SessionId, long Revision, string? ServedBy, IReadOnlyList<AdminWhereEntry> PreferenceList);

internal sealed record AdminWhereEntry(int Position, string NodeId, bool Healthy);
