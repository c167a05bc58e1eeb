using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;

namespace SessionRouter.AspNetCore.Configuration;

/// <summary>
/// Kestrel refuses requests whose headers exceed 32 KiB in total (16 KiB per field over HTTP/2) by default,
/// which is less than a full-size state in <c>SessionRouter-State</c>. Raises the limits to fit the largest
/// state plus room for ordinary headers; never lowers a limit the application set higher.
/// </summary>
internal sealed class KestrelHeaderLimitsSetup(IOptions<SessionRouterSessionOptions> sessionOptions)
    : IPostConfigureOptions<KestrelServerOptions>
{
    /// <summary>Room left for every other request header (cookies, user agent, forwarding headers).</summary>
    private const int OtherHeadersAllowance = 32 * 1024;

    public void PostConfigure(string? name, KestrelServerOptions options)
    {
        var settings = sessionOptions.Value;
        if (!settings.AdjustKestrelHeaderLimits || settings.MaxStateBytes <= 0)
        {
            return;
        }

        // Long arithmetic and a ceiling: a huge MaxStateBytes must not overflow into a small limit.
        var encodedState = (settings.MaxStateBytes * 4L + 2) / 3;
        var field = (int)Math.Min(encodedState + 256, int.MaxValue);
        var total = (int)Math.Min(encodedState + OtherHeadersAllowance, int.MaxValue);

        var limits = options.Limits;
        limits.MaxRequestHeadersTotalSize = Math.Max(limits.MaxRequestHeadersTotalSize, total);
        limits.Http2.MaxRequestHeaderFieldSize = Math.Max(limits.Http2.MaxRequestHeaderFieldSize, field);
        limits.Http3.MaxRequestHeaderFieldSize = Math.Max(limits.Http3.MaxRequestHeaderFieldSize, field);
    }
}
