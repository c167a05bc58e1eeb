using Microsoft.Extensions.Diagnostics.HealthChecks;
using SessionRouter.StateServer.Storage;

namespace SessionRouter.StateServer.Operations;

/// <summary>
/// The node's health as ASP.NET Core health checks report it: Healthy below the memory warning level,
/// Degraded past it or once a new session was refused at the cap. Never Unhealthy: a full node still serves
/// and writes every session it holds, and a gateway that took it out would lose those sessions' state.
/// </summary>
internal sealed class MemoryHealthCheck(InMemorySessionStore store) : IHealthCheck
{
    public const string Name = "memory";

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var statistics = store.GetStatistics();
        var cap = store.Options.MemoryCapBytes;
        var data = new Dictionary<string, object>(StringComparer.Ordinal)
        {
            ["sessions"] = statistics.ActiveSessions,
            ["bytes"] = statistics.BytesHeld,
            ["memoryCapBytes"] = cap,
            ["memoryWarningBytes"] = store.MemoryWarningBytes,
            ["memoryLevel"] = store.MemoryLevel.ToString(),
            ["refusedCapacity"] = statistics.RefusedCapacity,
        };

        var result = store.MemoryLevel switch
        {
            StoreMemoryLevel.Full => HealthCheckResult.Degraded($"The memory cap of {cap} bytes is reached: new sessions are refused, stored sessions are served.", data: data),
            StoreMemoryLevel.Warning => HealthCheckResult.Degraded($"{statistics.BytesHeld} of {cap} bytes held, past the warning level of {store.MemoryWarningBytes} bytes.", data: data),
            _ => HealthCheckResult.Healthy(cap > 0 ? $"{statistics.BytesHeld} of {cap} bytes held." : $"{statistics.BytesHeld} bytes held, no memory cap.", data),
        };
        return Task.FromResult(result);
    }
}
