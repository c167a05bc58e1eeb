using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using SessionRouter.Core.Configuration;

namespace SessionRouter.Gateway.Admin;

/// <summary>What the admin endpoints do with a caller.</summary>
internal enum AdminAccessVerdict
{
    /// <summary>Answer.</summary>
    Allowed,

    /// <summary>404, as if the path did not exist: a remote caller and no way in for it.</summary>
    Hidden,

    /// <summary>401 with a Basic challenge: a remote caller may come in with <c>Admin:AccessKey</c>.</summary>
    Challenge,
}

/// <summary>
/// Who may use the admin endpoints (status, where, health, metrics, the status page): loopback callers always;
/// others when <c>Admin:AllowRemote</c> is set, or when they present <c>Admin:AccessKey</c> as a bearer token or as
/// the password of HTTP Basic (any user name), which is what a browser sends after its login prompt.
/// </summary>
internal static class AdminAccess
{
    public const string Challenge = "Basic realm=\"SessionRouter admin\", charset=\"UTF-8\"";

    public static AdminAccessVerdict Check(HttpContext context, AdminSettings admin)
    {
        var remote = context.Connection.RemoteIpAddress;
        if (remote is null || IPAddress.IsLoopback(remote) || admin.AllowRemote)
        {
            return AdminAccessVerdict.Allowed;
        }

        if (string.IsNullOrEmpty(admin.AccessKey))
        {
            return AdminAccessVerdict.Hidden;
        }

        return PresentsKey(context.Request.Headers.Authorization.ToString(), admin.AccessKey) ? AdminAccessVerdict.Allowed : AdminAccessVerdict.Challenge;
    }

    internal static bool PresentsKey(string authorization, string key)
    {
        if (!AuthenticationHeaderValue.TryParse(authorization, out var header) || header.Parameter is not { Length: > 0 and <= 4096 } parameter)
        {
            return false;
        }

        if (string.Equals(header.Scheme, "Bearer", StringComparison.OrdinalIgnoreCase))
        {
            return FixedTimeEquals(parameter, key);
        }

        if (!string.Equals(header.Scheme, "Basic", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        Span<byte> decoded = stackalloc byte[3072];
        if (!Convert.TryFromBase64String(parameter, decoded, out var length))
        {
            return false;
        }

        var credentials = Encoding.UTF8.GetString(decoded[..length]);
        var colon = credentials.IndexOf(':', StringComparison.Ordinal);
        return colon >= 0 && FixedTimeEquals(credentials[(colon + 1)..], key);
    }

    private static bool FixedTimeEquals(string presented, string key)
        => CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(presented), Encoding.UTF8.GetBytes(key));
}
