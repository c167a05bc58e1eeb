using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace SessionRouter.Gateway.Tests.Infrastructure;

/// <summary>
/// Sends one HTTP/1.1 request as the exact bytes given over a plain socket, for what HttpClient refuses to
/// send (non-ASCII header bytes, duplicate cookies in separate headers), and reads the response to the end.
/// </summary>
internal static class RawHttpClient
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Sends <c>GET path</c> with <paramref name="headerLines"/> (each "Name: value", encoded as UTF-8 bytes
    /// unless <paramref name="latin1"/>), adding Host and Connection: close.
    /// </summary>
    public static Task<RawHttpResponse> GetAsync(Uri gateway, string path, IEnumerable<string> headerLines, bool latin1 = false)
    {
        var head = new StringBuilder();
        head.Append("GET ").Append(path).Append(" HTTP/1.1\r\n");
        head.Append("Host: ").Append(gateway.Authority).Append("\r\n");
        foreach (var line in headerLines)
        {
            head.Append(line).Append("\r\n");
        }

        head.Append("Connection: close\r\n\r\n");
        var bytes = latin1 ? Encoding.Latin1.GetBytes(head.ToString()) : Encoding.UTF8.GetBytes(head.ToString());
        return SendAsync(gateway, bytes);
    }

    public static async Task<RawHttpResponse> SendAsync(Uri gateway, byte[] request)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using var cancellation = new CancellationTokenSource(Timeout);
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, gateway.Port), cancellation.Token);
        await socket.SendAsync(request, SocketFlags.None, cancellation.Token);

        // Connection: close: the server ends the connection after its response.
        using var received = new MemoryStream();
        var buffer = new byte[8192];
        int read;
        while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None, cancellation.Token)) > 0)
        {
            received.Write(buffer, 0, read);
        }

        return RawHttpResponse.Parse(received.ToArray());
    }
}

internal sealed record RawHttpResponse(int StatusCode, IReadOnlyList<KeyValuePair<string, string>> Headers, string Body)
{
    public string? Header(string name) => Headers.FirstOrDefault(h => h.Key.Equals(name, StringComparison.OrdinalIgnoreCase)).Value;

    public IEnumerable<string> HeaderValues(string name) => Headers.Where(h => h.Key.Equals(name, StringComparison.OrdinalIgnoreCase)).Select(h => h.Value);

    public static RawHttpResponse Parse(byte[] response)
    {
        var end = response.AsSpan().IndexOf("\r\n\r\n"u8);
        if (end < 0)
        {
            throw new IOException("The connection closed before a complete response head: " + Encoding.UTF8.GetString(response));
        }

        var lines = Encoding.UTF8.GetString(response, 0, end).Split("\r\n");
        var status = int.Parse(lines[0].Split(' ')[1], CultureInfo.InvariantCulture);
        var headers = lines.Skip(1)
            .Select(line => line.Split(':', 2))
            .Select(parts => new KeyValuePair<string, string>(parts[0].Trim(), parts[1].Trim()))
            .ToList();
        var body = response.AsSpan(end + 4);
        var chunked = headers.Any(h => h.Key.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase) && h.Value.Contains("chunked", StringComparison.OrdinalIgnoreCase));
        return new RawHttpResponse(status, headers, Encoding.UTF8.GetString(chunked ? Dechunk(body) : body));
    }

    private static byte[] Dechunk(ReadOnlySpan<byte> chunked)
    {
        using var body = new MemoryStream();
        while (!chunked.IsEmpty)
        {
            var lineEnd = chunked.IndexOf("\r\n"u8);
            var size = int.Parse(Encoding.ASCII.GetString(chunked[..lineEnd]).Split(';')[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            if (size == 0)
            {
                break;
            }

            body.Write(chunked.Slice(lineEnd + 2, size));
            chunked = chunked[(lineEnd + 2 + size + 2)..];
        }

        return body.ToArray();
    }
}
