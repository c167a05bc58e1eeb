namespace SessionRouter.Core.HeaderContract;

/// <summary>
/// Header names of the gateway ↔ web server contract, version 1 (docs/protocol.md).
/// Every header of the contract starts with <see cref="Prefix"/>, so one prefix test strips them all.
/// </summary>
public static class SessionHeaders
{
    /// <summary>The common prefix; any client-sent header with it is removed by the gateway.</summary>
    public const string Prefix = "SessionRouter-";

    // Request: gateway → web server.

    /// <summary>The session id (22 characters, base64url of 128 random bits).</summary>
    public const string Id = "SessionRouter-Id";

    /// <summary>The session mode of the route: <c>read-write</c>, <c>read-only</c> or <c>unavailable</c>.</summary>
    public const string Mode = "SessionRouter-Mode";

    /// <summary>Request: the stored state blob, base64url without padding; absent for a new or empty session.
    /// Response: the new state blob to save.</summary>
    public const string State = "SessionRouter-State";

    /// <summary>Unix time in seconds at which the gateway signed the request.</summary>
    public const string Timestamp = "SessionRouter-Timestamp";

    /// <summary>HMAC-SHA256 over version, id, mode, timestamp and state, base64url without padding.</summary>
    public const string Signature = "SessionRouter-Signature";

    // Response: web server → gateway.

    /// <summary>Any value: remove the session and expire the cookie.</summary>
    public const string Abandon = "SessionRouter-Abandon";

    /// <summary>True when <paramref name="headerName"/> belongs to the contract (case-insensitive).</summary>
    public static bool IsContractHeader(string headerName)
        => headerName.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase);
}

/// <summary>Values of <see cref="SessionHeaders.Mode"/>.</summary>
public static class SessionModeValues
{
    public const string ReadWrite = "read-write";
    public const string ReadOnly = "read-only";

    /// <summary>No healthy state node: the request is forwarded without a session (opt-in fallback).</summary>
    public const string Unavailable = "unavailable";
}
