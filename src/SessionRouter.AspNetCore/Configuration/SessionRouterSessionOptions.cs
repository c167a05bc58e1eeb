namespace SessionRouter.AspNetCore.Configuration;

/// <summary>
/// Settings of a web server behind the gateway. Bound from the <c>SessionRouter</c> configuration section
/// (the same section name as the gateway's yarp.json, so a site may load that file and share the key), then
/// from the delegate given to <c>AddSessionRouterSession</c>. Validated at start-up.
/// </summary>
public sealed class SessionRouterSessionOptions
{
    /// <summary>The configuration section bound by default.</summary>
    public const string SectionName = "SessionRouter";

    /// <summary>Default of <see cref="MaxStateBytes"/>: 64 KiB, the gateway's default.</summary>
    public const int DefaultMaxStateBytes = 64 * 1024;

    /// <summary>
    /// The key shared with the gateway (<c>SessionRouter:SignatureKey</c> in yarp.json): base64 of at least
    /// 32 random bytes. Required.
    /// </summary>
    public string? SignatureKey { get; set; }

    /// <summary>
    /// How far the signed timestamp may lie from this server's clock, either way. A request signed longer ago
    /// (or further in the future) gets no session. Covers clock skew between gateway and site.
    /// </summary>
    public TimeSpan TimestampWindow { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// When true, a request that carries SessionRouter headers that fail verification (missing or bad
    /// signature, stale timestamp, malformed value) is answered 403 before the application sees it.
    /// When false (default), such a request runs without a session (<c>ISession.IsAvailable</c> is false).
    /// </summary>
    public bool RejectInvalidRequests { get; set; }

    /// <summary>
    /// The largest state blob this site sends back, in bytes before base64url. Keep it equal to the
    /// gateway's <c>SessionRouter:MaxStateBytes</c>. A larger session fails at <c>CommitAsync</c>.
    /// </summary>
    public int MaxStateBytes { get; set; } = DefaultMaxStateBytes;

    /// <summary>
    /// Raise Kestrel's request header limits so a state of <see cref="MaxStateBytes"/> fits in the
    /// <c>SessionRouter-State</c> request header (Kestrel's default total is 32 KiB). On by default.
    /// </summary>
    public bool AdjustKestrelHeaderLimits { get; set; } = true;
}
