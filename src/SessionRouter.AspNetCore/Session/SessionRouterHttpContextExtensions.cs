using SessionRouter.AspNetCore.Session;

namespace Microsoft.AspNetCore.Http;

/// <summary>Session calls that <c>ISession</c> lacks.</summary>
public static class SessionRouterHttpContextExtensions
{
    /// <summary>
    /// Ends the current session, as classic ASP.NET's <c>Session.Abandon()</c>: the response carries the
    /// <c>SessionRouter-Abandon</c> marker, the gateway removes the stored state and expires the cookie.
    /// </summary>
    /// <exception cref="InvalidOperationException">
    /// The middleware is not installed, the session is unavailable or read-only, or the response has started.
    /// </exception>
    public static void AbandonSession(this HttpContext context) => context.GetSessionRouterFeature().Abandon();

    /// <summary>The SessionRouter feature of the request (status, mode, abandon).</summary>
    /// <exception cref="InvalidOperationException">UseSessionRouterSession() is not in the pipeline before this call.</exception>
    public static ISessionRouterFeature GetSessionRouterFeature(this HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.Features.Get<ISessionRouterFeature>()
            ?? throw new InvalidOperationException(
                "SessionRouter session is not configured for this request: call builder.Services.AddSessionRouterSession() and app.UseSessionRouterSession() before the endpoint.");
    }
}
