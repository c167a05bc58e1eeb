namespace SessionRouter.AspNetCore.Session;

/// <summary>
/// The session's encoded state exceeds <c>SessionRouter:MaxStateBytes</c>; the changes of this request are not
/// sent to the gateway and the stored state stays as it was.
/// </summary>
public sealed class SessionStateTooLargeException : InvalidOperationException
{
    public SessionStateTooLargeException()
    {
    }

    public SessionStateTooLargeException(string message)
        : base(message)
    {
    }

    public SessionStateTooLargeException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public SessionStateTooLargeException(int stateBytes, int maxStateBytes)
        : base($"The session state is {stateBytes} bytes once encoded, more than SessionRouter:MaxStateBytes ({maxStateBytes}). " +
               "Store less in the session (or raise MaxStateBytes on the gateway and on every site); this request's changes were not saved.")
    {
        StateBytes = stateBytes;
        MaxStateBytes = maxStateBytes;
    }

    /// <summary>The encoded size that was refused.</summary>
    public int StateBytes { get; }

    /// <summary>The limit in force.</summary>
    public int MaxStateBytes { get; }
}
