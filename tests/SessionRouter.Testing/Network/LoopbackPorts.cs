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
}
