using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using SessionRouter.Core.HeaderContract;
using SessionRouter.Gateway.Diagnostics;
using Yarp.ReverseProxy.Transforms;

namespace SessionRouter.Gateway.Pipeline;

/// <summary>
/// Runs on every route when the backend's response headers have arrived and before anything is sent to the
/// client: removes every contract header from the response and hands what the backend asked for (new state,
/// abandon, or nothing) to the request's <see cref="SessionExchange"/>. Because the save completes before the
/// client sees the response, the client's next request always sees the write.
/// </summary>
internal sealed class SessionResponseTransform(ILogger<SessionResponseTransform> logger) : ResponseTransform
{
    public override ValueTask ApplyAsync(ResponseTransformContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.ProxyResponse is null)
        {
            // The backend did not answer; YARP writes its 502/504 and the exchange's end releases the lock.
            return default;
        }

        // YARP has copied the backend's headers to the client's response by now.
        var http = context.HttpContext;
        var headers = http.Response.Headers;
        var exchange = http.Features.Get<SessionExchange>();
        if (exchange is null)
        {
            if (ContractHeaders.Strip(headers))
            {
                GatewayLog.ContractHeadersOnSessionlessRoute(logger, http.Request.Path.Value);
            }

            return default;
        }

        var newState = headers.TryGetValue(SessionHeaders.State, out var state) ? state.ToString() : null;
        var abandon = headers.ContainsKey(SessionHeaders.Abandon);
        ContractHeaders.Strip(headers);
        return CompleteAsync(context, exchange, newState, abandon);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private static async ValueTask CompleteAsync(ResponseTransformContext context, SessionExchange exchange, string? newState, bool abandon)
    {
        var response = context.HttpContext.Response;
        if (await exchange.CompleteAsync(response, newState, abandon, context.HttpContext.Request.Path.Value).ConfigureAwait(false) is { } refusal)
        {
            // Replace the backend's response entirely: its body is not sent, its headers do not apply.
            context.SuppressResponseBody = true;
            response.Headers.Clear();
            await GatewayResponses.WriteAsync(response, refusal).ConfigureAwait(false);
        }
    }
}
