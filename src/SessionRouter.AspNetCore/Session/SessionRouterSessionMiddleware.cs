using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Session;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SessionRouter.AspNetCore.Configuration;
using SessionRouter.AspNetCore.Diagnostics;

namespace SessionRouter.AspNetCore.Session;

/// <summary>
/// Installs <c>HttpContext.Session</c> from the gateway's request headers and hands changes back in the
/// response headers. Stands where <c>UseSession()</c> stood.
/// </summary>
internal sealed class SessionRouterSessionMiddleware
{
    private static readonly Func<object, Task> WriteHeadersOnStarting = static state =>
    {
        ((RoutedSession)state).WriteResponseHeaders();
        return Task.CompletedTask;
    };

    private readonly RequestDelegate _next;
    private readonly SessionRequestVerifier _verifier;
    private readonly SessionRouterSessionOptions _options;
    private readonly ILogger _logger;
    private readonly SessionRouterSiteMetrics _metrics;

    public SessionRouterSessionMiddleware(
        RequestDelegate next,
        SessionRequestVerifier verifier,
        IOptions<SessionRouterSessionOptions> options,
        ILogger<SessionRouterSessionMiddleware> logger,
        SessionRouterSiteMetrics metrics)
    {
        _next = next;
        _verifier = verifier;
        _options = options.Value;
        _logger = logger;
        _metrics = metrics;
    }

    public async Task InvokeAsync(HttpContext context)
    {
        var request = _verifier.Read(context.Request.Headers);
        switch (request.Status)
        {
            case SessionRouterRequestStatus.Unverified when _options.RejectInvalidRequests:
                _metrics.RequestRead(request.Status, rejected: true);
                Log.RequestRejected(_logger, context.Request.Method, context.Request.Path, request.FailureReason!);
                context.Response.StatusCode = StatusCodes.Status403Forbidden;
                context.Response.ContentType = "text/plain; charset=utf-8";
                await context.Response.WriteAsync("403 Forbidden: this request's SessionRouter headers are not validly signed by the gateway.\n", context.RequestAborted).ConfigureAwait(false);
                return;
            case SessionRouterRequestStatus.Unverified:
                Log.RequestUnverified(_logger, context.Request.Method, context.Request.Path, request.FailureReason!);
                break;
            case SessionRouterRequestStatus.NodeUnavailable:
                if (_logger.IsEnabled(LogLevel.Debug))
                {
                    // The path becomes a string only when the line is written.
                    var path = context.Request.Path.ToString();
                    Log.NodeUnavailable(_logger, context.Request.Method, path);
                }

                break;
        }

        _metrics.RequestRead(request.Status, rejected: false);
        var session = new RoutedSession(request, context.Response, _options.MaxStateBytes, _logger, _metrics);
        context.Features.Set<ISessionFeature>(new SessionFeature { Session = session });
        context.Features.Set<ISessionRouterFeature>(session);
        if (request.Status == SessionRouterRequestStatus.Verified)
        {
            context.Response.OnStarting(WriteHeadersOnStarting, session);
        }

        await _next(context).ConfigureAwait(false);

        if (request.Status == SessionRouterRequestStatus.Verified && !context.Response.HasStarted)
        {
            // The response has no body yet (or never will): commit here so an oversized state surfaces as an
            // ordinary exception of this request rather than inside the server's response-start callback.
            await session.CommitAsync(context.RequestAborted).ConfigureAwait(false);
        }
    }
}
