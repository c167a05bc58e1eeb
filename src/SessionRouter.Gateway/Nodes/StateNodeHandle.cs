using SessionRouter.Core.Configuration;
using SessionRouter.Core.Health;
using SessionRouter.Core.Storage;

namespace SessionRouter.Gateway.Nodes;

/// <summary>
/// One connected state node, shared by every configuration snapshot that lists it unchanged. Counted:
/// the store is disposed when the last snapshot that uses it has drained its in-flight requests.
/// </summary>
internal sealed class StateNodeHandle
{
    private readonly StateNodeConnection _connection;
    private int _references = 1;

    public StateNodeHandle(StateNodeOptions options, StateNodeConnection connection, StoreCallRecorder recorder)
    {
        Options = options;
        Id = options.Id;
        _connection = connection;
        Store = new RecordedSessionStore(connection.Store, this, recorder);
    }

    public string Id { get; }

    public StateNodeOptions Options { get; }

    /// <summary>The node's store; every call through it is recorded (health, duration, last error).</summary>
    public ISessionStore Store { get; }

    public IStateNodeProbe Probe => _connection.Probe;

    /// <summary>The node's announcements of callers waiting for a held lock, when its store makes them (leases' revocation).</summary>
    public ILockContentionSource? Contention => _connection.Store as ILockContentionSource;

    /// <summary>The last error a store call or probe met on this node (for the admin status).</summary>
    public string? LastError { get; set; }

    public DateTimeOffset? LastErrorAt { get; set; }

    /// <summary>True when <paramref name="other"/> describes the same connection (so the store can be reused).</summary>
    public bool SameConnection(StateNodeOptions other)
        => string.Equals(Options.Id, other.Id, StringComparison.Ordinal)
           && Options.Engine == other.Engine
           && string.Equals(Options.Address, other.Address, StringComparison.Ordinal)
           && string.Equals(Options.ConnectionString, other.ConnectionString, StringComparison.Ordinal)
           && string.Equals(Options.AccessKey, other.AccessKey, StringComparison.Ordinal)
           && string.Equals(Options.TlsThumbprint, other.TlsThumbprint, StringComparison.Ordinal)
           && string.Equals(Options.TlsCaPath, other.TlsCaPath, StringComparison.Ordinal)
           && Options.Http2 == other.Http2
           && Options.MaxRequestsInFlight == other.MaxRequestsInFlight;

    public void AddReference() => Interlocked.Increment(ref _references);

    /// <summary>Drops one reference; the last one disposes the connection.</summary>
    public ValueTask ReleaseAsync()
    {
        if (Interlocked.Decrement(ref _references) != 0 || _connection.Lifetime is null)
        {
            return ValueTask.CompletedTask;
        }

        return _connection.Lifetime.DisposeAsync();
    }
}
