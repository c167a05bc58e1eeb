using System.Buffers.Binary;
using SessionRouter.Core.Storage;
using SessionRouter.StateServer.Wire;

namespace SessionRouter.StateServer.Tests.Protocol;

/// <summary>The contention stream's framing: round trips, frames cut anywhere, and every malformed frame refused with a reason.</summary>
public sealed class ContentionCodecTests
{
    private static readonly LockContention Sample = new(new SessionKey("/app é", "abc-123"), 42);

    [Fact]
    public void AFrame_RoundTrips_AndReportsItsLength()
    {
        var frame = Encode(Sample);

        Assert.Equal(ContentionFrameStatus.Complete, ContentionCodec.TryReadFrame(frame, out var decoded, out var consumed, out _));
        Assert.Equal(Sample, decoded);
        Assert.Equal(frame.Length, consumed);
    }

    [Fact]
    public void AFrameCutAnywhere_IsIncomplete_AndConsumesNothing()
    {
        var frame = Encode(Sample);
        for (var length = 0; length < frame.Length; length++)
        {
            Assert.Equal(ContentionFrameStatus.Incomplete, ContentionCodec.TryReadFrame(frame.AsSpan(0, length), out _, out var consumed, out _));
            Assert.Equal(0, consumed);
        }
    }

    [Fact]
    public void TwoFramesInARow_DecodeOneAfterTheOther()
    {
        var second = new LockContention(new SessionKey("b", "x"), long.MaxValue);
        byte[] bytes = [.. Encode(Sample), .. Encode(second)];

        Assert.Equal(ContentionFrameStatus.Complete, ContentionCodec.TryReadFrame(bytes, out var first, out var consumed, out _));
        Assert.Equal(ContentionFrameStatus.Complete, ContentionCodec.TryReadFrame(bytes.AsSpan(consumed), out var next, out _, out _));
        Assert.Equal(Sample, first);
        Assert.Equal(second, next);
    }

    [Fact]
    public void ThePreamble_IsSRC1()
    {
        var preamble = new byte[ContentionCodec.PreambleBytes];
        ContentionCodec.WritePreamble(preamble);

        Assert.Equal("SRC1"u8.ToArray(), preamble);
        Assert.True(ContentionCodec.IsPreamble(preamble));
        Assert.False(ContentionCodec.IsPreamble("SRB1"u8));
    }

    public static TheoryData<string, byte[], string> MalformedFrames => new()
    {
        { "empty-application", Frame(0, 3, 1, "abc"u8), "non-empty" },
        { "empty-id", Frame(3, 0, 1, "abc"u8), "non-empty" },
        { "id-too-long", Frame(1, 513, 1, new byte[514]), "at most 512" },
        { "zero-lock-id", Frame(1, 1, 0, "ab"u8), "lock id must be positive" },
        { "negative-lock-id", Frame(1, 1, -7, "ab"u8), "lock id must be positive" },
        { "invalid-utf8", Frame(1, 1, 1, [0x61, 0xFF]), "UTF-8" },
        { "slash-in-id", Frame(1, 3, 1, "aa/b"u8), "'/'" },
    };

    [Theory]
    [MemberData(nameof(MalformedFrames))]
    public void AMalformedFrame_IsRefusedWithItsReason(string kind, byte[] frame, string reason)
    {
        Assert.Equal(ContentionFrameStatus.Malformed, ContentionCodec.TryReadFrame(frame, out _, out var consumed, out var error));
        Assert.Equal(0, consumed);
        Assert.Contains(reason, error, StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(kind));
    }

    [Fact]
    public void AKeyTheFramingCannotCarry_HasNoFrameSize()
    {
        Assert.Equal(-1, ContentionCodec.FrameSize(new LockContention(new SessionKey("a", new string('x', 513)), 1)));
        Assert.Equal(-1, ContentionCodec.FrameSize(new LockContention(new SessionKey(string.Empty, "x"), 1)));
        Assert.Equal(-1, ContentionCodec.FrameSize(new LockContention(new SessionKey(new string('a', 70_000), "x"), 1)));
    }

    private static byte[] Encode(LockContention contention)
    {
        var frame = new byte[ContentionCodec.FrameSize(contention)];
        Assert.Equal(frame.Length, ContentionCodec.WriteFrame(frame, contention));
        return frame;
    }

    private static byte[] Frame(int applicationBytes, int idBytes, long lockId, ReadOnlySpan<byte> rest)
    {
        var frame = new byte[ContentionCodec.FrameHeaderBytes + rest.Length];
        BinaryPrimitives.WriteUInt16LittleEndian(frame, (ushort)applicationBytes);
        BinaryPrimitives.WriteUInt16LittleEndian(frame.AsSpan(2), (ushort)idBytes);
        BinaryPrimitives.WriteInt64LittleEndian(frame.AsSpan(4), lockId);
        rest.CopyTo(frame.AsSpan(ContentionCodec.FrameHeaderBytes));
        return frame;
    }

}
