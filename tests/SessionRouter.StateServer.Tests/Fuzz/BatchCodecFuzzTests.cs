using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using SessionRouter.StateServer.Wire;

namespace SessionRouter.StateServer.Tests.Fuzz;

/// <summary>A mutated batch body (what the engine decodes).</summary>
public sealed record MutatedBatchBody(FuzzInput Input)
{
    public override string ToString() => Input.ToString();
}

/// <summary>A mutated batch answer and the record count the client expects (what the client decodes).</summary>
public sealed record MutatedBatchAnswer(FuzzInput Input, int Expected)
{
    public override string ToString() => $"expecting {Expected}: {Input}";
}

/// <summary>The generators of <see cref="FuzzInputs"/> as FsCheck arbitraries.</summary>
public static class BatchFuzzArbitraries
{
    public static Arbitrary<MutatedBatchBody> Bodies() =>
        Arb.From(Gen.Frequency((3, FuzzInputs.MutatedBatches), (1, FuzzInputs.LyingLengths)).Select(input => new MutatedBatchBody(input)));

    public static Arbitrary<MutatedBatchAnswer> Answers() => Arb.From(FuzzInputs.MutatedAnswers.Select(pair => new MutatedBatchAnswer(pair.Answer, pair.Expected)));
}

/// <summary>
/// The batch codec fed thousands of mutated bodies and answers in process (a second or so each): it
/// never throws, and whatever it accepts is exactly the bytes it was given, record by record.
/// </summary>
public sealed class BatchCodecFuzzTests
{
    private const int Cases = 3000;

    [Property(MaxTest = Cases, Arbitrary = [typeof(BatchFuzzArbitraries)])]
    public void TheRequestDecoder_NeverThrows_AndWhatItAcceptsTilesTheBodyExactly(MutatedBatchBody body)
    {
        var bytes = body.Input.Bytes;

        var accepted = BatchCodec.TryReadRequests(bytes, out var requests, out var error);

        if (!accepted)
        {
            Assert.Empty(requests);
            Assert.False(string.IsNullOrWhiteSpace(error));
            return;
        }

        Assert.InRange(requests.Length, 1, BatchCodec.MaxOperations);
        Assert.Equal(requests.Length, BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(4)));
        long total = BatchCodec.PreambleBytes;
        var end = BatchCodec.PreambleBytes;
        foreach (var request in requests)
        {
            Assert.InRange((int)request.Operation, 1, 7);
            Assert.False(string.IsNullOrEmpty(request.Key.Application));
            Assert.False(string.IsNullOrEmpty(request.Key.SessionId));
            Assert.DoesNotContain('/', request.Key.SessionId);
            Assert.InRange(request.TimeoutMinutes, 0, StateProtocol.MaxTimeoutMinutes);
            if (request.Has(BatchRequestFlags.HasVersion))
            {
                // A writer-assigned version: a set's, positive, and never beside an expected version.
                Assert.Equal(BatchOperation.Set, request.Operation);
                Assert.True(request.Version > 0);
                Assert.False(request.Has(BatchRequestFlags.HasExpectedVersion));
            }

            if (request.Has(BatchRequestFlags.KeepLock))
            {
                // A kept lock: a set's, and only with the lock id it keeps.
                Assert.Equal(BatchOperation.Set, request.Operation);
                Assert.True(request.Has(BatchRequestFlags.HasLockId));
            }

            total += BatchCodec.RequestHeaderBytes + Encoding.UTF8.GetByteCount(request.Key.Application) + Encoding.UTF8.GetByteCount(request.Key.SessionId) + request.Data.Length;

            // The data are a slice of the body itself, in order, within its bounds.
            if (request.Data.Length > 0)
            {
                Assert.True(MemoryMarshal.TryGetArray(request.Data, out var segment));
                Assert.Same(bytes, segment.Array);
                Assert.True(segment.Offset >= end && segment.Offset + segment.Count <= bytes.Length);
                end = segment.Offset + segment.Count;
            }
        }

        Assert.Equal(bytes.Length, total);
    }

    [Property(MaxTest = Cases, Arbitrary = [typeof(BatchFuzzArbitraries)])]
    public void TheAnswerDecoder_NeverThrows_AndWhatItAcceptsTilesTheAnswerExactly(MutatedBatchAnswer answer)
    {
        var bytes = answer.Input.Bytes;
        var answers = new BatchAnswer[answer.Expected];

        var accepted = BatchCodec.TryReadAnswers(bytes, answer.Expected, answers, out var error);

        if (!accepted)
        {
            Assert.False(string.IsNullOrWhiteSpace(error));
            return;
        }

        long total = BatchCodec.PreambleBytes;
        foreach (var decoded in answers)
        {
            Assert.True(Enum.IsDefined(decoded.Status));
            total += BatchCodec.AnswerHeaderBytes + (decoded.Item?.Data.Length ?? 0);
            if (decoded.Item is { } item)
            {
                Assert.InRange(item.Timeout, TimeSpan.Zero, TimeSpan.FromMinutes(StateProtocol.MaxTimeoutMinutes));
            }
        }

        // Data of records without an item are skipped, so an accepted answer is at least as long as what the items hold.
        Assert.True(bytes.Length >= total);
    }
}
