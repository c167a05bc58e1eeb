using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using SessionRouter.Core.Storage;

namespace SessionRouter.Redis.Scripts;

/// <summary>
/// The Lua scripts behind the store operations: each operation is one script, so it is atomic on the
/// server and costs one round trip. Every script reads the clock with <c>TIME</c> (lock ages never come
/// from a web server's clock) and slides the key's expiry with <c>PEXPIRE</c>.
/// </summary>
/// <remarks>
/// <para>
/// A session is one string: a fixed 50-byte header followed by the state blob (layout in
/// <see cref="ItemHeader"/>). Lock changes rewrite the header in place with <c>SETRANGE</c>, so taking or
/// releasing a lock never copies the blob. 64-bit lock ids and versions stay 8-byte strings inside Lua, whose
/// numbers are doubles (a writer may assign any positive version, well past 2^53); they are compared and
/// counted in two 32-bit halves. Millisecond times stay far below 2^53.
/// </para>
/// <para>
/// Replies are arrays <c>{status, now, header-or-item, tookOver, uninitializedReported, item}</c>. The
/// scripts name statuses (<c>OK</c>, <c>LOCKED</c>, ...) whose numbers are written into the script text from
/// <see cref="StoreStatus"/>'s own values (<see cref="ScriptStatuses"/>), so a script cannot answer a number
/// that means another status on this side.
/// </para>
/// </remarks>
internal static class SessionScripts
{
    /// <summary>
    /// The statuses a script may answer, by the name the scripts use. Declared before the scripts: static
    /// fields are initialized in order, and every script text is built from this table.
    /// </summary>
    internal static IReadOnlyList<KeyValuePair<string, StoreStatus>> ScriptStatuses { get; } =
    [
        new("OK", StoreStatus.Ok),
        new("NOT_FOUND", StoreStatus.NotFound),
        new("LOCKED", StoreStatus.Locked),
        new("LOCK_MISMATCH", StoreStatus.LockMismatch),
        new("VERSION_CONFLICT", StoreStatus.VersionConflict),
        new("ALREADY_EXISTS", StoreStatus.AlreadyExists),
    ];

    /// <summary>One Lua local per entry of <see cref="ScriptStatuses"/>, set to the status's value.</summary>
    private static string StatusDefinitions()
    {
        var lua = new StringBuilder();
        foreach (var (name, status) in ScriptStatuses)
        {
            lua.Append(CultureInfo.InvariantCulture, $"local {name} = {(int)status}\n");
        }

        return lua.ToString();
    }

    // Shared definitions, prepended to every script. Flags: 1 = uninitialized, 4 = locked. 'ver' is the
    // version's 8 big-endian bytes (ONE for a new item). 'wu' is the
    // server time until which some caller may wait for the lock: releases publish while it lies ahead.
    // The lock id field keeps the last lock's id after release, so that the next lock id can be made
    // larger: server milliseconds in the high bits, 20 random bits from the caller below, and never less
    // than the previous id + 1 (a stale holder's id can never equal a newer lock's).
    // The clock is read only where a lock age or a deadline needs it (TIME costs as much as a small
    // command); replies without a lock carry 0 as the time.
    private static readonly string Prelude = StatusDefinitions() + """
        local ZERO = '\0\0\0\0\0\0\0\0'
        local ONE = '\0\0\0\0\0\0\0\1'
        local FMT = '>BBc8i8i8i8c8i8'
        local now = 0
        local function clock()
          if now == 0 then
            local t = redis.call('TIME')
            now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
          end
          return now
        end
        local function parse(h)
          local magic, flags, ver, ito, lt, lto, lid, wu = struct.unpack(FMT, h)
          return flags, ver, ito, lt, lto, lid, wu
        end
        local function pack(flags, ver, ito, lt, lto, lid, wu)
          return struct.pack(FMT, 1, flags, ver, ito, lt, lto, lid, wu)
        end
        local function locked(flags)
          return bit.band(flags, 4) ~= 0
        end
        local function notify(wu, channel, id)
          if wu ~= 0 and wu > clock() then redis.call('PUBLISH', channel, id) end
        end

        """;

    /// <summary>Plain read. KEYS: item. Never waits, never locks; consumes the uninitialized flag only when unlocked.</summary>
    public static readonly SessionScript Get = new("get", Prelude + """
        local v = redis.call('GET', KEYS[1])
        if not v then return {NOT_FOUND, 0, ''} end
        local flags, ver, ito, lt, lto = parse(v)
        if locked(flags) then
          redis.call('PEXPIRE', KEYS[1], ito + lto)
          return {OK, clock(), v, 0, 0}
        end
        redis.call('PEXPIRE', KEYS[1], ito)
        local reported = bit.band(flags, 1)
        if reported ~= 0 then
          redis.call('SETRANGE', KEYS[1], 1, string.char(flags - 1))
        end
        return {OK, 0, v, 0, reported}
        """);

    /// <summary>
    /// Read and lock. KEYS: item. ARGV: 20 random bits for the new lock id, lock timeout ms (takeover
    /// threshold), create if missing (1/0), item timeout ms for a created item, how long the caller will
    /// wait in ms (releases publish until then), and the caller's proposed lock id (8 bytes, or empty: the
    /// script makes one). Reply on success: the new header, then the stored item
    /// as it was (the state follows its old header), so the blob is copied once.
    /// </summary>
    public static readonly SessionScript GetExclusive = new("get-exclusive", Prelude + """
        local function next_lock_id(last, r)
          local hi = math.floor(now / 4096)
          local lo = (now % 4096) * 1048576 + r
          local lhi, llo = struct.unpack('>I4I4', last)
          if hi < lhi or (hi == lhi and lo <= llo) then
            hi, lo = lhi, llo + 1
            if lo >= 4294967296 then
              hi, lo = hi + 1, 0
            end
          end
          return struct.pack('>I4I4', hi, lo)
        end
        clock()
        local r = tonumber(ARGV[1])
        local function new_lock_id(last)
          if ARGV[6] ~= nil and ARGV[6] ~= '' then return ARGV[6] end
          return next_lock_id(last, r)
        end
        local lto = tonumber(ARGV[2])
        local v = redis.call('GET', KEYS[1])
        if not v then
          if ARGV[3] ~= '1' then return {NOT_FOUND, now, ''} end
          local ito = tonumber(ARGV[4])
          local created = pack(4, ONE, ito, now, lto, new_lock_id(ZERO), 0)
          redis.call('SET', KEYS[1], created, 'PX', ito + lto)
          return {OK, now, created, 0, 1, created}
        end
        local flags, ver, ito, lt, olto, lid, wu = parse(v)
        local took = 0
        if locked(flags) then
          if now - lt < lto then
            local waits = now + tonumber(ARGV[5])
            if waits > wu then
              redis.call('SETRANGE', KEYS[1], 42, struct.pack('>i8', waits))
            end
            return {LOCKED, now, string.sub(v, 1, 50)}
          end
          took = 1
        end
        local acquired = pack(4, ver, ito, now, lto, new_lock_id(lid), wu)
        redis.call('SETRANGE', KEYS[1], 0, acquired)
        redis.call('PEXPIRE', KEYS[1], ito + lto)
        return {OK, now, acquired, took, bit.band(flags, 1), v}
        """);

    /// <summary>
    /// Write (and release). KEYS: item. ARGV: lock id (8 bytes, or empty for an unlocked write), expected
    /// version (8 bytes, or empty), item timeout ms, data, release channel, session id, then only for a
    /// writer-assigned version that version (8 bytes; empty or absent otherwise, so a plain write sends no more),
    /// and only for a write that keeps its lock '1'. A writer-assigned version applies only when above the item's
    /// (a missing item counts as 0); the same version only slides the expiry; a lower one is a conflict that
    /// changes nothing. Without a lock id it is a repair: it ignores the lock and leaves it to its holder. A kept
    /// lock (only with the lock id, which the caller checks) stays locked under the same id with its lock date
    /// set to the server's now, and nothing is published: the lock is not free for a waiter.
    /// </summary>
    public static readonly SessionScript Set = new("set", Prelude + """
        local function above(a, b)
          local ahi, alo = struct.unpack('>I4I4', a)
          local bhi, blo = struct.unpack('>I4I4', b)
          return ahi > bhi or (ahi == bhi and alo > blo)
        end
        local function successor(v)
          local hi, lo = struct.unpack('>I4I4', v)
          if lo == 4294967295 then return struct.pack('>I4I4', hi + 1, 0) end
          return struct.pack('>I4I4', hi, lo + 1)
        end
        local assigned = ARGV[7]
        if assigned == '' then assigned = nil end
        local keep = ARGV[8] == '1'
        local repair = assigned ~= nil and ARGV[1] == ''
        local h = redis.call('GETRANGE', KEYS[1], 0, 49)
        local flags, ver, ito, lt, lto, last, wu = 0, ZERO, 0, 0, 0, ZERO, 0
        if h == '' then
          if ARGV[1] ~= '' then return {LOCK_MISMATCH, 0, ''} end
          if ARGV[2] ~= '' and ARGV[2] ~= ZERO then return {VERSION_CONFLICT, 0, ''} end
        else
          flags, ver, ito, lt, lto, last, wu = parse(h)
          if locked(flags) and not repair then
            if ARGV[1] == '' then return {LOCKED, clock(), h} end
            if ARGV[1] ~= last then return {LOCK_MISMATCH, clock(), h} end
          elseif ARGV[1] ~= '' then
            return {LOCK_MISMATCH, 0, h}
          end
          if ARGV[2] == ZERO then return {ALREADY_EXISTS, clock(), h} end
          if ARGV[2] ~= '' and ARGV[2] ~= ver then return {VERSION_CONFLICT, 0, h} end
          if assigned ~= nil and not above(assigned, ver) then
            if assigned ~= ver then return {VERSION_CONFLICT, 0, h} end
            -- The same version again: the data stay; the expiry slides, and the caller's lock is released.
            if repair then
              redis.call('PEXPIRE', KEYS[1], locked(flags) and ito + lto or ito)
              return {OK, 0, h}
            end
            if keep then
              local renewed = pack(flags, ver, ito, clock(), lto, last, wu)
              redis.call('SETRANGE', KEYS[1], 0, renewed)
              redis.call('PEXPIRE', KEYS[1], ito + lto)
              return {OK, 0, renewed}
            end
            local released = pack(bit.band(flags, 1), ver, ito, 0, 0, last, wu)
            redis.call('SETRANGE', KEYS[1], 0, released)
            redis.call('PEXPIRE', KEYS[1], ito)
            notify(wu, ARGV[5], ARGV[6])
            return {OK, 0, released}
          end
        end
        local nito = tonumber(ARGV[3])
        local nver = assigned or successor(ver)
        if repair and locked(flags) then
          -- A repair leaves the lock to its holder, who can still save or release with it.
          local kept = pack(4, nver, nito, lt, lto, last, wu)
          redis.call('SET', KEYS[1], kept .. ARGV[4], 'PX', nito + lto)
          return {OK, 0, kept}
        end
        if keep then
          -- The holder keeps its lock, aged from now: the takeover rule counts from this write.
          local renewed = pack(4, nver, nito, clock(), lto, last, wu)
          redis.call('SET', KEYS[1], renewed .. ARGV[4], 'PX', nito + lto)
          return {OK, 0, renewed}
        end
        local written = pack(0, nver, nito, 0, 0, last, wu)
        redis.call('SET', KEYS[1], written .. ARGV[4], 'PX', nito)
        notify(wu, ARGV[5], ARGV[6])
        return {OK, 0, written}
        """);

    /// <summary>Release without writing. KEYS: item. ARGV: lock id (8 bytes), release channel, session id.</summary>
    public static readonly SessionScript Release = new("release", Prelude + """
        local h = redis.call('GETRANGE', KEYS[1], 0, 49)
        if h == '' then return {NOT_FOUND, 0, ''} end
        local flags, ver, ito, lt, lto, lid, wu = parse(h)
        if not locked(flags) or lid ~= ARGV[1] then return {LOCK_MISMATCH, clock(), h} end
        local released = pack(bit.band(flags, 1), ver, ito, 0, 0, lid, wu)
        redis.call('SETRANGE', KEYS[1], 0, released)
        redis.call('PEXPIRE', KEYS[1], ito)
        notify(wu, ARGV[2], ARGV[3])
        return {OK, 0, released}
        """);

    /// <summary>Remove. KEYS: item. ARGV: lock id (8 bytes, or empty), release channel, session id.</summary>
    public static readonly SessionScript Remove = new("remove", Prelude + """
        local h = redis.call('GETRANGE', KEYS[1], 0, 49)
        if h == '' then return {NOT_FOUND, 0, ''} end
        local flags, ver, ito, lt, lto, lid, wu = parse(h)
        if ARGV[1] == '' then
          if locked(flags) then return {LOCKED, clock(), h} end
        elseif not locked(flags) or lid ~= ARGV[1] then
          return {LOCK_MISMATCH, clock(), h}
        end
        redis.call('DEL', KEYS[1])
        notify(wu, ARGV[2], ARGV[3])
        return {OK, clock(), h}
        """);

    /// <summary>Slide the expiry. KEYS: item.</summary>
    public static readonly SessionScript Touch = new("touch", Prelude + """
        local h = redis.call('GETRANGE', KEYS[1], 0, 49)
        if h == '' then return {NOT_FOUND, 0, ''} end
        local flags, ver, ito, lt, lto = parse(h)
        if locked(flags) then
          redis.call('PEXPIRE', KEYS[1], ito + lto)
          return {OK, clock(), h}
        end
        redis.call('PEXPIRE', KEYS[1], ito)
        return {OK, 0, h}
        """);

    /// <summary>Create an empty uninitialized item, never overwriting. KEYS: item. ARGV: item timeout ms.</summary>
    public static readonly SessionScript CreateUninitialized = new("create-uninitialized", Prelude + """
        local h = redis.call('GETRANGE', KEYS[1], 0, 49)
        if h ~= '' then return {ALREADY_EXISTS, clock(), h} end
        local ito = tonumber(ARGV[1])
        local created = pack(1, ONE, ito, 0, 0, ZERO, 0)
        redis.call('SET', KEYS[1], created, 'PX', ito)
        return {OK, 0, created}
        """);

    public static IReadOnlyList<SessionScript> All { get; } = [Get, GetExclusive, Set, Release, Remove, Touch, CreateUninitialized];
}

/// <summary>A Lua script and the SHA-1 digest Redis knows it by (for <c>EVALSHA</c>).</summary>
internal sealed class SessionScript
{
    [SuppressMessage("Security", "CA5350:Do Not Use Weak Cryptographic Algorithms", Justification = "SHA-1 is how Redis names scripts for EVALSHA; it protects nothing.")]
    public SessionScript(string name, string text)
    {
        Name = name;
        Text = text;
        Hash = SHA1.HashData(Encoding.UTF8.GetBytes(text));
    }

    public string Name { get; }

    public string Text { get; }

    public byte[] Hash { get; }

    public override string ToString() => Name;
}
