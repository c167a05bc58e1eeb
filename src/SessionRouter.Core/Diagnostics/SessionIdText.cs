namespace SessionRouter.Core.Diagnostics;

/// <summary>
/// How a session id appears in logs. A session id is a bearer secret: whoever reads it from a log can
/// present it and take over the session. Logs therefore show only its first characters, enough to tell
/// sessions apart and to follow one through the gateway, the sites and the state nodes.
/// </summary>
public static class SessionIdText
{
    /// <summary>How many leading characters of an id a log shows.</summary>
    public const int PrefixLength = 6;

    /// <summary>
    /// The first <see cref="PrefixLength"/> characters of <paramref name="sessionId"/> followed by "…"
    /// (<c>"3fZq9a…"</c>). An id too short to keep most of it hidden shows at most half of its characters;
    /// null or empty gives an empty string.
    /// </summary>
    public static string Redact(string? sessionId)
    {
        if (string.IsNullOrEmpty(sessionId))
        {
            return string.Empty;
        }

        var shown = Math.Min(PrefixLength, sessionId.Length / 2);
        return string.Concat(sessionId.AsSpan(0, shown), "…");
    }
}
