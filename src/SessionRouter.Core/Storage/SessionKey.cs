namespace SessionRouter.Core.Storage;

/// <summary>
/// Names one session item in a store: the application it belongs to and its session id.
/// Two applications may use the same session id without seeing each other's state.
/// </summary>
public readonly record struct SessionKey(string Application, string SessionId)
{
    public override string ToString() => $"{Application}/{SessionId}";
}
