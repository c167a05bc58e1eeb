using Microsoft.AspNetCore.Http;
using SessionRouter.AspNetCore.Session;

// In the ASP.NET Core namespace so that the call is found where UseSession() is.
namespace Microsoft.AspNetCore.Builder;

/// <summary>Adds the SessionRouter session middleware to the pipeline.</summary>
public static class SessionRouterSessionApplicationBuilderExtensions
{
    /// <summary>
    /// The replacement of <c>UseSession()</c>: place it where <c>UseSession()</c> was, before anything that
    /// reads <c>HttpContext.Session</c>. Requires <c>services.AddSessionRouterSession()</c>.
    /// </summary>
    public static IApplicationBuilder UseSessionRouterSession(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        return app.UseMiddleware<SessionRouterSessionMiddleware>();
    }
}
