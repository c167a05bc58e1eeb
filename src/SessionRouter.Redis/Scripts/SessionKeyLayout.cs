using System.Text;
using SessionRouter.Core.Storage;
using StackExchange.Redis;

namespace SessionRouter.Redis.Scripts;

/// <summary>
/// Where a session lives in Redis: one string key <c>PREFIX{APP:ID}</c> per session. The braces are the
/// Redis Cluster hash tag, so every key derived from a session (today one; any future companion key
/// appends a suffix after the tag) hashes to the same slot. The application's release notifications go
/// to the channel <c>PREFIXrelease:APP</c>; contention announcements of every application to
/// <c>PREFIXcontention</c> (one channel, as a watcher listens to the whole store).
/// </summary>
/// <remarks>
/// The application name is escaped so that <c>:</c> cannot move the boundary between application and
/// session id (two applications never share a key), and neither part may contain a brace that would
/// change the hash tag.
/// </remarks>
internal sealed class SessionKeyLayout(string prefix)
{
    private static readonly System.Buffers.SearchValues<char> ApplicationSpecials = System.Buffers.SearchValues.Create("%{}:");
    private static readonly System.Buffers.SearchValues<char> SessionIdSpecials = System.Buffers.SearchValues.Create("%{}");

    /// <summary>The longest session id accepted, in UTF-8 bytes.</summary>
    public const int MaxSessionIdBytes = 512;

    public RedisKey KeyOf(SessionKey key)
    {
        if (string.IsNullOrEmpty(key.SessionId))
        {
            throw new ArgumentException("The session id is empty.", nameof(key));
        }

        ArgumentNullException.ThrowIfNull(key.Application, nameof(key));
        if (Encoding.UTF8.GetByteCount(key.SessionId) > MaxSessionIdBytes)
        {
            throw new ArgumentException($"The session id is longer than {MaxSessionIdBytes} UTF-8 bytes.", nameof(key));
        }

        if (key.Application.AsSpan().IndexOfAny(ApplicationSpecials) < 0 && key.SessionId.AsSpan().IndexOfAny(SessionIdSpecials) < 0)
        {
            return string.Concat(prefix, "{", key.Application, ":", key.SessionId + "}");
        }

        var builder = new StringBuilder(prefix.Length + key.Application.Length + key.SessionId.Length + 16);
        builder.Append(prefix).Append('{');
        Escape(builder, key.Application, escapeColon: true);
        builder.Append(':');
        Escape(builder, key.SessionId, escapeColon: false);
        builder.Append('}');
        return builder.ToString();
    }

    public RedisChannel ChannelOf(string application)
    {
        var builder = new StringBuilder(prefix.Length + application.Length + 8);
        builder.Append(prefix).Append("release:");
        Escape(builder, application, escapeColon: false);
        return RedisChannel.Literal(builder.ToString());
    }

    /// <summary>
    /// The channel of the store's contention announcements (<c>ILockContentionSource</c>). Distinct from every
    /// release channel, which all continue with <c>release:</c> after the prefix.
    /// </summary>
    public RedisChannel ContentionChannel { get; } = RedisChannel.Literal(prefix + "contention");

    private static void Escape(StringBuilder builder, string text, bool escapeColon)
    {
        foreach (var c in text)
        {
            switch (c)
            {
                case '%':
                    builder.Append("%25");
                    break;
                case '{':
                    builder.Append("%7B");
                    break;
                case '}':
                    builder.Append("%7D");
                    break;
                case ':' when escapeColon:
                    builder.Append("%3A");
                    break;
                default:
                    builder.Append(c);
                    break;
            }
        }
    }
}
