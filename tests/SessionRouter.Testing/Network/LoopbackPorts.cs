using System.Net;
using System.Net.Sockets;

namespace SessionRouter.Testing.Network;

/// <summary>Free TCP ports on 127.0.0.1 for servers that tests start themselves.</summary>
public static class LoopbackPorts
{
    /// <summary>
    /// Asks the OS for a free port by binding port 0 and closing at once. Another process may take it
    /// before the caller binds: prefer binding port 0 directly where the server allows it.
    /// </summary>
    public static int GetFree()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)listener.LocalEndPoint!).Port;
    }

    /// <summary>
    /// A port where nothing listens, for tests of an unreachable node: the socket stays bound (and never listens)
    /// until the reservation is disposed, so connections are refused and no other server can take the port
    /// meanwhile. A port from <see cref="GetFree"/> could be bound by another test's server in between.
    /// </summary>
    public static RefusingPort ReserveRefusing() => new();
}

/// <summary>A loopback port bound without listening: every connection to it is refused while this lives.</summary>
public sealed class RefusingPort : IDisposable
{
    private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);

    internal RefusingPort()
    {
        _socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        Port = ((IPEndPoint)_socket.LocalEndPoint!).Port;
    }

    public int Port { get; }

    /// <summary>http://127.0.0.1:PORT/</summary>
    public Uri Address => new(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"http://127.0.0.1:{Port}/"));

    public void Dispose() => _socket.Dispose();
}
