using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace SessionRouter.Testing.Redis;

/// <summary>
/// A minimal RESP client for fixtures: sends one command on a fresh loopback connection and returns the
/// reply as text. Enough for PING, CLUSTER INFO and SHUTDOWN without a Redis client library, so the
/// process helpers stay usable by any test project.
/// </summary>
public static class RespProbe
{
    /// <summary>
    /// Sends <paramref name="arguments"/> as a RESP array to 127.0.0.1:<paramref name="port"/> and returns
    /// the reply: a simple or bulk string as is, an integer as digits, an error as "-ERR ...", nil as null.
    /// Arrays are not decoded (fixtures do not need them). Throws on connection failure or timeout.
    /// </summary>
    public static async Task<string?> SendAsync(int port, TimeSpan timeout, params string[] arguments)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        using var timeoutSource = new CancellationTokenSource(timeout);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), timeoutSource.Token);
        await using var stream = new NetworkStream(socket, ownsSocket: false);

        var request = new StringBuilder();
        request.Append('*').Append(arguments.Length).Append("\r\n");
        foreach (var argument in arguments)
        {
            request.Append('$').Append(Encoding.UTF8.GetByteCount(argument)).Append("\r\n").Append(argument).Append("\r\n");
        }

        await stream.WriteAsync(Encoding.UTF8.GetBytes(request.ToString()), timeoutSource.Token);
        var reader = new ReplyReader(stream);
        var header = await reader.ReadLineAsync(timeoutSource.Token);
        if (header.Length == 0)
        {
            throw new IOException("Empty RESP reply.");
        }

        switch (header[0])
        {
            case '+':
            case ':':
                return header[1..];
            case '-':
                return header;
            case '$':
                var length = int.Parse(header.AsSpan(1), CultureInfo.InvariantCulture);
                return length < 0 ? null : await reader.ReadExactAsync(length, timeoutSource.Token);
            default:
                return header;
        }
    }

    /// <summary>True when the server on <paramref name="port"/> answers PING with PONG within the timeout.</summary>
    public static async Task<bool> PingAsync(int port, TimeSpan timeout)
    {
        try
        {
            return await SendAsync(port, timeout, "PING") == "PONG";
        }
        catch (Exception e) when (e is SocketException or IOException or OperationCanceledException)
        {
            return false;
        }
    }

    private sealed class ReplyReader(Stream stream)
    {
        private readonly MemoryStream _buffer = new();
        private readonly byte[] _chunk = new byte[4096];
        private int _position;

        public async Task<string> ReadLineAsync(CancellationToken cancellationToken)
        {
            while (true)
            {
                var bytes = _buffer.GetBuffer();
                for (var i = _position; i + 1 < _buffer.Length; i++)
                {
                    if (bytes[i] == '\r' && bytes[i + 1] == '\n')
                    {
                        var line = Encoding.UTF8.GetString(bytes, _position, i - _position);
                        _position = i + 2;
                        return line;
                    }
                }

                await FillAsync(cancellationToken);
            }
        }

        public async Task<string> ReadExactAsync(int length, CancellationToken cancellationToken)
        {
            while (_buffer.Length - _position < length + 2)
            {
                await FillAsync(cancellationToken);
            }

            var text = Encoding.UTF8.GetString(_buffer.GetBuffer(), _position, length);
            _position += length + 2;
            return text;
        }

        private async Task FillAsync(CancellationToken cancellationToken)
        {
            var read = await stream.ReadAsync(_chunk, cancellationToken);
            if (read == 0)
            {
                throw new IOException("The Redis server closed the connection.");
            }

            _buffer.Seek(0, SeekOrigin.End);
            _buffer.Write(_chunk, 0, read);
        }
    }
}
