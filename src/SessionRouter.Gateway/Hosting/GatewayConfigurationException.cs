namespace SessionRouter.Gateway.Hosting;

/// <summary>
/// The configuration file cannot be used: it is missing, unreadable, or a setting is invalid.
/// The message names the file and every faulty field.
/// </summary>
public sealed class GatewayConfigurationException : Exception
{
    public GatewayConfigurationException()
    {
    }

    public GatewayConfigurationException(string message)
        : base(message)
    {
    }

    public GatewayConfigurationException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
