using System.Globalization;
using Microsoft.AspNetCore.Http;

namespace SessionRouter.Gateway.Pipeline;

/// <summary>The gateway's own error responses: a status, a plain sentence saying what happened, and Retry-After where retrying helps.</summary>
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

    public static Task WriteAsync(HttpResponse response, int statusCode, string message, int retryAfterSeconds = 0)
    {
        response.StatusCode = statusCode;
        response.ContentType = "text/plain; charset=utf-8";
        response.Headers.CacheControl = "no-store";
        if (retryAfterSeconds > 0)
        {
            response.Headers.RetryAfter = retryAfterSeconds.ToString(CultureInfo.InvariantCulture);
        }

        return response.WriteAsync(message);
    }
}
