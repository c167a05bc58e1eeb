using Microsoft.Extensions.Options;

namespace SessionRouter.AspNetCore.Configuration;

/// <summary>
/// The site's settings rules: <see cref="Validate(SessionRouterSessionOptions)"/> returns every error, each
/// naming its setting as written in configuration (<c>SessionRouter:SignatureKey</c>). Registered as the
/// options' <see cref="IValidateOptions{TOptions}"/>, so the host refuses to start with all of them in one
/// <see cref="OptionsValidationException"/>.
/// </summary>
internal sealed class SessionRouterSessionOptionsValidator : IValidateOptions<SessionRouterSessionOptions>
{
    private const string Section = SessionRouterSessionOptions.SectionName;

    /// <summary>The smallest key the HMAC accepts (256 bits), as in the gateway.</summary>
    internal const int MinimumKeyBytes = 32;

    /// <summary>Returns every problem found; empty when the options are valid.</summary>
    public static IReadOnlyList<string> Validate(SessionRouterSessionOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(options.SignatureKey))
        {
            errors.Add($"{Section}:SignatureKey must be set: the base64 key (at least {MinimumKeyBytes} bytes) shared with the gateway's yarp.json.");
        }
        else if (!TryDecodeKey(options.SignatureKey, out var key))
        {
            errors.Add($"{Section}:SignatureKey is not valid base64.");
        }
        else if (key.Length < MinimumKeyBytes)
        {
            errors.Add($"{Section}:SignatureKey must decode to at least {MinimumKeyBytes} bytes (got {key.Length}).");
        }

        if (options.TimestampWindow <= TimeSpan.Zero)
        {
            errors.Add($"{Section}:TimestampWindow must be a positive time span (hh:mm:ss).");
        }

        if (options.MaxStateBytes <= 0)
        {
            errors.Add($"{Section}:MaxStateBytes must be a positive number of bytes.");
        }

        return errors;
    }

    ValidateOptionsResult IValidateOptions<SessionRouterSessionOptions>.Validate(string? name, SessionRouterSessionOptions options)
    {
        var errors = Validate(options);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    internal static bool TryDecodeKey(string text, out byte[] key)
    {
        var buffer = new byte[text.Length];
        if (Convert.TryFromBase64String(text.Trim(), buffer, out var length))
        {
            key = buffer[..length];
            return true;
        }

        key = [];
        return false;
    }
}
