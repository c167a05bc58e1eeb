using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using SessionRouter.AspNetCore.Configuration;
using SessionRouter.AspNetCore.Diagnostics;
using SessionRouter.AspNetCore.Session;

// In the DI namespace so that the call is found where AddSession() is.
namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers <c>HttpContext.Session</c> over the SessionRouter header contract.</summary>
public static class SessionRouterSessionServiceCollectionExtensions
{
    /// <summary>
    /// The replacement of <c>AddSession()</c> for a site behind the SessionRouter gateway. Binds the
    /// <c>SessionRouter</c> configuration section, then applies <paramref name="configure"/>; the options are
    /// validated when the host starts. Pair with <c>app.UseSessionRouterSession()</c>.
    /// </summary>
    public static IServiceCollection AddSessionRouterSession(this IServiceCollection services, Action<SessionRouterSessionOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);

        var options = services.AddOptions<SessionRouterSessionOptions>().BindConfiguration(SessionRouterSessionOptions.SectionName);
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SessionRouterSessionOptions>, SessionRouterSessionOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<KestrelServerOptions>, KestrelHeaderLimitsSetup>());

        services.AddMetrics();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<SessionRouterSiteMetrics>();
        services.TryAddSingleton<SessionRequestVerifier>();
        return services;
    }
}
