using System.Globalization;
using Microsoft.AspNetCore.Http;
using SessionRouter.Core.Storage;

namespace SessionRouter.Gateway.Pipeline;

/// <summary>
/// An answer the gateway gives instead of the backend's: a status, a plain sentence saying what happened,
/// and Retry-After (seconds) where retrying helps; 0 sends none.
/// </summary>
internal readonly record struct GatewayRefusal(int StatusCode, string Message, int RetryAfterSeconds = 0)
{
    /// <summary>
    /// The one mapping of a store's refusal to what the client is told, whatever the operation.
    /// </summary>
    /// <param name="retryAfterSeconds">Retry-After for conditions that last about one health-check interval.</param>
    public static GatewayRefusal ForStoreStatus(StoreStatus status, int retryAfterSeconds) => status switch
    {
        // Lock contention clears as soon as the holder's request ends.
        StoreStatus.Locked or StoreStatus.WaitTimeout or StoreStatus.QueueFull => new(StatusCodes.Status503ServiceUnavailable, GatewayResponses.LockBusy, 1),
        StoreStatus.LockMismatch => new(StatusCodes.Status409Conflict, GatewayResponses.LockLost),
        StoreStatus.TooLarge => new(StatusCodes.Status502BadGateway, GatewayResponses.StateTooLarge),
        StoreStatus.CapacityExceeded => new(StatusCodes.Status503ServiceUnavailable, GatewayResponses.StoreFull, retryAfterSeconds),
        _ => new(StatusCodes.Status502BadGateway, GatewayResponses.StoreRefused),
    };

    /// <summary>A request header whose value the cluster's client cannot encode (see <see cref="ForwardableHeaders"/>).</summary>
    public static GatewayRefusal UnencodableHeader(string headerName)
        => new(StatusCodes.Status400BadRequest, string.Concat(GatewayResponses.UnencodableHeaderStart, headerName, GatewayResponses.UnencodableHeaderEnd));
}

/// <summary>The gateway's own error responses.</summary>
internal static class GatewayResponses
{
    public const string NoHealthyNode = "No state node is available for this session right now. Please retry shortly.";
    public const string LockBusy = "This session is busy with other requests. Please retry shortly.";
    public const string StoreFull = "The session store is full and cannot take new sessions right now. Please retry later.";
    public const string StoreFailed = "The state node holding this session failed; the request's session changes were not saved. Please retry.";
    public const string StateTooLarge = "The web server returned session state larger than the gateway's limit; it was not saved.";
    public const string StateInvalid = "The web server returned session state that is not valid base64url; it was not saved.";
    public const string LockLost = "This request held the session longer than the lock timeout and another request took the session over; its changes were not saved.";
    public const string StoreRefused = "The state node refused to save this session; the changes were not saved.";
    public const string UnencodableHeaderStart = "The request header '";
    public const string UnencodableHeaderEnd = "' contains characters outside ASCII, which this gateway cannot forward to the web server.";

    public static Task WriteAsync(HttpResponse response, GatewayRefusal refusal)
    {
        Diagnostics.RequestOutcome.Refused(response.HttpContext, refusal);
        response.StatusCode = refusal.StatusCode;
        response.ContentType = "text/plain; charset=utf-8";
        response.Headers.CacheControl = "no-store";
        if (refusal.RetryAfterSeconds > 0)
        {
            response.Headers.RetryAfter = refusal.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
        }

        return response.WriteAsync(refusal.Message);
    }
}
