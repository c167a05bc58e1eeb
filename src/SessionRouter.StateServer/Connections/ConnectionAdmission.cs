using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;

namespace SessionRouter.StateServer.Connections;

/// <summary>
/// One connection's standing with the engine, set on the connection's features by
/// <see cref="ConnectionGuard"/> and read by the request handler (Kestrel's request features fall back
/// to the connection's). A connection is admitted by its first request that passes the access key (any
/// request when no key is configured); until then it lives only as long as
/// <c>StateServer:FirstRequestTimeout</c>, so connections that never authenticate cannot hold the
/// node's connection slots.
/// </summary>
internal sealed class ConnectionAdmission : IDisposable
{
    private const int Pending = 0;
    private const int Admitted = 1;
    private const int Closed = 2;

    private readonly ConnectionContext _connection;
    private ITimer? _deadline;
    private int _state;

    public ConnectionAdmission(ConnectionContext connection)
    {
        _connection = connection;
    }

    /// <summary>True once a request of this connection passed the access key.</summary>
    public bool IsAdmitted => Volatile.Read(ref _state) == Admitted;

    /// <summary>Arms the deadline: unless admitted by then, the connection is aborted and <paramref name="onExpired"/> runs.</summary>
    public void StartDeadline(TimeProvider time, TimeSpan timeout, Action<ConnectionAdmission> onExpired)
    {
        _deadline = time.CreateTimer(
            static state =>
            {
                var (admission, expired) = ((ConnectionAdmission, Action<ConnectionAdmission>))state!;
                if (Interlocked.CompareExchange(ref admission._state, Closed, Pending) == Pending)
                {
                    expired(admission);
                    admission._connection.Abort(new ConnectionAbortedException("No request with a valid access key arrived within StateServer:FirstRequestTimeout."));
                }
            },
            (this, onExpired),
            timeout,
            Timeout.InfiniteTimeSpan);
    }

    /// <summary>The connection's remote address, for logs.</summary>
    public System.Net.EndPoint? RemoteEndPoint => _connection.RemoteEndPoint;

    /// <summary>A request passed the access key: the connection stays, bounded by the idle timeout only.</summary>
    public void Admit()
    {
        // The common case (every request after the first) is this one read.
        if (Volatile.Read(ref _state) != Pending)
        {
            return;
        }

        if (Interlocked.CompareExchange(ref _state, Admitted, Pending) == Pending)
        {
            _deadline?.Dispose();
        }
    }

    /// <summary>
    /// A request failed the access key: the connection is asked to close once its answer is sent (HTTP/1.x
    /// ends with <c>Connection: close</c>, HTTP/2 with GOAWAY). A connection never admitted also keeps its
    /// deadline, so a peer that ignores the GOAWAY is aborted then.
    /// </summary>
    public void Refuse() => _connection.Features.Get<IConnectionLifetimeNotificationFeature>()?.RequestClose();

    public void Dispose()
    {
        Interlocked.CompareExchange(ref _state, Closed, Pending);
        _deadline?.Dispose();
    }
}
