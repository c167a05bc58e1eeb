using System.Net;
using System.Net.Sockets;
using System.Text;

namespace SessionRouter.StateServer.Tests.Protocol;

/// <summary>A parsed HTTP/1.x response read from a raw socket.</summary>
internal sealed record RawResponse(int StatusCode, string StatusLine, IReadOnlyList<KeyValuePair<string, string>> Headers, byte[] Body)
{
    public string? Header(string name) =>
        Headers.Where(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).Select(h => h.Value).FirstOrDefault();

    public string BodyText => Encoding.UTF8.GetString(Body);
}

/// <summary>Sends exact bytes over a fresh TCP connection and reads one response, as a classic client would.</summary>
internal static class RawHttp
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    public static Task<RawResponse> SendAsync(int port, string head, byte[]? body = null) =>
        SendAsync(port, Encoding.ASCII.GetBytes(head), body, head.StartsWith("HEAD ", StringComparison.Ordinal));

    public static async Task<RawResponse> SendAsync(int port, byte[] head, byte[]? body, bool isHead = false)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using var cancellation = new CancellationTokenSource(Timeout);
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), cancellation.Token);
        await socket.SendAsync(head, SocketFlags.None, cancellation.Token);
        if (body is { Length: > 0 })
        {
            await socket.SendAsync(body, SocketFlags.None, cancellation.Token);
        }

        return await ReadResponseAsync(socket, isHead, cancellation.Token);
    }

    /// <summary>Sends a request over an open connection (kept alive by the caller) and reads one response.</summary>
    public static async Task<RawResponse> SendOnAsync(Socket socket, string head)
    {
        using var cancellation = new CancellationTokenSource(Timeout);
        await socket.SendAsync(Encoding.ASCII.GetBytes(head), SocketFlags.None, cancellation.Token);
        return await ReadResponseAsync(socket, head.StartsWith("HEAD ", StringComparison.Ordinal), cancellation.Token);
    }

    private static async Task<RawResponse> ReadResponseAsync(Socket socket, bool isHead, CancellationToken cancellationToken)
    {
        var received = new List<byte>();
        var buffer = new byte[8192];
        int headerEnd;
        while ((headerEnd = IndexOfHeaderEnd(received)) < 0)
        {
            var read = await socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);
            if (read == 0)
            {
                throw new IOException("The connection closed before a complete response head: " + Encoding.ASCII.GetString(received.ToArray()));
            }

            received.AddRange(buffer.AsSpan(0, read));
        }

        var headText = Encoding.ASCII.GetString(received.GetRange(0, headerEnd).ToArray());
        var lines = headText.Split("\r\n");
        var statusCode = int.Parse(lines[0].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        var headers = lines.Skip(1)
            .Select(line => line.Split(':', 2))
            .Select(parts => new KeyValuePair<string, string>(parts[0].Trim(), parts[1].Trim()))
            .ToList();
        var contentLength = headers.Where(h => h.Key.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
            .Select(h => int.Parse(h.Value, System.Globalization.CultureInfo.InvariantCulture)).FirstOrDefault();
        if (isHead)
        {
            contentLength = 0;
        }

        var body = new List<byte>(received.Skip(headerEnd + 4));
        while (body.Count < contentLength)
        {
            var read = await socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);
            if (read == 0)
            {
                break;
            }

            body.AddRange(buffer.AsSpan(0, read));
        }

        return new RawResponse(statusCode, lines[0], headers, body.Take(contentLength).ToArray());
    }

    private static int IndexOfHeaderEnd(List<byte> data)
    {
        for (var i = 0; i + 3 < data.Count; i++)
        {
            if (data[i] == '\r' && data[i + 1] == '\n' && data[i + 2] == '\r' && data[i + 3] == '\n')
            {
                return i;
            }
        }

        return -1;
    }
}
