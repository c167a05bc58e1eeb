using System.Buffers.Binary;
using System.Text;
using SessionRouter.Core.Storage;

namespace SessionRouter.StateServer.Wire;

/// <summary>The store operation of one batch record.</summary>
internal enum BatchOperation : byte
{
    Get = 1,
    GetExclusive = 2,
    Set = 3,
    Release = 4,
    Remove = 5,
    Touch = 6,
    CreateUninitialized = 7,
}

/// <summary>Which optional fields of a batch request record are present.</summary>
[Flags]
internal enum BatchRequestFlags : byte
{
    None = 0,
    HasLockId = 1,
    HasExpectedVersion = 2,
    HasLockTimeout = 4,
    CreateIfMissing = 8,

    /// <summary>A set whose version field is the version the writer assigns (never with <see cref="HasExpectedVersion"/>).</summary>
    HasVersion = 16,

    /// <summary>
    /// A set with <see cref="HasLockId"/> that keeps the lock for its holder, its age restarting, instead of
    /// releasing it (<c>SessionWrite.KeepLock</c>). On any other record, or without the lock id, the batch is malformed.
    /// </summary>
    KeepLock = 32,
}

/// <summary>One decoded request record of a batch (the engine's side).</summary>
/// <param name="Version">
/// The record's version field: the expected version with <see cref="BatchRequestFlags.HasExpectedVersion"/>, the
/// version the writer assigns with <see cref="BatchRequestFlags.HasVersion"/>. A write carries one or the other,
/// never both, so the two share the field.
/// </param>
internal readonly record struct BatchRequest(
    BatchOperation Operation,
    BatchRequestFlags Flags,
    SessionKey Key,
    int TimeoutMinutes,
    long LockId,
    long Version,
    long LockTimeoutMilliseconds,
    ReadOnlyMemory<byte> Data)
{
    public bool Has(BatchRequestFlags flag) => (Flags & flag) == flag;
}

/// <summary>One answer record of a batch: the fields of a read or write result.</summary>
internal readonly record struct BatchAnswer(StoreStatus Status, SessionItem? Item, SessionLock Lock, bool TookOver, long Version)
{
    public static BatchAnswer FromRead(SessionReadResult read) => new(read.Status, read.Item, read.Lock, read.TookOver, read.Item?.Version ?? 0);

    public static BatchAnswer FromWrite(SessionWriteResult write) => new(write.Status, null, write.Lock, false, write.Version);

    public SessionReadResult ToRead() => new(Status, Item, Lock, TookOver);

    public SessionWriteResult ToWrite() => new(Status, Version, Lock);
}

/// <summary>
/// The binary layout of the engine's batch extension (<c>POST /batch</c>, docs/engine.md, "Batches"): several
/// store operations in one HTTP request, answered in one response in the same order. Fixed-size
/// little-endian record headers, so neither side parses text on this path; every length is checked
/// against what is left before it is used.
/// </summary>
internal static class BatchCodec
{
    /// <summary>"SRB1": the first four bytes of every batch body and every batch answer.</summary>
    public const uint Magic = 0x31425253;

    public const int PreambleBytes = 8;
    public const int RequestHeaderBytes = 40;
    public const int AnswerHeaderBytes = 48;

    /// <summary>The most records one batch may carry.</summary>
    public const int MaxOperations = 1024;


    public static void WritePreamble(Span<byte> destination, int count)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(destination, Magic);
        BinaryPrimitives.WriteInt32LittleEndian(destination[4..], count);
    }

    /// <summary>Bytes of one request record; throws <see cref="OverflowException"/> rather than wrap.</summary>
    public static int RequestSize(int applicationBytes, int idBytes, int dataBytes) => checked(RequestHeaderBytes + applicationBytes + idBytes + dataBytes);

    /// <summary>Writes one request record; returns its length. <paramref name="destination"/> must hold <see cref="RequestSize"/> bytes.</summary>
    public static int WriteRequest(
        Span<byte> destination,
        BatchOperation operation,
        BatchRequestFlags flags,
        ReadOnlySpan<byte> application,
        ReadOnlySpan<byte> id,
        int timeoutMinutes,
        long lockId,
        long version,
        long lockTimeoutMilliseconds,
        ReadOnlySpan<byte> data)
    {
        WriteRequestHeader(destination, operation, flags, application.Length, id.Length, timeoutMinutes, lockId, version, lockTimeoutMilliseconds, data.Length);
        var offset = RequestHeaderBytes;
        application.CopyTo(destination[offset..]);
        offset += application.Length;
        id.CopyTo(destination[offset..]);
        offset += id.Length;
        data.CopyTo(destination[offset..]);
        return offset + data.Length;
    }

    /// <summary>
    /// Writes the fixed header of a request record; the application name, the session id and the data
    /// follow it in that order, with the lengths given here. <paramref name="version"/> is the expected
    /// version or the writer's version, as <paramref name="flags"/> say.
    /// </summary>
    public static void WriteRequestHeader(
        Span<byte> destination,
        BatchOperation operation,
        BatchRequestFlags flags,
        int applicationBytes,
        int idBytes,
        int timeoutMinutes,
        long lockId,
        long version,
        long lockTimeoutMilliseconds,
        int dataBytes)
    {
        destination[0] = (byte)operation;
        destination[1] = (byte)flags;
        BinaryPrimitives.WriteUInt16LittleEndian(destination[2..], (ushort)applicationBytes);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[4..], (ushort)idBytes);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[6..], 0);
        BinaryPrimitives.WriteInt32LittleEndian(destination[8..], timeoutMinutes);
        BinaryPrimitives.WriteInt32LittleEndian(destination[12..], dataBytes);
        BinaryPrimitives.WriteInt64LittleEndian(destination[16..], lockId);
        BinaryPrimitives.WriteInt64LittleEndian(destination[24..], version);
        BinaryPrimitives.WriteInt64LittleEndian(destination[32..], lockTimeoutMilliseconds);
    }

    /// <summary>
    /// Decodes a whole batch body; nothing is executed unless every record is valid. The records' data
    /// point into <paramref name="body"/>. The error names the record and the field.
    /// </summary>
    public static bool TryReadRequests(ReadOnlyMemory<byte> body, out BatchRequest[] requests, out string error)
    {
        requests = [];
        var span = body.Span;
        if (span.Length < PreambleBytes || BinaryPrimitives.ReadUInt32LittleEndian(span) != Magic)
        {
            error = "A batch body must start with the 'SRB1' preamble.";
            return false;
        }

        var count = BinaryPrimitives.ReadInt32LittleEndian(span[4..]);
        if (count is < 1 or > MaxOperations)
        {
            error = $"A batch must carry between 1 and {MaxOperations} records; it declares {count}.";
            return false;
        }

        var decoded = new BatchRequest[count];
        var offset = PreambleBytes;
        for (var i = 0; i < count; i++)
        {
            if (!TryReadRequest(body, ref offset, out decoded[i], out var reason))
            {
                error = $"Batch record {i}: {reason}";
                return false;
            }
        }

        if (offset != span.Length)
        {
            error = $"The batch body has {span.Length - offset} bytes after its {count} records.";
            return false;
        }

        requests = decoded;
        error = string.Empty;
        return true;
    }

    private static bool TryReadRequest(ReadOnlyMemory<byte> body, ref int offset, out BatchRequest request, out string error)
    {
        request = default;
        var span = body.Span[offset..];
        if (span.Length < RequestHeaderBytes)
        {
            error = "the record is cut short.";
            return false;
        }

        var operation = (BatchOperation)span[0];
        if (operation is < BatchOperation.Get or > BatchOperation.CreateUninitialized)
        {
            error = $"unknown operation {span[0]}.";
            return false;
        }

        var flags = (BatchRequestFlags)span[1];
        var applicationBytes = BinaryPrimitives.ReadUInt16LittleEndian(span[2..]);
        var idBytes = BinaryPrimitives.ReadUInt16LittleEndian(span[4..]);
        var timeoutMinutes = BinaryPrimitives.ReadInt32LittleEndian(span[8..]);
        var dataBytes = BinaryPrimitives.ReadInt32LittleEndian(span[12..]);
        var lockId = BinaryPrimitives.ReadInt64LittleEndian(span[16..]);
        var version = BinaryPrimitives.ReadInt64LittleEndian(span[24..]);
        var lockTimeout = BinaryPrimitives.ReadInt64LittleEndian(span[32..]);

        if ((flags & ~(BatchRequestFlags.HasLockId | BatchRequestFlags.HasExpectedVersion | BatchRequestFlags.HasLockTimeout | BatchRequestFlags.CreateIfMissing | BatchRequestFlags.HasVersion | BatchRequestFlags.KeepLock)) != 0)
        {
            error = $"unknown flags {span[1]}.";
            return false;
        }

        if (applicationBytes == 0 || idBytes == 0 || idBytes > StateProtocol.MaxSessionIdBytes)
        {
            error = $"the application and the session id must be non-empty and the id at most {StateProtocol.MaxSessionIdBytes} bytes.";
            return false;
        }

        if (timeoutMinutes is < 0 or > StateProtocol.MaxTimeoutMinutes)
        {
            error = $"the timeout must be between 0 and {StateProtocol.MaxTimeoutMinutes} minutes.";
            return false;
        }

        if (lockTimeout is < 0 or > int.MaxValue || lockId < 0 || version < 0)
        {
            error = "the lock id, version and lock timeout must be non-negative (the lock timeout at most int.MaxValue ms).";
            return false;
        }

        if ((flags & BatchRequestFlags.HasVersion) != 0)
        {
            // The writer's version and an expected version share the field: a record cannot carry both, and
            // the contract refuses a write that asks for both anyway.
            if ((flags & BatchRequestFlags.HasExpectedVersion) != 0)
            {
                error = "a set carries a version or an expected version, never both.";
                return false;
            }

            if (operation != BatchOperation.Set || version == 0)
            {
                error = "only a set carries a version, and it must be positive.";
                return false;
            }
        }

        if ((flags & BatchRequestFlags.KeepLock) != 0)
        {
            // Checked here, not left to the store: the contract throws for a keep without a lock, and a
            // keep on another operation would be silently ignored while the caller believes its lock is kept.
            if (operation != BatchOperation.Set)
            {
                error = "only a set keeps its lock.";
                return false;
            }

            if ((flags & BatchRequestFlags.HasLockId) == 0)
            {
                error = "a set that keeps its lock needs the lock id.";
                return false;
            }
        }

        if (operation == BatchOperation.Release && (flags & BatchRequestFlags.HasLockId) == 0)
        {
            error = "a release needs the lock id.";
            return false;
        }

        var carriesData = operation is BatchOperation.Set or BatchOperation.CreateUninitialized;
        if (dataBytes < 0)
        {
            error = $"the data length must not be negative; the record declares {dataBytes} bytes.";
            return false;
        }

        if (dataBytes > 0 && !carriesData)
        {
            error = $"operation {operation} carries no data; the record declares {dataBytes} bytes.";
            return false;
        }

        // Each length is compared with what is left of the body, never added up first: a data length near
        // int.MaxValue added to the others would wrap to a negative total that passes a "fits" test.
        var left = span.Length - RequestHeaderBytes;
        if (applicationBytes > left || idBytes > left - applicationBytes || dataBytes > left - applicationBytes - idBytes)
        {
            error = $"the record's lengths run past the end of the body (application {applicationBytes}, id {idBytes}, data {dataBytes} bytes; {left} bytes left after the record header).";
            return false;
        }

        var length = RequestHeaderBytes + applicationBytes + idBytes + dataBytes;

        if (!WireSessionKey.TryDecode(span.Slice(RequestHeaderBytes, applicationBytes), span.Slice(RequestHeaderBytes + applicationBytes, idBytes), out var key, out error))
        {
            return false;
        }

        var data = body.Slice(offset + RequestHeaderBytes + applicationBytes + idBytes, dataBytes);
        request = new BatchRequest(operation, flags, key, timeoutMinutes, lockId, version, lockTimeout, data);
        offset += length;
        error = string.Empty;
        return true;
    }

    /// <summary>Bytes of one answer record (at most the header plus one item, so it fits an int).</summary>
    public static int AnswerSize(in BatchAnswer answer) => checked(AnswerHeaderBytes + (answer.Item?.Data.Length ?? 0));

    /// <summary>Writes one answer record; returns its length.</summary>
    public static int WriteAnswer(Span<byte> destination, in BatchAnswer answer)
    {
        var item = answer.Item;
        var flags = (item is null ? 0 : 1)
            | (item is { IsUninitialized: true } ? 2 : 0)
            | (answer.TookOver ? 4 : 0)
            | (answer.Lock.IsHeld ? 8 : 0);
        // The status travels as its StoreStatus value: the enum's explicit values are this byte's meaning,
        // which is why StoreStatus members are never renumbered (docs/engine.md lists them).
        destination[0] = (byte)answer.Status;
        destination[1] = (byte)flags;
        BinaryPrimitives.WriteUInt16LittleEndian(destination[2..], 0);
        BinaryPrimitives.WriteInt32LittleEndian(destination[4..], item is null ? 0 : (int)Math.Ceiling(item.Timeout.TotalMinutes));
        BinaryPrimitives.WriteInt32LittleEndian(destination[8..], item?.Data.Length ?? 0);
        BinaryPrimitives.WriteInt32LittleEndian(destination[12..], 0);
        BinaryPrimitives.WriteInt64LittleEndian(destination[16..], answer.Version);
        BinaryPrimitives.WriteInt64LittleEndian(destination[24..], answer.Lock.LockId);
        BinaryPrimitives.WriteInt64LittleEndian(destination[32..], answer.Lock.IsHeld ? answer.Lock.AcquiredAt.ToUnixTimeMilliseconds() : 0);
        BinaryPrimitives.WriteInt64LittleEndian(destination[40..], (long)answer.Lock.Age.TotalMilliseconds);
        if (item is null)
        {
            return AnswerHeaderBytes;
        }

        item.Data.Span.CopyTo(destination[AnswerHeaderBytes..]);
        return AnswerHeaderBytes + item.Data.Length;
    }

    /// <summary>Decodes a batch answer that must carry exactly <paramref name="expected"/> records. Item data are copied out.</summary>
    public static bool TryReadAnswers(ReadOnlySpan<byte> body, int expected, Span<BatchAnswer> answers, out string error)
    {
        if (body.Length < PreambleBytes || BinaryPrimitives.ReadUInt32LittleEndian(body) != Magic)
        {
            error = "the answer does not start with the 'SRB1' preamble";
            return false;
        }

        var count = BinaryPrimitives.ReadInt32LittleEndian(body[4..]);
        if (count != expected)
        {
            error = $"the answer carries {count} records for {expected} operations";
            return false;
        }

        var offset = PreambleBytes;
        for (var i = 0; i < count; i++)
        {
            var record = body[offset..];
            if (record.Length < AnswerHeaderBytes)
            {
                error = $"answer record {i} is cut short";
                return false;
            }

            // The StoreStatus value written by WriteAnswer; an unknown value fails the check below.
            var status = (StoreStatus)record[0];
            var flags = record[1];
            var timeoutMinutes = BinaryPrimitives.ReadInt32LittleEndian(record[4..]);
            var dataBytes = BinaryPrimitives.ReadInt32LittleEndian(record[8..]);
            var version = BinaryPrimitives.ReadInt64LittleEndian(record[16..]);
            var lockId = BinaryPrimitives.ReadInt64LittleEndian(record[24..]);
            var acquiredAt = BinaryPrimitives.ReadInt64LittleEndian(record[32..]);
            var ageMilliseconds = BinaryPrimitives.ReadInt64LittleEndian(record[40..]);
            if (!Enum.IsDefined(status) || dataBytes < 0 || record.Length - AnswerHeaderBytes < dataBytes || timeoutMinutes is < 0 or > StateProtocol.MaxTimeoutMinutes)
            {
                error = $"answer record {i} is malformed";
                return false;
            }

            // The lock's date and age become a DateTimeOffset and a TimeSpan, which throw outside their
            // ranges: a value no engine writes is a malformed answer, not an exception in the caller.
            if ((flags & 8) != 0 && !StateProtocol.IsLockTime(acquiredAt, ageMilliseconds))
            {
                error = $"answer record {i} carries a lock date or age out of range";
                return false;
            }

            var holder = (flags & 8) != 0
                ? new SessionLock(lockId, DateTimeOffset.FromUnixTimeMilliseconds(acquiredAt), TimeSpan.FromMilliseconds(ageMilliseconds))
                : default;
            SessionItem? item = null;
            if ((flags & 1) != 0)
            {
                var data = dataBytes == 0 ? [] : record.Slice(AnswerHeaderBytes, dataBytes).ToArray();
                item = new SessionItem(data, version, TimeSpan.FromMinutes(timeoutMinutes), (flags & 2) != 0);
            }

            answers[i] = new BatchAnswer(status, item, holder, (flags & 4) != 0, version);
            offset += AnswerHeaderBytes + dataBytes;
        }

        if (offset != body.Length)
        {
            error = "the answer has bytes after its last record";
            return false;
        }

        error = string.Empty;
        return true;
    }
}
