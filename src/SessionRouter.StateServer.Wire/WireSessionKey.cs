using System.Text;
using SessionRouter.Core.Storage;

namespace SessionRouter.StateServer.Wire;

/// <summary>
/// The session key as the binary framings carry it (a batch record, a contention frame): the application and the
/// session id as strict UTF-8, side by side. One decoder, so both framings refuse the same malformed keys alike.
/// </summary>
internal static class WireSessionKey
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>
    /// Decodes <paramref name="application"/> and <paramref name="id"/>; false with <paramref name="error"/> when either
    /// is not valid UTF-8 or the id contains '/' (it could not travel in an MS-ASP path).
    /// </summary>
    public static bool TryDecode(ReadOnlySpan<byte> application, ReadOnlySpan<byte> id, out SessionKey key, out string error)
    {
        key = default;
        string applicationText;
        string idText;
        try
        {
            applicationText = StrictUtf8.GetString(application);
            idText = StrictUtf8.GetString(id);
        }
        catch (DecoderFallbackException)
        {
            error = "the application or the session id is not valid UTF-8.";
            return false;
        }

        if (idText.Contains('/', StringComparison.Ordinal))
        {
            error = "a session id cannot contain '/'.";
            return false;
        }

        key = new SessionKey(applicationText, idText);
        error = string.Empty;
        return true;
    }
}
