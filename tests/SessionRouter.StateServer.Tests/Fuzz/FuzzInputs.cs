using System.Buffers.Binary;
using System.Text;
using FsCheck;
using FsCheck.Fluent;
using SessionRouter.Core.Storage;
using SessionRouter.StateServer.Wire;

namespace SessionRouter.StateServer.Tests.Fuzz;

/// <summary>One fuzz input: the bytes and how they were made, printed whole when a property fails so the case can be replayed.</summary>
public sealed record FuzzInput(byte[] Bytes, string Origin)
{
    public override string ToString() => $"{Origin} ({Bytes.Length} bytes, base64 {Convert.ToBase64String(Bytes)})";
}

/// <summary>
/// FsCheck generators of hostile engine input: batch bodies and batch answers (well-formed, then
/// mutated byte by byte and field by field with boundary numbers), and MS-ASP requests (built from the
/// protocol's headers with hostile values, then mutated). Sizes stay small so a few hundred cases run in
/// a second or two.
/// </summary>
internal static class FuzzInputs
{
    /// <summary>Numbers at the edges where length arithmetic wraps or a field's range ends.</summary>
    public static readonly int[] InterestingInts =
    [
        0, 1, -1, 2, 7, 8, 39, 40, 41, 47, 48, 49, 255, 256, 511, 512, 513, 1023, 1024, 1025, 4095, 65535, 65536,
        525_600, 525_601, short.MaxValue, short.MinValue, int.MaxValue, int.MaxValue - 1, int.MaxValue - 40,
        int.MaxValue - 48, int.MaxValue - 1024, int.MinValue, int.MinValue + 1, 0x7FFF_FF00, 1 << 30, 1 << 24,
    ];

    public static readonly long[] InterestingLongs =
    [
        0, 1, -1, 2, int.MaxValue, (long)int.MaxValue + 1, uint.MaxValue, long.MaxValue, long.MinValue, long.MaxValue / 1000,
        long.MaxValue / TimeSpan.TicksPerMillisecond, (long)(long.MaxValue / TimeSpan.TicksPerMillisecond) + 1, 253_402_300_800_000, -62_135_596_800_001,
    ];

    /// <summary>Texts of numbers a header parser must refuse or bound.</summary>
    public static readonly string[] NumberTexts =
    [
        "0", "1", "2", "-1", "+1", " 5 ", "05", "1e3", "0x10", "1.5", "1,2", "", " ", "abc", "١", "１",
        "525600", "525601", "2147483647", "2147483648", "-2147483649", "4294967296", "9223372036854775807",
        "9223372036854775808", "18446744073709551616", "99999999999999999999999999999999",
    ];

    private static readonly string[] Applications = ["fuzz", "app", "a", "zürich", "批", "fuzz app"];

    private static readonly string[] Ids = ["f0", "f1", "f2", "f3", "x", "id with space", "ü", "%2f", "a%00", "."];

    // ---- batch bodies (POST /batch) ----

    /// <summary>A batch body of 1–8 records; most records are well-formed, some lie in one field.</summary>
    public static Gen<FuzzInput> Batches =>
        from count in Gen.Frequency((20, Gen.Choose(1, 6)), (1, Gen.Elements(0, 8, 1025)))
        from records in Gen.ListOf(BatchRecord, Math.Min(count, 8))
        select new FuzzInput(BatchBody(count, records), $"batch of {records.Count} records declaring {count}");

    /// <summary>A batch body followed by 1–4 mutations, most of them aimed at the count and the records' length and number fields.</summary>
    public static Gen<FuzzInput> MutatedBatches =>
        from batch in Batches
        from count in Gen.Choose(1, 4)
        from mutations in Gen.ListOf(AMutation, count)
        select Mutate(batch, mutations, BatchHotSpots(batch.Bytes));

    /// <summary>
    /// A batch whose records are all well-formed but one, whose application, id or data length field is
    /// overwritten with a boundary number: the lengths the decoder must compare without wrapping.
    /// </summary>
    public static Gen<FuzzInput> LyingLengths =>
        from count in Gen.Choose(1, 4)
        from records in Gen.ListOf(WellFormedRecord, count)
        from liar in Gen.Choose(0, count - 1)
        from fieldOffset in Gen.Elements(2, 4, 12)
        from value in Gen.Frequency((1, Gen.Elements(InterestingInts)), (1, Gen.Choose(int.MaxValue - 2048, int.MaxValue)))
        select LieAbout(BatchBody(count, records), records, liar, fieldOffset, value);

    private static FuzzInput LieAbout(byte[] body, IReadOnlyList<byte[]> records, int liar, int field, int value)
    {
        var offset = BatchCodec.PreambleBytes + records.Take(liar).Sum(r => r.Length) + field;
        if (field == 12)
        {
            BinaryPrimitives.WriteInt32LittleEndian(body.AsSpan(offset), value);
        }
        else
        {
            BinaryPrimitives.WriteUInt16LittleEndian(body.AsSpan(offset), (ushort)value);
        }

        var name = field switch { 2 => "application", 4 => "id", _ => "data" };
        return new FuzzInput(body, $"batch of {records.Count} records, record {liar} announcing {name} length {(field == 12 ? value : (ushort)value)}");
    }

    /// <summary>
    /// Records that pass every check (a set, some with a writer-assigned version, some keeping their lock, or a
    /// create carrying data, with sane numbers).
    /// </summary>
    private static Gen<byte[]> WellFormedRecord =>
        from operation in Gen.Elements(BatchOperation.Set, BatchOperation.CreateUninitialized, BatchOperation.Get, BatchOperation.Touch)
        from application in Gen.Elements(Applications)
        from id in Gen.Elements(Ids.Where(i => !i.Contains('/', StringComparison.Ordinal)).ToArray())
        from length in Gen.Choose(1, 48)
        from version in Gen.Frequency((1, Gen.Constant(0L)), (1, Gen.Choose(1, 1000).Select(i => (long)i)), (1, Gen.Constant(long.MaxValue)))
        from keepLock in Gen.Elements(false, true)
        let versioned = operation == BatchOperation.Set && version > 0
        let keeps = operation == BatchOperation.Set && keepLock
        let flags = (versioned ? BatchRequestFlags.HasVersion : BatchRequestFlags.None) | (keeps ? BatchRequestFlags.HasLockId | BatchRequestFlags.KeepLock : BatchRequestFlags.None)
        let data = operation is BatchOperation.Set or BatchOperation.CreateUninitialized ? new byte[length] : []
        select Record(operation, flags, application, id, false, 20, keeps ? 1 : 0, versioned ? version : 0, 0, data);

    /// <summary>
    /// Records that are mostly valid (so batches reach the store as well as the decoder's refusals), each
    /// field sometimes hostile: an unknown operation or flag, an empty or overlong key, invalid UTF-8,
    /// boundary numbers, data on an operation that carries none, a release without its lock id, a version
    /// on another operation than a set, with an expected version, or not positive, a kept lock on another
    /// operation than a set or without the lock id.
    /// </summary>
    private static Gen<byte[]> BatchRecord =>
        from operation in Gen.Frequency((30, Gen.Choose(1, 7)), (1, Gen.Elements(0, 8, 99, 255)))
        from flags in Gen.Frequency((30, Gen.Choose(0, 31)), (6, Gen.Choose(32, 63)), (1, Gen.Choose(64, 255)))
        from versionedSet in Gen.Frequency((4, Gen.Constant(false)), (1, Gen.Constant(true)))
        from keepLockSet in Gen.Frequency((4, Gen.Constant(false)), (1, Gen.Constant(true)))
        from releaseWithoutId in Gen.Frequency((30, Gen.Constant(false)), (1, Gen.Constant(true)))
        from application in Gen.Frequency((30, Gen.Elements(Applications)), (1, Gen.Elements("", "a/b", new string('a', 300))))
        from id in Gen.Frequency((30, Gen.Elements(Ids.Where(i => !i.Contains('/', StringComparison.Ordinal)).ToArray())), (1, Gen.Elements("", "a/b", new string('i', 513), new string('i', 512))))
        from badUtf8 in Gen.Frequency((40, Gen.Constant(false)), (1, Gen.Constant(true)))
        from timeout in Gen.Frequency((20, Gen.Choose(0, 60)), (1, Gen.Elements(InterestingInts)))
        from dataLength in Gen.Frequency((8, Gen.Choose(0, 48)), (1, Gen.Choose(1000, 1100)))
        from dataOnAnyOperation in Gen.Frequency((30, Gen.Constant(false)), (1, Gen.Constant(true)))
        from lockId in Gen.Frequency((20, Gen.Choose(0, 6).Select(i => (long)i)), (1, Gen.Elements(InterestingLongs)))
        from expected in Gen.Frequency((20, Gen.Choose(0, 6).Select(i => (long)i)), (1, Gen.Elements(InterestingLongs)))
        from version in Gen.Frequency((20, Gen.Choose(1, 1000).Select(i => (long)i)), (1, Gen.Elements(InterestingLongs)))
        from lockTimeout in Gen.Frequency((20, Gen.Choose(0, 5000).Select(i => (long)i)), (1, Gen.Elements(InterestingLongs)))
        let op = versionedSet || keepLockSet ? BatchOperation.Set : (BatchOperation)operation
        let carries = op is BatchOperation.Set or BatchOperation.CreateUninitialized || dataOnAnyOperation
        let data = carries ? Enumerable.Range(0, dataLength).Select(i => (byte)i).ToArray() : []
        let versionFlags = versionedSet ? ((BatchRequestFlags)flags & ~BatchRequestFlags.HasExpectedVersion) | BatchRequestFlags.HasVersion : (BatchRequestFlags)flags
        let someFlags = keepLockSet ? versionFlags | BatchRequestFlags.HasLockId | BatchRequestFlags.KeepLock : versionFlags
        let recordFlags = op == BatchOperation.Release && !releaseWithoutId ? someFlags | BatchRequestFlags.HasLockId : someFlags
        let versionField = (recordFlags & BatchRequestFlags.HasVersion) != 0 ? version : expected
        select Record(op, recordFlags, application, id, badUtf8, timeout, lockId, versionField, lockTimeout, data);

    /// <param name="version">The record's version field: the expected version or the writer's version, as <paramref name="flags"/> say.</param>
    private static byte[] Record(BatchOperation operation, BatchRequestFlags flags, string application, string id, bool badUtf8, int timeout, long lockId, long version, long lockTimeout, byte[] data)
    {
        var app = Encoding.UTF8.GetBytes(application);
        var key = badUtf8 ? [0xC3, 0x28, .. Encoding.UTF8.GetBytes(id)] : Encoding.UTF8.GetBytes(id);
        var record = new byte[BatchCodec.RequestSize(app.Length, key.Length, data.Length)];
        BatchCodec.WriteRequest(record, operation, flags, app, key, timeout, lockId, version, lockTimeout, data);
        return record;
    }

    private static byte[] BatchBody(int count, IReadOnlyList<byte[]> records)
    {
        var body = new byte[BatchCodec.PreambleBytes + records.Sum(r => r.Length)];
        BatchCodec.WritePreamble(body, count);
        var offset = BatchCodec.PreambleBytes;
        foreach (var record in records)
        {
            record.CopyTo(body, offset);
            offset += record.Length;
        }

        return body;
    }

    /// <summary>Offsets of the count and of each record's length, timeout and id fields (walked as the layout says, as far as it holds).</summary>
    private static int[] BatchHotSpots(byte[] body)
    {
        var spots = new List<int> { 4 };
        var offset = BatchCodec.PreambleBytes;
        while (offset + BatchCodec.RequestHeaderBytes <= body.Length)
        {
            spots.AddRange([offset + 2, offset + 4, offset + 8, offset + 12, offset + 16, offset + 24, offset + 32]);
            var record = body.AsSpan(offset);
            var next = (long)offset + BatchCodec.RequestHeaderBytes + BinaryPrimitives.ReadUInt16LittleEndian(record[2..]) + BinaryPrimitives.ReadUInt16LittleEndian(record[4..]) + BinaryPrimitives.ReadInt32LittleEndian(record[12..]);
            if (next <= offset || next > body.Length)
            {
                break;
            }

            offset = (int)next;
        }

        return [.. spots];
    }

    // ---- batch answers (what the client decodes) ----

    /// <summary>A well-formed batch answer of 1–6 records, mutated 0–3 times; returned with the record count the caller expects.</summary>
    public static Gen<(FuzzInput Answer, int Expected)> MutatedAnswers =>
        from count in Gen.Choose(1, 6)
        from answers in Gen.ListOf(AnAnswer, count)
        from expectedDelta in Gen.Frequency((10, Gen.Constant(0)), (1, Gen.Elements(-1, 1)))
        from mutationCount in Gen.Choose(0, 3)
        from mutations in Gen.ListOf(AMutation, mutationCount)
        let body = AnswerBody(answers)
        select (Mutate(new FuzzInput(body, $"answer of {answers.Count} records"), mutations, AnswerHotSpots(answers)), Math.Max(1, answers.Count + expectedDelta));

    private static Gen<BatchAnswer> AnAnswer =>
        from status in Gen.Choose(0, 9)
        from hasItem in Gen.Elements(true, false)
        from dataLength in Gen.Choose(0, 40)
        from version in Gen.Choose(0, 100)
        from locked in Gen.Elements(true, false)
        from lockId in Gen.Choose(1, 100)
        select new BatchAnswer(
            (StoreStatus)status,
            hasItem ? new SessionItem(new byte[dataLength], version, TimeSpan.FromMinutes(20), false) : null,
            locked ? new SessionLock(lockId, DateTimeOffset.UnixEpoch.AddDays(20_000), TimeSpan.FromSeconds(3)) : default,
            false,
            version);

    private static byte[] AnswerBody(IReadOnlyList<BatchAnswer> answers)
    {
        var body = new byte[BatchCodec.PreambleBytes + answers.Sum(a => BatchCodec.AnswerSize(a))];
        BatchCodec.WritePreamble(body, answers.Count);
        var offset = BatchCodec.PreambleBytes;
        foreach (var answer in answers)
        {
            offset += BatchCodec.WriteAnswer(body.AsSpan(offset), answer);
        }

        return body;
    }

    private static int[] AnswerHotSpots(IReadOnlyList<BatchAnswer> answers)
    {
        var spots = new List<int> { 4 };
        var offset = BatchCodec.PreambleBytes;
        foreach (var answer in answers)
        {
            spots.AddRange([offset + 4, offset + 8, offset + 16, offset + 24, offset + 32, offset + 36, offset + 40, offset + 44]);
            offset += BatchCodec.AnswerSize(answer);
        }

        return [.. spots];
    }

    // ---- MS-ASP requests (HTTP/1.x on the classic port) ----

    /// <summary>A request line, 0–5 protocol headers (plausible values mostly, hostile ones often), and a body framed by Content-Length (mostly exact), chunked, or not at all.</summary>
    public static Gen<FuzzInput> MsAspRequests =>
        from method in Gen.Frequency((12, Gen.Elements("GET", "PUT", "DELETE", "HEAD")), (1, Gen.Elements("POST", "OPTIONS", "BREW", "get", "PUT ")))
        from target in Targets
        from version in Gen.Frequency((20, Gen.Constant("HTTP/1.1")), (1, Gen.Elements("HTTP/1.0", "HTTP/2.0", "HTTP/1.1 ")))
        from headerCount in Gen.Choose(0, 5)
        from headers in Gen.ListOf(AHeader, headerCount)
        from bodyLength in Gen.Frequency((6, Gen.Constant(0)), (6, Gen.Choose(1, 64)), (1, Gen.Choose(1000, 1100)))
        from framing in Gen.Frequency((20, Gen.Constant(Framing.Exact)), (3, Gen.Constant(Framing.Chunked)), (1, Gen.Constant(Framing.BrokenChunks)), (1, Gen.Constant(Framing.None)))
        select BuildRequest(method, target, version, headers, bodyLength, framing);

    /// <summary>An MS-ASP request mutated 1–3 times, numbers swapped for boundary texts most of all.</summary>
    public static Gen<FuzzInput> MutatedMsAspRequests =>
        from request in MsAspRequests
        from count in Gen.Choose(1, 3)
        from mutations in Gen.ListOf(AMutation, count)
        select MutateText(request, mutations);

    private enum Framing
    {
        Exact,
        Chunked,
        BrokenChunks,
        None,
    }

    private static Gen<string> Targets =>
        from app in Gen.Elements(Applications.Select(Uri.EscapeDataString).Append("fuzz").ToArray())
        from id in Gen.Elements(Ids.Select(Uri.EscapeDataString).ToArray())
        from shape in Gen.Frequency((12, Gen.Constant(-1)), (4, Gen.Choose(0, 15)))
        select shape switch
        {
            0 => "/health",
            1 => "/batch",
            2 => "/",
            3 => "//",
            4 => $"/{app}/",
            5 => "/%",
            6 => "/%zz/x",
            7 => "/%C3%28/x",
            8 => $"/{app}/" + new string('i', 600),
            9 => $"/{app}%2f{id}",
            10 => "*",
            11 => $"http://x/{app}/{id}",
            12 => $"/{app}/{id}?q=1&x",
            13 => $"/{app}/a/b/{id}",
            14 => "/health/x",
            15 => "/batch?x",
            _ => $"/{app}/{id}",
        };

    /// <summary>A protocol header with a value that fits it (most often), a boundary number, or something odd.</summary>
    private static Gen<(string Name, string Value)> AHeader =>
        from header in Gen.Elements(PlausibleValues.Keys.ToArray())
        from value in Gen.Frequency(
            (6, Gen.Elements(PlausibleValues[header])),
            (3, Gen.Elements(NumberTexts)),
            (1, Gen.Elements("acquire", "release", "ACQUIRE", "maybe", "close", "100-continue", new string('9', 2000), "\t1", "1\t", "ü")))
        select (header, value);

    private static readonly Dictionary<string, string[]> PlausibleValues = new(StringComparer.Ordinal)
    {
        [StateProtocol.Exclusive] = ["acquire", "release"],
        [StateProtocol.LockCookie] = ["1", "2", "3"],
        [StateProtocol.LockCookieHyphenated] = ["1", "2", "3"],
        [StateProtocol.LockId] = ["1", "2", "3"],
        [StateProtocol.Timeout] = ["1", "20", "525600"],
        [StateProtocol.ExtraFlags] = ["0", "1"],
        [StateProtocol.ExpectedVersion] = ["0", "1", "2"],
        [StateProtocol.Version] = ["1", "2", "9"],
        [StateProtocol.KeepLock] = ["1"],
        [StateProtocol.LockWait] = ["0", "50"],
        [StateProtocol.LockTimeout] = ["0", "1000", "110000"],
        [StateProtocol.CreateIfMissing] = ["1"],
        [StateProtocol.ReadCommitted] = ["1"],
        [StateProtocol.AccessKey] = ["some-key-some-key"],
        ["Content-Type"] = ["application/octet-stream", StateProtocol.BatchContentType],
        ["Connection"] = ["close", "keep-alive"],
        ["Expect"] = ["100-continue"],
    };

    private static FuzzInput BuildRequest(string method, string target, string version, IReadOnlyList<(string Name, string Value)> headers, int bodyLength, Framing framing)
    {
        var text = new StringBuilder();
        text.Append(method).Append(' ').Append(target).Append(' ').Append(version).Append("\r\n");
        if (version != "HTTP/1.0")
        {
            text.Append("Host: fuzz\r\n");
        }

        foreach (var (name, value) in headers)
        {
            text.Append(name).Append(": ").Append(value).Append("\r\n");
        }

        var body = Enumerable.Range(0, bodyLength).Select(i => (byte)('a' + (i % 26))).ToArray();
        byte[] framed;
        switch (framing)
        {
            case Framing.Exact:
                text.Append("Content-Length: ").Append(bodyLength).Append("\r\n");
                framed = body;
                break;
            case Framing.Chunked:
                text.Append("Transfer-Encoding: chunked\r\n");
                framed = bodyLength == 0 ? "0\r\n\r\n"u8.ToArray() : [.. Encoding.ASCII.GetBytes($"{bodyLength:x}\r\n"), .. body, .. "\r\n0\r\n\r\n"u8];
                break;
            case Framing.BrokenChunks:
                text.Append("Transfer-Encoding: chunked\r\n");
                framed = [.. "zz\r\n"u8, .. body, .. "\r\n0\r\n\r\n"u8];
                break;
            default:
                framed = body; // read as the start of a next request
                break;
        }

        text.Append("\r\n");
        var bytes = Encoding.UTF8.GetBytes(text.ToString()).Concat(framed).ToArray();
        return new FuzzInput(bytes, $"{method} {target} with {headers.Count} headers, {framing} body of {bodyLength}");
    }

    // ---- mutations ----

    private sealed record Mutation(int Kind, int Where, int Count, int Value);

    /// <summary>Kinds 2 (an int32 into a field of the layout, or a number of the text) weigh most: boundaries are where parsers break.</summary>
    private static Gen<Mutation> AMutation =>
        from kind in Gen.Frequency((4, Gen.Constant(2)), (5, Gen.Choose(0, 7)))
        from position in Gen.Choose(0, 1 << 20)
        from count in Gen.Choose(1, 16)
        from value in Gen.Frequency((3, Gen.Elements(InterestingInts)), (1, Gen.Choose(int.MinValue, int.MaxValue)))
        select new Mutation(kind, position, count, value);

    private static FuzzInput Mutate(FuzzInput input, IEnumerable<Mutation> mutations, int[] hotSpots)
    {
        var bytes = input.Bytes.ToList();
        var applied = new List<string>();
        foreach (var m in mutations)
        {
            applied.Add(ApplyBinary(bytes, m, hotSpots));
        }

        return new FuzzInput([.. bytes], $"{input.Origin}, then {string.Join(", ", applied)}");
    }

    private static string ApplyBinary(List<byte> bytes, Mutation m, int[] hotSpots)
    {
        var at = bytes.Count == 0 ? 0 : m.Where % bytes.Count;
        switch (m.Kind)
        {
            case 0 when bytes.Count > 0:
                bytes[at] ^= (byte)(1 << (m.Value & 7));
                return $"flip bit {m.Value & 7} at {at}";
            case 1 when bytes.Count > 0:
                bytes[at] = (byte)m.Value;
                return $"byte {(byte)m.Value} at {at}";
            case 2 or 3:
                // An int32 into a field of the layout (kind 2) or anywhere (kind 3).
                var spot = m.Kind == 2 && hotSpots.Length > 0 ? hotSpots[m.Where % hotSpots.Length] : at;
                for (var i = 0; i < 4 && spot + i < bytes.Count; i++)
                {
                    bytes[spot + i] = (byte)(m.Value >> (8 * i));
                }

                return $"int32 {m.Value} at {spot}";
            case 4:
                bytes.RemoveRange(at, bytes.Count - at);
                return $"cut at {at}";
            case 5:
                bytes.InsertRange(at, Enumerable.Range(0, m.Count).Select(i => (byte)(m.Value >> (i % 4 * 8))));
                return $"insert {m.Count} at {at}";
            case 6 when bytes.Count > 0:
                bytes.RemoveRange(at, Math.Min(m.Count, bytes.Count - at));
                return $"delete {m.Count} at {at}";
            case 7 when bytes.Count > 0:
                var slice = bytes.Skip(at).Take(m.Count * 4).ToList();
                bytes.InsertRange(at, slice);
                return $"repeat {slice.Count} at {at}";
            default:
                return "no-op";
        }
    }

    /// <summary>Text-aware mutations for HTTP: kinds 2 and 3 replace a run of digits with a boundary number text; the others act on bytes.</summary>
    private static FuzzInput MutateText(FuzzInput input, IEnumerable<Mutation> mutations)
    {
        var bytes = input.Bytes.ToList();
        var applied = new List<string>();
        foreach (var m in mutations)
        {
            if (m.Kind is 2 or 3)
            {
                var runs = DigitRuns(bytes);
                var replacement = NumberTexts[(m.Value & int.MaxValue) % NumberTexts.Length];
                if (runs.Count > 0)
                {
                    var (start, length) = runs[m.Where % runs.Count];
                    bytes.RemoveRange(start, length);
                    bytes.InsertRange(start, Encoding.UTF8.GetBytes(replacement));
                    applied.Add($"number at {start} -> '{replacement}'");
                    continue;
                }
            }

            applied.Add(ApplyBinary(bytes, m, []));
        }

        return new FuzzInput([.. bytes], $"{input.Origin}, then {string.Join(", ", applied)}");
    }

    private static List<(int Start, int Length)> DigitRuns(List<byte> bytes)
    {
        var runs = new List<(int, int)>();
        for (var i = 0; i < bytes.Count;)
        {
            if (bytes[i] is >= (byte)'0' and <= (byte)'9')
            {
                var start = i;
                while (i < bytes.Count && bytes[i] is >= (byte)'0' and <= (byte)'9')
                {
                    i++;
                }

                runs.Add((start, i - start));
            }
            else
            {
                i++;
            }
        }

        return runs;
    }
}
