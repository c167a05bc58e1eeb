using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using SessionRouter.Core.Configuration;
using SessionRouter.Gateway.Diagnostics;

namespace SessionRouter.Gateway.Pipeline;

/// <summary>
/// The session half of the proxy pipeline, run after YARP matched a route and before it forwards: strips
/// client-sent contract headers, refuses a header the route's cluster could not forward, then runs the request inside its <see cref="SessionExchange"/> (begun here,
/// completed by <see cref="SessionResponseTransform"/> when the backend answers, ended here whatever happened).
/// </summary>
internal sealed class SessionMiddleware(RequestDelegate next, SessionExchangeFactory exchanges, GatewayMetrics metrics, ILogger<SessionMiddleware> logger)
{
    public Task InvokeAsync(HttpContext context)
    {
        if (ContractHeaders.Strip(context.Request.Headers))
        {
            metrics.HeadersStripped();
            GatewayLog.ClientContractHeadersStripped(logger, context.Connection.RemoteIpAddress);
        }

        // Before the session is loaded: a request the forwarder would fail on must not take the session's lock.
        if (ForwardableHeaders.FindUnencodable(context, out var encoding) is { } header)
        {
            metrics.HeaderRefused();
            GatewayLog.UnencodableHeader(logger, context.Connection.RemoteIpAddress, header, context.Request.Path.Value, encoding);
            return GatewayResponses.WriteAsync(context.Response, GatewayRefusal.UnencodableHeader(header));
        }

        var mode = exchanges.ModeOf(context);
        if (mode == SessionMode.None)
        {
            metrics.RequestWithoutSession();
            return next(context);
        }

        return InvokeWithSessionAsync(context, mode);
    }

    private async Task InvokeWithSessionAsync(HttpContext context, SessionMode mode)
    {
        var exchange = exchanges.Start(mode);
        var ended = false;
        try
        {
            if (await exchange.BeginAsync(context).ConfigureAwait(false) is { } refusal)
            {
                await GatewayResponses.WriteAsync(context.Response, refusal).ConfigureAwait(false);
                ended = true;
                return;
            }

            context.Features.Set(exchange);
            await next(context).ConfigureAwait(false);
            ended = true;
        }
        finally
        {
            await exchange.EndAsync().ConfigureAwait(false);
            metrics.RequestCompleted(mode, ended ? RequestOutcome.Of(context) : RequestOutcome.Error);
        }
    }
}
