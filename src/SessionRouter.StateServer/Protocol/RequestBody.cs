using System.Buffers;
using System.IO.Pipelines;

namespace SessionRouter.StateServer.Protocol;

/// <summary>
/// A whole request body read straight from the request's PipeReader (no stream adapter) into a pooled
/// buffer, bounded by a byte limit. Dispose returns the buffer.
/// </summary>
internal readonly struct RequestBody : IDisposable
{
    private readonly byte[]? _buffer;

    private RequestBody(byte[]? buffer, int length, bool tooLarge)
    {
        _buffer = buffer;
        Length = length;
        IsTooLarge = tooLarge;
    }

    /// <summary>True when the body ran past the limit (nothing was kept).</summary>
    public bool IsTooLarge { get; }

    public int Length { get; }

    public ReadOnlyMemory<byte> Memory => _buffer is null ? ReadOnlyMemory<byte>.Empty : _buffer.AsMemory(0, Length);

    /// <param name="reader">The request's body.</param>
    /// <param name="maxBytes">The most bytes kept; at most <see cref="Array.MaxLength"/>, so the length read always fits one array.</param>
    /// <param name="aborted">The request's abort token.</param>
    public static async ValueTask<RequestBody> ReadAsync(PipeReader reader, long maxBytes, CancellationToken aborted)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxBytes, Array.MaxLength);
        ReadResult read;
        while (true)
        {
            read = await reader.ReadAsync(aborted);
            if (read.Buffer.Length > maxBytes)
            {
                reader.AdvanceTo(read.Buffer.End);
                return new RequestBody(null, 0, tooLarge: true);
            }

            if (read.IsCompleted)
            {
                break;
            }

            if (read.IsCanceled)
            {
                // A cancelled read is not the end of the body: acting on what arrived so far would store a
                // truncated item. Nothing is applied; the request ends as aborted.
                reader.AdvanceTo(read.Buffer.Start);
                throw new OperationCanceledException("The request body read was cancelled before the body was complete.", aborted);
            }

            reader.AdvanceTo(read.Buffer.Start, read.Buffer.End);
        }

        var length = (int)read.Buffer.Length; // at most maxBytes, checked above
        var buffer = length == 0 ? null : ArrayPool<byte>.Shared.Rent(length);
        read.Buffer.CopyTo(buffer);
        reader.AdvanceTo(read.Buffer.End);
        return new RequestBody(buffer, length, tooLarge: false);
    }

    public void Dispose()
    {
        if (_buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
        }
    }
}
