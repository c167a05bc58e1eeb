namespace SessionRouter.StateServer.Storage;

/// <summary>
/// Validates an <see cref="InMemorySessionStoreOptions"/> and names each faulty setting: by its property
/// name, or by its configuration path when the options come from a configuration section (the engine's
/// <c>StateServer</c> section gives <c>StateServer:MaxItemBytes</c>).
/// </summary>
internal static class InMemorySessionStoreOptionsValidator
{
    /// <summary>Returns every problem found; empty when the options are valid.</summary>
    /// <param name="options">The options to check.</param>
    /// <param name="section">The configuration section the options were bound from, or null.</param>
    public static IReadOnlyList<string> Validate(InMemorySessionStoreOptions options, string? section = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        var prefix = section is null ? "" : section + ":";

        if (options.MemoryCapBytes < 0)
        {
            errors.Add($"{prefix}{nameof(options.MemoryCapBytes)} must be 0 (no cap) or a positive number of bytes; it is {options.MemoryCapBytes}.");
        }

        if (!(options.MemoryWarningFraction > 0 && options.MemoryWarningFraction <= 1))
        {
            errors.Add($"{prefix}{nameof(options.MemoryWarningFraction)} must be above 0 and at most 1 (0.8 warns at 80% of MemoryCapBytes); it is {options.MemoryWarningFraction}.");
        }

        if (options.MaxItemBytes is < 1 or > InMemorySessionStoreOptions.MaxItemBytesLimit)
        {
            errors.Add($"{prefix}{nameof(options.MaxItemBytes)} must be between 1 and {InMemorySessionStoreOptions.MaxItemBytesLimit}; it is {options.MaxItemBytes}.");
        }

        if (options.DefaultLockTimeout <= TimeSpan.Zero)
        {
            errors.Add($"{prefix}{nameof(options.DefaultLockTimeout)} must be positive; it is {options.DefaultLockTimeout}.");
        }

        if (options.DefaultItemTimeout <= TimeSpan.Zero || options.DefaultItemTimeout > InMemorySessionStoreOptions.MaxItemTimeout)
        {
            errors.Add($"{prefix}{nameof(options.DefaultItemTimeout)} must be positive and at most {InMemorySessionStoreOptions.MaxItemTimeout}; it is {options.DefaultItemTimeout}.");
        }

        if (options.MaxWaitersPerSession < 0)
        {
            errors.Add($"{prefix}{nameof(options.MaxWaitersPerSession)} must be 0 or more; it is {options.MaxWaitersPerSession}.");
        }

        return errors;
    }
}
