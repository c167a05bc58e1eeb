using Microsoft.AspNetCore.Http;
using SessionRouter.Core.Configuration;
using Yarp.ReverseProxy.Model;

namespace SessionRouter.Gateway.Pipeline;

/// <summary>Reads a route's session mode from its YARP Metadata entry <c>Session</c>.</summary>
internal static class RouteSessionMode
{
    public const string MetadataKey = "Session";

    public static SessionMode Resolve(HttpContext context, SessionMode defaultMode)
    {
        var metadata = context.Features.Get<IReverseProxyFeature>()?.Route.Config.Metadata;
        if (metadata is null || !metadata.TryGetValue(MetadataKey, out var value))
        {
            return defaultMode;
        }

        // Values were checked when the route was loaded (SessionTransformProvider.ValidateRoute).
        return TryParse(value, out var mode) ? mode : defaultMode;
    }

    public static bool TryParse(string? value, out SessionMode mode)
    {
        if (string.Equals(value, nameof(SessionMode.ReadWrite), StringComparison.OrdinalIgnoreCase))
        {
            mode = SessionMode.ReadWrite;
            return true;
        }

        if (string.Equals(value, nameof(SessionMode.ReadOnly), StringComparison.OrdinalIgnoreCase))
        {
            mode = SessionMode.ReadOnly;
            return true;
        }

        if (string.Equals(value, nameof(SessionMode.None), StringComparison.OrdinalIgnoreCase))
        {
            mode = SessionMode.None;
            return true;
        }

        mode = default;
        return false;
    }
}
