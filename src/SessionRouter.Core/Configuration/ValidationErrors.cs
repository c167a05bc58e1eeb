namespace SessionRouter.Core.Configuration;

/// <summary>
/// The message of a start-up that refuses its settings. Validators return every error, each naming its
/// setting by configuration path; a caller that must throw lists them all in one exception, so an operator
/// fixes the whole file at once instead of one setting per attempt.
/// </summary>
public static class ValidationErrors
{
    /// <summary><c>"{subject}: {first error}"</c>, then each further error on a line of its own.</summary>
    public static string Describe(string subject, IReadOnlyList<string> errors)
    {
        ArgumentException.ThrowIfNullOrEmpty(subject);
        ArgumentNullException.ThrowIfNull(errors);
        return $"{subject}: {string.Join(Environment.NewLine + "  ", errors)}";
    }
}
