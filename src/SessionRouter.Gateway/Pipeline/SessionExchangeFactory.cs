using Microsoft.Extensions.Logging;
using SessionRouter.Core.Configuration;
using SessionRouter.Gateway.Configuration;
using SessionRouter.Gateway.Cookies;
using SessionRouter.Gateway.Diagnostics;
using SessionRouter.Gateway.Leases;
using SessionRouter.Gateway.Nodes;

namespace SessionRouter.Gateway.Pipeline;

/// <summary>
/// Starts a <see cref="SessionExchange"/> for each session request and holds what every exchange shares:
/// the configuration in force, the cookie codec, node health, metrics, the log and the clock.
/// </summary>
internal sealed class SessionExchangeFactory(
    GatewaySnapshotProvider snapshots,
    SessionCookieCodec cookies,
    IGatewayNodeHealth health,
    GatewayMetrics metrics,
    ILogger<SessionExchange> logger,
    TimeProvider time,
    OrphanedLockReleaser orphanedLocks,
    LeaseTable leases)
{
    /// <summary>The sessions this gateway holds under a lease (used while <c>Leases:Enabled</c>).</summary>
    public LeaseTable Leases { get; } = leases;

    public OrphanedLockReleaser OrphanedLocks { get; } = orphanedLocks;

    public SessionCookieCodec Cookies { get; } = cookies;

    public IGatewayNodeHealth Health { get; } = health;

    public GatewayMetrics Metrics { get; } = metrics;

    public ILogger Logger { get; } = logger;

    public TimeProvider Time { get; } = time;

    /// <summary>The session mode the request's route asks for.</summary>
    public SessionMode ModeOf(Microsoft.AspNetCore.Http.HttpContext context)
        => RouteSessionMode.Resolve(context, snapshots.Current.Options.DefaultSessionMode);

    /// <summary>Starts the exchange of one request under the configuration in force; the caller must end it (<see cref="SessionExchange.EndAsync"/>).</summary>
    public SessionExchange Start(SessionMode mode) => new(this, snapshots.Acquire(), mode);
}
