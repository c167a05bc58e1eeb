using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace SessionRouter.StateServer.Tests.Protocol;

/// <summary>One HTTP/2 frame as read from the wire.</summary>
internal readonly record struct Http2Frame(byte Type, byte Flags, int StreamId, byte[] Payload)
{
    public const byte Data = 0;
    public const byte Headers = 1;
    public const byte Settings = 4;
    public const byte Ping = 6;
    public const byte GoAway = 7;
}

/// <summary>
/// A bare HTTP/2 cleartext connection that a test drives frame by frame: it sends exactly what it is
/// told (and nothing else, so it never answers a PING unless asked), which no HTTP client library does.
/// Header blocks use HPACK literals without indexing only, which every decoder accepts.
/// </summary>
internal sealed class RawHttp2 : IDisposable
{
    private static readonly byte[] Preface = Encoding.ASCII.GetBytes("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

    private RawHttp2(Socket socket)
    {
        Socket = socket;
    }

    public Socket Socket { get; }

    /// <summary>Connects and sends the preface and an empty SETTINGS frame.</summary>
    public static async Task<RawHttp2> OpenAsync(int port, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), cancellationToken);
            var connection = new RawHttp2(socket);
            await connection.SendAsync([.. Preface, .. Frame(Http2Frame.Settings, 0, 0, [])], cancellationToken);
            return connection;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Sends a request's HEADERS frame (END_HEADERS, and END_STREAM when <paramref name="endStream"/>).</summary>
    public Task SendHeadersAsync(int streamId, IEnumerable<(string Name, string Value)> headers, bool endStream, CancellationToken cancellationToken)
    {
        var block = new List<byte>();
        foreach (var (name, value) in headers)
        {
            block.Add(0); // literal header field without indexing, new name
            AddString(block, name);
            AddString(block, value);
        }

        return SendAsync(Frame(Http2Frame.Headers, (byte)(endStream ? 0x5 : 0x4), streamId, [.. block]), cancellationToken);
    }

    /// <summary>Reads the next frame; null when the peer closed the connection (end of stream or reset).</summary>
    public async Task<Http2Frame?> ReadFrameAsync(CancellationToken cancellationToken)
    {
        var header = new byte[9];
        if (!await ReadExactlyAsync(header, cancellationToken))
        {
            return null;
        }

        var length = (header[0] << 16) | (header[1] << 8) | header[2];
        var payload = new byte[length];
        if (!await ReadExactlyAsync(payload, cancellationToken))
        {
            return null;
        }

        return new Http2Frame(header[3], header[4], BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(5)) & int.MaxValue, payload);
    }

    public void Dispose() => Socket.Dispose();

    public static byte[] Frame(byte type, byte flags, int streamId, byte[] payload)
    {
        var frame = new byte[9 + payload.Length];
        frame[0] = (byte)(payload.Length >> 16);
        frame[1] = (byte)(payload.Length >> 8);
        frame[2] = (byte)payload.Length;
        frame[3] = type;
        frame[4] = flags;
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(5), streamId);
        payload.CopyTo(frame, 9);
        return frame;
    }

    private async Task SendAsync(byte[] bytes, CancellationToken cancellationToken) =>
        await Socket.SendAsync(bytes, SocketFlags.None, cancellationToken);

    private async Task<bool> ReadExactlyAsync(byte[] buffer, CancellationToken cancellationToken)
    {
        var offset = 0;
        while (offset < buffer.Length)
        {
            int read;
            try
            {
                read = await Socket.ReceiveAsync(buffer.AsMemory(offset), SocketFlags.None, cancellationToken);
            }
            catch (SocketException)
            {
                return false;
            }

            if (read == 0)
            {
                return false;
            }

            offset += read;
        }

        return true;
    }

    private static void AddString(List<byte> block, string text)
    {
        // Short strings only (a 7-bit length prefix, no Huffman coding): what the tests send.
        var bytes = Encoding.ASCII.GetBytes(text);
        if (bytes.Length > 126)
        {
            throw new ArgumentException("RawHttp2 encodes strings of at most 126 bytes.", nameof(text));
        }

        block.Add((byte)bytes.Length);
        block.AddRange(bytes);
    }
}
