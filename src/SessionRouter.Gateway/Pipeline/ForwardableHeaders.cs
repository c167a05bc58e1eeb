using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Yarp.ReverseProxy.Model;

namespace SessionRouter.Gateway.Pipeline;

/// <summary>
/// Finds a request header the route's cluster cannot forward. Kestrel decodes request header values as
/// UTF-8, so a client may send characters beyond ASCII; YARP copies them to the cluster's HttpClient, which
/// encodes header values as ASCII unless the cluster's <c>HttpClient:RequestHeaderEncoding</c> names another
/// encoding, and fails such a request on the wire: YARP then answers 502 with an empty body, after the
/// session was loaded and locked. Checking first turns that into a 400 naming the header, before any store call.
/// </summary>
/// <remarks>
/// Headers YARP never copies (hop-by-hop headers, Host) are skipped, as YARP skips them. A header added or
/// removed by a route's own transforms is not seen here: those are the operator's configuration, not the client's input.
/// </remarks>
internal static class ForwardableHeaders
{
    // The headers YARP never copies (its internal RequestUtilities.ShouldSkipRequestHeader), plus Host, which YARP takes from
    // the destination's address unless a transform says otherwise.
    private static readonly HashSet<string> NotForwarded = new(StringComparer.OrdinalIgnoreCase)
    {
        "Connection", "Transfer-Encoding", "Keep-Alive", "Upgrade", "Proxy-Connection", "Proxy-Authenticate",
        "Proxy-Authentication-Info", "Proxy-Authorization", "Proxy-Features", "Proxy-Instruction", "Security-Scheme",
        "ALPN", "Close", "HTTP2-Settings", "Upgrade-Insecure-Requests", "TE", "Alt-Svc", "Host",
    };

    /// <summary>
    /// The name of the first forwarded request header whose value the cluster's client cannot encode, or null
    /// when every value can be sent. <paramref name="encodingName"/> is the encoding the check applied.
    /// </summary>
    public static string? FindUnencodable(HttpContext context, out string encodingName)
    {
        encodingName = "";

        // The common case, every value ASCII, costs one vectorised scan per value and no lookup of the cluster.
        foreach (var header in context.Request.Headers)
        {
            if (IsAscii(header.Value) || header.Key.StartsWith(':') || NotForwarded.Contains(header.Key))
            {
                continue;
            }

            var encoding = ClusterEncoding(context, out encodingName);
            if (!CanEncode(encoding, header.Value))
            {
                return header.Key;
            }
        }

        return null;
    }

    private static bool IsAscii(StringValues values)
    {
        foreach (var value in values)
        {
            if (value is not null && !Ascii.IsValid(value))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The encoding the cluster's HttpClient uses for request headers; null for its default, ASCII.</summary>
    private static Encoding? ClusterEncoding(HttpContext context, out string name)
    {
        var configured = context.Features.Get<IReverseProxyFeature>()?.Cluster?.Config.HttpClient?.RequestHeaderEncoding;
        if (configured is null)
        {
            name = "ASCII, HttpClient's default";
            return null;
        }

        name = configured;

        // YARP validated the name when it loaded the cluster (Encoding.GetEncoding); it resolves here too.
        return Encoding.GetEncoding(configured);
    }

    private static bool CanEncode(Encoding? encoding, StringValues values)
    {
        switch (encoding?.CodePage)
        {
            case null or 20127: // ASCII
                return false;
            case 65001: // UTF-8 encodes every string Kestrel decoded.
                return true;
            case 28591: // Latin-1: one byte per character up to U+00FF.
                foreach (var value in values)
                {
                    if (value is not null && value.AsSpan().ContainsAnyExceptInRange('\0', '\u00FF'))
                    {
                        return false;
                    }
                }

                return true;
            default:
                // Another encoding the operator chose for the cluster: what it cannot encode is HttpClient's to report.
                return true;
        }
    }
}
