using Yarp.ReverseProxy.Transforms.Builder;

namespace SessionRouter.Gateway.Pipeline;

/// <summary>
/// Adds the session response transform to every route and checks each route's <c>Session</c>
/// metadata when YARP loads its configuration (a bad value refuses the route configuration, naming it).
/// </summary>
internal sealed class SessionTransformProvider(SessionResponseTransform transform) : ITransformProvider
{
    public void ValidateRoute(TransformRouteValidationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var metadata = context.Route.Metadata;
        if (metadata is not null && metadata.TryGetValue(RouteSessionMode.MetadataKey, out var value) && !RouteSessionMode.TryParse(value, out _))
        {
            context.Errors.Add(new ArgumentException(
                $"ReverseProxy:Routes:{context.Route.RouteId}:Metadata:{RouteSessionMode.MetadataKey} must be ReadWrite, ReadOnly or None (got '{value}')."));
        }
    }

    public void ValidateCluster(TransformClusterValidationContext context)
    {
    }

    public void Apply(TransformBuilderContext context)
    {
        ArgumentNullException.ThrowIfNull(context);

        // On every route, also those without session: no contract header may reach a client.
        context.ResponseTransforms.Add(transform);
    }
}
