namespace SessionRouter.Core.Storage;

/// <summary>
/// A store node could not be reached, refused the connection, or did not answer within its timeout.
/// The operation may or may not have been applied on the node; callers treat the node as failed.
/// </summary>
public sealed class SessionStoreUnavailableException : Exception
{
    public SessionStoreUnavailableException()
    {
    }

    public SessionStoreUnavailableException(string message)
        : base(message)
    {
    }

    public SessionStoreUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The id of the node that failed, when known.</summary>
    public string? NodeId { get; init; }
}
