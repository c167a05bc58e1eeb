using System.Buffers.Binary;
using System.Net;
using System.Text;
using SessionRouter.Core.Storage;
using SessionRouter.StateServer.Hosting;
using SessionRouter.StateServer.Wire;

namespace SessionRouter.StateServer.Tests.Protocol;

/// <summary>The batch extension (<c>POST /batch</c>) over real HTTP/1.1 and HTTP/2 requests to a real engine.</summary>
public sealed class BatchProtocolTests : IAsyncLifetime
{
    private StateServerRunner _node = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _node = await StateServerRunner.StartAsync(new StateServerOptions { Port = 0, Http2Port = 0, MaxItemBytes = 4096 });
        _http = new HttpClient { BaseAddress = _node.ClassicAddress };
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _node.DisposeAsync();
    }

    [Fact]
    public async Task ABatch_RunsItsRecordsInOrder_AndAnswersEachInOrder()
    {
        var id = NewId();
        var data = Encoding.UTF8.GetBytes("state");
        var body = Body(
            Record(BatchOperation.CreateUninitialized, id, timeoutMinutes: 20),
            Record(BatchOperation.GetExclusive, id),
            Record(BatchOperation.Set, id, flags: BatchRequestFlags.HasLockId, lockId: 1, timeoutMinutes: 20, data: data),
            Record(BatchOperation.Get, id),
            Record(BatchOperation.Touch, "missing-" + id));

        var answers = await SendAndDecodeAsync(body, 5);

        Assert.Equal(StoreStatus.Ok, answers[0].Status);
        Assert.Equal(StoreStatus.Ok, answers[1].Status);
        Assert.True(answers[1].Item!.IsUninitialized);
        Assert.True(answers[1].Lock.IsHeld);
        Assert.Equal(1, answers[1].Lock.LockId);
        Assert.Equal(StoreStatus.Ok, answers[2].Status);
        Assert.True(answers[2].Version > answers[1].Version);
        Assert.Equal(StoreStatus.Ok, answers[3].Status);
        Assert.Equal(data, answers[3].Item!.Data.ToArray());
        Assert.Equal(TimeSpan.FromMinutes(20), answers[3].Item!.Timeout);
        Assert.False(answers[3].Lock.IsHeld);
        Assert.Equal(StoreStatus.NotFound, answers[4].Status);
    }

    [Fact]
    public async Task AnExclusiveReadOfALockedItem_InABatch_AnswersLockedAtOnce_WithTheHolder()
    {
        var id = NewId();
        var first = await SendAndDecodeAsync(Body(Record(BatchOperation.GetExclusive, id, flags: BatchRequestFlags.CreateIfMissing, timeoutMinutes: 20)), 1);
        Assert.Equal(StoreStatus.Ok, first[0].Status);

        var second = await SendAndDecodeAsync(Body(Record(BatchOperation.GetExclusive, id)), 1);

        Assert.Equal(StoreStatus.Locked, second[0].Status);
        Assert.Equal(first[0].Lock.LockId, second[0].Lock.LockId);
        Assert.Null(second[0].Item);
    }

    /// <summary>The writer's version travels in the version field with flag 16; the answers carry the versions the contract gives.</summary>
    [Fact]
    public async Task AVersionedSet_InABatch_IsAppliedWithItsVersion_AndAnOlderOneIsAConflict()
    {
        var id = NewId();
        var body = Body(
            Record(BatchOperation.Set, id, flags: BatchRequestFlags.HasVersion, version: 40, timeoutMinutes: 20, data: [4]),
            Record(BatchOperation.Set, id, flags: BatchRequestFlags.HasVersion, version: 40, timeoutMinutes: 20, data: [5]),
            Record(BatchOperation.Set, id, flags: BatchRequestFlags.HasVersion, version: 39, timeoutMinutes: 20, data: [6]),
            Record(BatchOperation.Get, id));

        var answers = await SendAndDecodeAsync(body, 4);

        Assert.Equal(StoreStatus.Ok, answers[0].Status);
        Assert.Equal(40, answers[0].Version);
        Assert.Equal(StoreStatus.Ok, answers[1].Status);
        Assert.Equal(40, answers[1].Version);
        Assert.Equal(StoreStatus.VersionConflict, answers[2].Status);
        Assert.Equal(40, answers[2].Version);
        Assert.Equal(new byte[] { 4 }, answers[3].Item!.Data.ToArray());
        Assert.Equal(40, answers[3].Item!.Version);
    }

    /// <summary>A set with flag 32 keeps its lock: the holder's next set still applies, a read by another caller still answers Locked.</summary>
    [Fact]
    public async Task AKeepLockSet_InABatch_KeepsTheLock_UntilASetWithoutIt()
    {
        var id = NewId();
        var body = Body(
            Record(BatchOperation.GetExclusive, id, flags: BatchRequestFlags.CreateIfMissing | BatchRequestFlags.HasLockId, lockId: 7, timeoutMinutes: 20),
            Record(BatchOperation.Set, id, flags: BatchRequestFlags.HasLockId | BatchRequestFlags.KeepLock, lockId: 7, timeoutMinutes: 20, data: [1]),
            Record(BatchOperation.GetExclusive, id),
            Record(BatchOperation.Set, id, flags: BatchRequestFlags.HasLockId | BatchRequestFlags.HasVersion | BatchRequestFlags.KeepLock, lockId: 7, version: 50, timeoutMinutes: 20, data: [2]),
            Record(BatchOperation.GetExclusive, id),
            Record(BatchOperation.Set, id, flags: BatchRequestFlags.HasLockId | BatchRequestFlags.KeepLock, lockId: 8, timeoutMinutes: 20, data: [3]),
            Record(BatchOperation.Set, id, flags: BatchRequestFlags.HasLockId, lockId: 7, timeoutMinutes: 20, data: [4]),
            Record(BatchOperation.Get, id));

        var answers = await SendAndDecodeAsync(body, 8);

        Assert.Equal(StoreStatus.Ok, answers[0].Status);
        Assert.Equal(StoreStatus.Ok, answers[1].Status);
        Assert.Equal(StoreStatus.Locked, answers[2].Status);
        Assert.Equal(7, answers[2].Lock.LockId);
        Assert.Equal(StoreStatus.Ok, answers[3].Status);
        Assert.Equal(50, answers[3].Version);
        Assert.Equal(StoreStatus.Locked, answers[4].Status);
        Assert.Equal(7, answers[4].Lock.LockId);
        Assert.Equal(StoreStatus.LockMismatch, answers[5].Status);
        Assert.Equal(7, answers[5].Lock.LockId);
        Assert.Equal(StoreStatus.Ok, answers[6].Status);
        Assert.Equal(51, answers[6].Version);
        Assert.Equal(new byte[] { 4 }, answers[7].Item!.Data.ToArray());
        Assert.False(answers[7].Lock.IsHeld);
    }

    /// <summary>
    /// A conditional set laid out byte by byte as the batch format was before writer-assigned versions (no
    /// codec involved): clients that never send a version keep working against this engine.
    /// </summary>
    [Fact]
    public async Task ARecordInTheLayoutBeforeVersions_StillDecodesAndRuns()
    {
        var id = Encoding.UTF8.GetBytes(NewId());
        var application = "batch-tests"u8.ToArray();
        byte[] data = [1, 2, 3];
        var record = new byte[40 + application.Length + id.Length + data.Length];
        record[0] = 3;                                                        // set
        record[1] = 2;                                                        // expected version present
        BinaryPrimitives.WriteUInt16LittleEndian(record.AsSpan(2), (ushort)application.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(record.AsSpan(4), (ushort)id.Length);
        BinaryPrimitives.WriteInt32LittleEndian(record.AsSpan(8), 20);        // item timeout, minutes
        BinaryPrimitives.WriteInt32LittleEndian(record.AsSpan(12), data.Length);
        BinaryPrimitives.WriteInt64LittleEndian(record.AsSpan(24), 0);        // expected version 0: create only
        application.CopyTo(record, 40);
        id.CopyTo(record, 40 + application.Length);
        data.CopyTo(record, 40 + application.Length + id.Length);

        var answers = await SendAndDecodeAsync(Body(record, record), 2);

        Assert.Equal(StoreStatus.Ok, answers[0].Status);
        Assert.Equal(1, answers[0].Version);
        Assert.Equal(StoreStatus.AlreadyExists, answers[1].Status);
    }

    [Fact]
    public async Task ABatch_WorksOverHttp2_AsOnTheClassicPort()
    {
        using var handler = new SocketsHttpHandler();
        using var http2 = new HttpClient(handler) { BaseAddress = _node.Http2Address, DefaultRequestVersion = HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };
        var id = NewId();
        using var response = await http2.PostAsync(StateProtocol.BatchPath, new ByteArrayContent(Body(Record(BatchOperation.CreateUninitialized, id), Record(BatchOperation.Get, id))));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(HttpVersion.Version20, response.Version);
        var answers = Decode(await response.Content.ReadAsByteArrayAsync(), 2);
        Assert.Equal(StoreStatus.Ok, answers[1].Status);
    }

    public static TheoryData<string, string> MalformedBodies => new()
    {
        { "preamble", "SRB1" },
        { "count-zero", "between 1 and 1024 records; it declares 0" },
        { "count-too-many", "between 1 and 1024 records; it declares 1025" },
        { "cut-short", "Batch record 1: the record is cut short" },
        { "unknown-operation", "Batch record 1: unknown operation 99" },
        { "unknown-flags", "Batch record 1: unknown flags" },
        { "data-on-a-read", "Batch record 1: operation Get carries no data" },
        { "past-the-end", "Batch record 1: the record's lengths run past the end" },
        { "trailing", "bytes after its 2 records" },
        { "release-without-lock", "Batch record 1: a release needs the lock id" },
        { "slash-in-id", "Batch record 1: a session id cannot contain '/'" },
        { "bad-utf8", "Batch record 1: the application or the session id is not valid UTF-8" },
        { "negative-timeout", "Batch record 1: the timeout must be between" },
        { "empty-id", "Batch record 1: the application and the session id must be non-empty" },
        { "version-and-expected-version", "Batch record 1: a set carries a version or an expected version, never both" },
        { "version-on-a-remove", "Batch record 1: only a set carries a version" },
        { "version-zero", "Batch record 1: only a set carries a version, and it must be positive" },
        { "keep-lock-without-lock-id", "Batch record 1: a set that keeps its lock needs the lock id" },
        { "keep-lock-on-a-release", "Batch record 1: only a set keeps its lock" },
        { "keep-lock-on-an-exclusive-read", "Batch record 1: only a set keeps its lock" },
    };

    /// <summary>Every malformed batch is refused whole with 400 and a message naming the record; its valid first record is not applied.</summary>
    [Theory]
    [MemberData(nameof(MalformedBodies))]
    public async Task AMalformedBatch_IsRefusedWhole_WithAMessage_AndNothingOfItIsApplied(string kind, string expectedMessage)
    {
        var id = NewId();
        var valid = Record(BatchOperation.Set, id, timeoutMinutes: 20, data: [1, 2, 3]);
        var body = kind switch
        {
            "preamble" => [.. "XXXX"u8, 1, 0, 0, 0, .. valid],
            "count-zero" => Body(),
            "count-too-many" => WithCount(Body(valid), BatchCodec.MaxOperations + 1),
            "cut-short" => Body(valid, Record(BatchOperation.Get, id)[..20]),
            "unknown-operation" => Body(valid, Patched(Record(BatchOperation.Get, id), 0, 99)),
            "unknown-flags" => Body(valid, Patched(Record(BatchOperation.Get, id), 1, 0x80)),
            "data-on-a-read" => Body(valid, Record(BatchOperation.Get, id, data: [1])),
            "past-the-end" => Body(valid, Record(BatchOperation.Set, id, data: [1, 2, 3, 4])[..^2]),
            "trailing" => [.. Body(valid, Record(BatchOperation.Get, id)), 0],
            "release-without-lock" => Body(valid, Record(BatchOperation.Release, id)),
            "slash-in-id" => Body(valid, Record(BatchOperation.Get, "a/b")),
            "bad-utf8" => Body(valid, RawRecord(BatchOperation.Get, "app"u8.ToArray(), [0xC3, 0x28])),
            "negative-timeout" => Body(valid, Record(BatchOperation.Touch, id, timeoutMinutes: -1)),
            "empty-id" => Body(valid, RawRecord(BatchOperation.Get, "app"u8.ToArray(), [])),
            "version-and-expected-version" => Body(valid, Record(BatchOperation.Set, id, flags: BatchRequestFlags.HasVersion | BatchRequestFlags.HasExpectedVersion, version: 5, data: [1])),
            "version-on-a-remove" => Body(valid, Record(BatchOperation.Remove, id, flags: BatchRequestFlags.HasVersion, version: 5)),
            "version-zero" => Body(valid, Record(BatchOperation.Set, id, flags: BatchRequestFlags.HasVersion, version: 0, data: [1])),
            "keep-lock-without-lock-id" => Body(valid, Record(BatchOperation.Set, id, flags: BatchRequestFlags.KeepLock, data: [1])),
            "keep-lock-on-a-release" => Body(valid, Record(BatchOperation.Release, id, flags: BatchRequestFlags.HasLockId | BatchRequestFlags.KeepLock, lockId: 1)),
            "keep-lock-on-an-exclusive-read" => Body(valid, Record(BatchOperation.GetExclusive, id, flags: BatchRequestFlags.HasLockId | BatchRequestFlags.KeepLock, lockId: 1)),
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };

        using var response = await _http.PostAsync(StateProtocol.BatchPath, new ByteArrayContent(body));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(expectedMessage, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var after = await SendAndDecodeAsync(Body(Record(BatchOperation.Get, id)), 1);
        Assert.Equal(StoreStatus.NotFound, after[0].Status);
    }

    /// <summary>
    /// A record announcing a data length near int.MaxValue: header, key and data lengths added in 32 bits
    /// would wrap to a negative total that passes the bounds check. Sent as raw bytes to a real engine, so
    /// nothing on the way rewrites or checks the body.
    /// </summary>
    [Theory]
    [InlineData(int.MaxValue)]
    [InlineData(int.MaxValue - 40)]
    [InlineData(int.MaxValue - 60)]
    [InlineData(int.MinValue + 1)]
    public async Task ARecordAnnouncingADataLengthNearIntMaxValue_Is400_WithAMessage(int announced)
    {
        var id = NewId();
        var record = Record(BatchOperation.Set, id, timeoutMinutes: 20, data: [1, 2, 3]);
        BinaryPrimitives.WriteInt32LittleEndian(record.AsSpan(12), announced);
        var body = Body(Record(BatchOperation.Set, id, timeoutMinutes: 20, data: [9]), record);

        var response = await RawHttp.SendAsync(_node.Port, Encoding.ASCII.GetBytes($"POST {StateProtocol.BatchPath} HTTP/1.1\r\nHost: x\r\nContent-Length: {body.Length}\r\n\r\n"), body);

        Assert.Equal(400, response.StatusCode);
        Assert.Contains(announced < 0 ? "Batch record 1: the data length must not be negative" : "Batch record 1: the record's lengths run past the end", response.BodyText, StringComparison.Ordinal);
        var after = await SendAndDecodeAsync(Body(Record(BatchOperation.Get, id)), 1);
        Assert.Equal(StoreStatus.NotFound, after[0].Status);
    }

    [Fact]
    public async Task AnItemOverMaxItemBytes_InABatch_IsAnsweredTooLarge_AndItsBatchmatesStillRun()
    {
        var id = NewId();
        var body = Body(Record(BatchOperation.Set, "big-" + id, timeoutMinutes: 20, data: new byte[5000]), Record(BatchOperation.Set, id, timeoutMinutes: 20, data: [7]));

        var answers = await SendAndDecodeAsync(body, 2);

        Assert.Equal(StoreStatus.TooLarge, answers[0].Status);
        Assert.Equal(StoreStatus.Ok, answers[1].Status);
    }

    /// <summary>Over a raw socket, so the answer is read before any of the body is sent (an HTTP client still uploading could see a reset instead).</summary>
    [Fact]
    public async Task ABatchOverTheBodyLimit_Is413_WithAMessage()
    {
        var response = await RawHttp.SendAsync(_node.Port, $"POST {StateProtocol.BatchPath} HTTP/1.1\r\nHost: localhost\r\nContent-Length: {2 * StateProtocol.MinBatchLimitBytes}\r\n\r\n");

        Assert.Equal(413, response.StatusCode);
        Assert.Contains("batch limit", response.BodyText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheBatchPath_AnswersPostOnly()
    {
        using var response = await _http.GetAsync(StateProtocol.BatchPath);

        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        Assert.Contains("POST", response.Content.Headers.Allow);
    }

    [Fact]
    public async Task ABatchWithoutTheAccessKey_IsRefused401_AndNothingIsApplied()
    {
        await using var guarded = await StateServerRunner.StartAsync(new StateServerOptions { Port = 0, Http2Port = -1, AccessKey = "batch-secret-key-0123456789" });
        using var http = new HttpClient { BaseAddress = guarded.ClassicAddress };
        var id = NewId();

        using var refused = await http.PostAsync(StateProtocol.BatchPath, new ByteArrayContent(Body(Record(BatchOperation.Set, id, timeoutMinutes: 20, data: [1]))));
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);

        using var check = new HttpRequestMessage(HttpMethod.Post, StateProtocol.BatchPath) { Content = new ByteArrayContent(Body(Record(BatchOperation.Get, id))) };
        check.Headers.Add(StateProtocol.AccessKey, "batch-secret-key-0123456789");
        using var answer = await http.SendAsync(check);
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.Equal(StoreStatus.NotFound, Decode(await answer.Content.ReadAsByteArrayAsync(), 1)[0].Status);
    }

    private static string NewId() => Guid.NewGuid().ToString("N");

    private async Task<BatchAnswer[]> SendAndDecodeAsync(byte[] body, int expected)
    {
        using var response = await _http.PostAsync(StateProtocol.BatchPath, new ByteArrayContent(body));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(StateProtocol.BatchContentType, response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(StateProtocol.AspNetVersionValue, response.Headers.GetValues(StateProtocol.AspNetVersion).Single());
        return Decode(await response.Content.ReadAsByteArrayAsync(), expected);
    }

    private static BatchAnswer[] Decode(byte[] bytes, int expected)
    {
        var answers = new BatchAnswer[expected];
        Assert.True(BatchCodec.TryReadAnswers(bytes, expected, answers, out var error), error);
        return answers;
    }

    private static byte[] Body(params byte[][] records)
    {
        var body = new byte[BatchCodec.PreambleBytes + records.Sum(r => r.Length)];
        BatchCodec.WritePreamble(body, records.Length);
        var offset = BatchCodec.PreambleBytes;
        foreach (var record in records)
        {
            record.CopyTo(body, offset);
            offset += record.Length;
        }

        return body;
    }

    private static byte[] WithCount(byte[] body, int count)
    {
        BinaryPrimitives.WriteInt32LittleEndian(body.AsSpan(4), count);
        return body;
    }

    private static byte[] Patched(byte[] record, int index, byte value)
    {
        record[index] = value;
        return record;
    }

    private static byte[] Record(BatchOperation operation, string id, BatchRequestFlags flags = BatchRequestFlags.None, long lockId = 0, int timeoutMinutes = 0, byte[]? data = null, long version = 0) =>
        RawRecord(operation, "batch-tests"u8.ToArray(), Encoding.UTF8.GetBytes(id), flags, lockId, timeoutMinutes, data, version);

    private static byte[] RawRecord(BatchOperation operation, byte[] application, byte[] id, BatchRequestFlags flags = BatchRequestFlags.None, long lockId = 0, int timeoutMinutes = 0, byte[]? data = null, long version = 0)
    {
        data ??= [];
        var record = new byte[BatchCodec.RequestSize(application.Length, id.Length, data.Length)];
        BatchCodec.WriteRequest(record, operation, flags, application, id, timeoutMinutes, lockId, version, 0, data);
        return record;
    }
}
