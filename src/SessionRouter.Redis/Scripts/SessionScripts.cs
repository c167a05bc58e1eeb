using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text;

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
/// releasing a lock never copies the blob. 64-bit lock ids stay 8-byte strings inside Lua, whose numbers
/// are doubles; counters and millisecond times stay far below 2^53.
/// </para>
/// <para>
/// Replies are arrays <c>{status, now, header-or-item, tookOver, uninitializedReported}</c>; status numbers
/// are those of <c>StoreStatus</c>.
/// </para>
/// </remarks>
internal static class SessionScripts
{
    // Shared definitions, prepended to every script. Flags: 1 = uninitialized, 4 = locked. 'wu' is the
    // server time until which some caller may wait for the lock: releases publish while it lies ahead.
    // The lock id field keeps the last lock's id after release, so that the next lock id can be made
    // larger: server milliseconds in the high bits, 20 random bits from the caller below, and never less
    // than the previous id + 1 (a stale holder's id can never equal a newer lock's).
    private const string Prelude = """
        local ZERO = string.rep(string.char(0), 8)
        local FMT = '>BBi8i8i8i8c8i8'
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local function parse(h)
          local magic, flags, ver, ito, lt, lto, lid, wu = struct.unpack(FMT, h)
          return flags, ver, ito, lt, lto, lid, wu
        end
        local function pack(flags, ver, ito, lt, lto, lid, wu)
          return struct.pack(FMT, 1, flags, ver, ito, lt, lto, lid, wu)
        end
        local function header(k)
          return redis.call('GETRANGE', k, 0, 49)
        end
        local function locked(flags)
          return bit.band(flags, 4) ~= 0
        end
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

        """;

    /// <summary>Plain read. KEYS: item. Never waits, never locks; consumes the uninitialized flag only when unlocked.</summary>
    public static readonly SessionScript Get = new("get", Prelude + """
        local v = redis.call('GET', KEYS[1])
        if not v then return {1, now, ''} end
        local flags, ver, ito, lt, lto = parse(v)
        local reported = 0
        if not locked(flags) then
          redis.call('PEXPIRE', KEYS[1], ito)
          if bit.band(flags, 1) ~= 0 then
            redis.call('SETRANGE', KEYS[1], 1, string.char(flags - 1))
            reported = 1
          end
        else
          redis.call('PEXPIRE', KEYS[1], ito + lto)
        end
        return {0, now, v, 0, reported}
        """);

    /// <summary>
    /// Read and lock. KEYS: item. ARGV: 20 random bits for the new lock id, lock timeout ms (takeover threshold), create if
    /// missing (1/0), item timeout ms for a created item, how long the caller will wait in ms (releases publish until then).
    /// </summary>
    public static readonly SessionScript GetExclusive = new("get-exclusive", Prelude + """
        local r = tonumber(ARGV[1])
        local lto = tonumber(ARGV[2])
        local h = header(KEYS[1])
        if h == '' then
          if ARGV[3] ~= '1' then return {1, now, ''} end
          local ito = tonumber(ARGV[4])
          local created = pack(4, 1, ito, now, lto, next_lock_id(ZERO, r), 0)
          redis.call('SET', KEYS[1], created, 'PX', ito + lto)
          return {0, now, created, 0, 1}
        end
        local flags, ver, ito, lt, olto, lid, wu = parse(h)
        local took = 0
        if locked(flags) then
          if now - lt < lto then
            local waits = now + tonumber(ARGV[5])
            if waits > wu then
              redis.call('SETRANGE', KEYS[1], 42, struct.pack('>i8', waits))
            end
            return {2, now, h}
          end
          took = 1
        end
        redis.call('SETRANGE', KEYS[1], 0, pack(4, ver, ito, now, lto, next_lock_id(lid, r), wu))
        redis.call('PEXPIRE', KEYS[1], ito + lto)
        return {0, now, redis.call('GET', KEYS[1]), took, bit.band(flags, 1)}
        """);

    /// <summary>
    /// Write (and release). KEYS: item. ARGV: lock id (8 bytes, or empty for an unlocked write), expected
    /// version (decimal, or empty), item timeout ms, data, release channel, session id.
    /// </summary>
    public static readonly SessionScript Set = new("set", Prelude + """
        local h = header(KEYS[1])
        local flags, ver, last, wu = 0, 0, ZERO, 0
        if h == '' then
          if ARGV[1] ~= '' then return {3, now, ''} end
          if ARGV[2] ~= '' and ARGV[2] ~= '0' then return {4, now, ''} end
        else
          local ito, lt, lto
          flags, ver, ito, lt, lto, last, wu = parse(h)
          if locked(flags) then
            if ARGV[1] == '' then return {2, now, h} end
            if ARGV[1] ~= last then return {3, now, h} end
          elseif ARGV[1] ~= '' then
            return {3, now, h}
          end
          if ARGV[2] == '0' then return {5, now, h} end
          if ARGV[2] ~= '' and tonumber(ARGV[2]) ~= ver then return {4, now, h} end
        end
        local ito = tonumber(ARGV[3])
        local written = pack(0, ver + 1, ito, 0, 0, last, wu)
        redis.call('SET', KEYS[1], written .. ARGV[4], 'PX', ito)
        if wu > now then redis.call('PUBLISH', ARGV[5], ARGV[6]) end
        return {0, now, written}
        """);

    /// <summary>Release without writing. KEYS: item. ARGV: lock id (8 bytes), release channel, session id.</summary>
    public static readonly SessionScript Release = new("release", Prelude + """
        local h = header(KEYS[1])
        if h == '' then return {1, now, ''} end
        local flags, ver, ito, lt, lto, lid, wu = parse(h)
        if not locked(flags) or lid ~= ARGV[1] then return {3, now, h} end
        local released = pack(bit.band(flags, 1), ver, ito, 0, 0, lid, wu)
        redis.call('SETRANGE', KEYS[1], 0, released)
        redis.call('PEXPIRE', KEYS[1], ito)
        if wu > now then redis.call('PUBLISH', ARGV[2], ARGV[3]) end
        return {0, now, released}
        """);

    /// <summary>Remove. KEYS: item. ARGV: lock id (8 bytes, or empty), release channel, session id.</summary>
    public static readonly SessionScript Remove = new("remove", Prelude + """
        local h = header(KEYS[1])
        if h == '' then return {1, now, ''} end
        local flags, ver, ito, lt, lto, lid, wu = parse(h)
        if ARGV[1] == '' then
          if locked(flags) then return {2, now, h} end
        elseif not locked(flags) or lid ~= ARGV[1] then
          return {3, now, h}
        end
        redis.call('DEL', KEYS[1])
        if wu > now then redis.call('PUBLISH', ARGV[2], ARGV[3]) end
        return {0, now, h}
        """);

    /// <summary>Slide the expiry. KEYS: item.</summary>
    public static readonly SessionScript Touch = new("touch", Prelude + """
        local h = header(KEYS[1])
        if h == '' then return {1, now, ''} end
        local flags, ver, ito, lt, lto, lid = parse(h)
        if locked(flags) then
          redis.call('PEXPIRE', KEYS[1], ito + lto)
        else
          redis.call('PEXPIRE', KEYS[1], ito)
        end
        return {0, now, h}
        """);

    /// <summary>Create an empty uninitialized item, never overwriting. KEYS: item. ARGV: item timeout ms.</summary>
    public static readonly SessionScript CreateUninitialized = new("create-uninitialized", Prelude + """
        local h = header(KEYS[1])
        if h ~= '' then return {5, now, h} end
        local ito = tonumber(ARGV[1])
        local created = pack(1, 1, ito, 0, 0, ZERO, 0)
        redis.call('SET', KEYS[1], created, 'PX', ito)
        return {0, now, created}
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
