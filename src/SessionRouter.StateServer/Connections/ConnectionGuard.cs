using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;
using SessionRouter.StateServer.Diagnostics;

namespace SessionRouter.StateServer.Connections;

/// <summary>
/// Kestrel connection middleware in front of both of a node's ports (before TLS, so a refused connection
/// costs no handshake). It bounds the connections one remote address may hold
/// (<c>StateServer:MaxConnectionsPerAddress</c>), so one client cannot fill the node's
/// <c>MaxConnections</c> and starve the gateways, and it gives every connection
/// <c>StateServer:FirstRequestTimeout</c> to present a request with the access key
/// (<see cref="ConnectionAdmission"/>): half-open and unauthenticated connections are closed long before
/// the idle timeout would close them.
/// </summary>
internal sealed class ConnectionGuard
{
    private readonly int _maxPerAddress;
    private readonly TimeSpan _firstRequestTimeout;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Action<ConnectionAdmission> _onExpired;
    private readonly Dictionary<IPAddress, AddressEntry> _addresses = [];

    public ConnectionGuard(int maxPerAddress, TimeSpan firstRequestTimeout, TimeProvider time, ILogger logger)
    {
        _maxPerAddress = maxPerAddress;
        _firstRequestTimeout = firstRequestTimeout;
        _time = time;
        _logger = logger;
        _onExpired = admission => StateServerLog.ConnectionNotAdmitted(_logger, admission.RemoteEndPoint, _firstRequestTimeout);
    }

    /// <summary>Open connections per remote address (both ports together), for tests.</summary>
    internal int OpenConnections(IPAddress address)
    {
        lock (_addresses)
        {
            return _addresses.TryGetValue(Normalize(address), out var entry) ? entry.Count : 0;
        }
    }

    /// <summary>The middleware: <c>listenOptions.Use(guard.Wrap)</c>.</summary>
    public ConnectionDelegate Wrap(ConnectionDelegate next) => connection => OnConnectionAsync(connection, next);

    private async Task OnConnectionAsync(ConnectionContext connection, ConnectionDelegate next)
    {
        var address = connection.RemoteEndPoint is IPEndPoint remote ? Normalize(remote.Address) : null;
        if (address is not null && !TryEnter(address))
        {
            // Returning without calling the rest of the pipeline closes the connection unanswered, as
            // Kestrel's own MaxConcurrentConnections does.
            return;
        }

        using var admission = new ConnectionAdmission(connection);
        connection.Features.Set(admission);
        admission.StartDeadline(_time, _firstRequestTimeout, _onExpired);
        try
        {
            await next(connection).ConfigureAwait(false);
        }
        finally
        {
            if (address is not null)
            {
                Exit(address);
            }
        }
    }

    private bool TryEnter(IPAddress address)
    {
        bool firstRefusal;
        int open;
        lock (_addresses)
        {
            if (!_addresses.TryGetValue(address, out var entry))
            {
                entry = new AddressEntry();
                _addresses[address] = entry;
            }

            if (_maxPerAddress == 0 || entry.Count < _maxPerAddress)
            {
                entry.Count++;
                entry.Refusing = false;
                return true;
            }

            firstRefusal = !entry.Refusing;
            entry.Refusing = true;
            open = entry.Count;
        }

        // One warning when an address reaches the limit, then debug lines: a flood of refusals must not
        // become a flood of log lines.
        if (firstRefusal)
        {
            StateServerLog.AddressLimitReached(_logger, address, open, _maxPerAddress);
        }
        else
        {
            StateServerLog.AddressConnectionRefused(_logger, address, open);
        }

        return false;
    }

    private void Exit(IPAddress address)
    {
        lock (_addresses)
        {
            if (_addresses.TryGetValue(address, out var entry) && --entry.Count == 0)
            {
                // Addresses with no connection are forgotten, so the table never outgrows the open connections.
                _addresses.Remove(address);
            }
        }
    }

    /// <summary>An IPv4 client on a dual-mode (IPv6 any) socket appears as ::ffff:a.b.c.d: one address, one count.</summary>
    private static IPAddress Normalize(IPAddress address) => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;

    private sealed class AddressEntry
    {
        public int Count;
        public bool Refusing;
    }
}
