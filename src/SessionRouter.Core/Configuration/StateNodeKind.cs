using System.Collections.Frozen;

namespace SessionRouter.Core.Configuration;

/// <summary>
/// What every part that reads a partition map knows of one engine of state nodes: which of a node's settings
/// it needs and how the node is shown without secrets. The one place per engine outside the code that
/// connects to it (the gateway's connectors); adding an engine adds a kind here and a connector there.
/// </summary>
public interface IStateNodeKind
{
    StateNodeEngine Engine { get; }

    /// <summary>Adds an error naming <paramref name="path"/>'s field for each engine-specific setting that is wrong.</summary>
    void Validate(StateNodeOptions node, string path, ICollection<string> errors);

    /// <summary>Where the node is (an address, a first endpoint), safe to print and to serve on the admin status: no access key, no password.</summary>
    string Describe(StateNodeOptions node);
}

/// <summary>The engines a partition map may name.</summary>
public static class StateNodeKinds
{
    private static readonly FrozenDictionary<StateNodeEngine, IStateNodeKind> Kinds =
        new IStateNodeKind[] { new BuiltinNodeKind(), new RedisNodeKind() }.ToFrozenDictionary(k => k.Engine);

    /// <summary>The kind of <paramref name="engine"/>; false for a value no engine has (a typo bound as a number).</summary>
    public static bool TryGet(StateNodeEngine engine, out IStateNodeKind kind) => Kinds.TryGetValue(engine, out kind!);

    /// <summary>The names to offer in an error message.</summary>
    public static string Names => string.Join(" or ", Kinds.Keys.Order());

    /// <summary>How <paramref name="node"/> is shown; its engine's name alone when the engine is unknown.</summary>
    public static string Describe(StateNodeOptions node)
    {
        ArgumentNullException.ThrowIfNull(node);
        return TryGet(node.Engine, out var kind) ? kind.Describe(node) : node.Engine.ToString();
    }

    private sealed class BuiltinNodeKind : IStateNodeKind
    {
        public StateNodeEngine Engine => StateNodeEngine.Builtin;

        public void Validate(StateNodeOptions node, string path, ICollection<string> errors)
        {
            if (!Uri.TryCreate(node.Address, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            {
                errors.Add($"{path}:Address must be an absolute http:// or https:// address of a built-in engine (got '{node.Address}').");
                uri = null;
            }

            if (node.WaitForReplicas != 0)
            {
                errors.Add($"{path}:WaitForReplicas is a setting of Redis nodes; a built-in engine node has no replicas of its own.");
            }

            ValidateTls(node, path, uri, errors);
        }

        public string Describe(StateNodeOptions node) => node.Address ?? "";

        /// <summary>How the engine's certificate is trusted: only over https://, one way at a time, a well-formed pin, an existing CA file.</summary>
        private static void ValidateTls(StateNodeOptions node, string path, Uri? address, ICollection<string> errors)
        {
            var pinned = !string.IsNullOrEmpty(node.TlsThumbprint);
            var ca = !string.IsNullOrEmpty(node.TlsCaPath);
            if (!pinned && !ca)
            {
                return;
            }

            if (address is not null && address.Scheme != Uri.UriSchemeHttps)
            {
                errors.Add($"{path}:{(pinned ? "TlsThumbprint" : "TlsCaPath")} needs an https:// Address (got '{node.Address}').");
            }

            if (pinned && ca)
            {
                errors.Add($"{path}:TlsThumbprint and TlsCaPath are two ways to trust the engine's certificate: set one.");
            }

            if (pinned && !IsSha256Thumbprint(node.TlsThumbprint!))
            {
                errors.Add($"{path}:TlsThumbprint must be the certificate's SHA-256 hash, 64 hex digits (colons allowed; got '{node.TlsThumbprint}').");
            }

            if (ca && !File.Exists(node.TlsCaPath))
            {
                errors.Add($"{path}:TlsCaPath names no file: '{node.TlsCaPath}'.");
            }
        }

        private static bool IsSha256Thumbprint(string text)
        {
            var digits = 0;
            foreach (var c in text)
            {
                if (char.IsAsciiHexDigit(c))
                {
                    digits++;
                }
                else if (c is not (':' or ' '))
                {
                    return false;
                }
            }

            return digits == 64;
        }
    }

    private sealed class RedisNodeKind : IStateNodeKind
    {
        public StateNodeEngine Engine => StateNodeEngine.Redis;

        public void Validate(StateNodeOptions node, string path, ICollection<string> errors)
        {
            if (string.IsNullOrWhiteSpace(node.ConnectionString))
            {
                errors.Add($"{path}:ConnectionString must be set for a Redis node.");
            }

            if (node.WaitForReplicas < 0)
            {
                errors.Add($"{path}:WaitForReplicas must be 0 (do not wait) or the number of replicas a save waits for; it is {node.WaitForReplicas}.");
            }

            if (node.WaitForReplicas > 0 && node.WaitForReplicasTimeout <= TimeSpan.Zero)
            {
                errors.Add($"{path}:WaitForReplicasTimeout must be positive when WaitForReplicas is set; it is {node.WaitForReplicasTimeout}.");
            }

            if (!string.IsNullOrEmpty(node.TlsThumbprint))
            {
                errors.Add($"{path}:TlsThumbprint is a setting of built-in engine nodes; a Redis node takes TLS in its ConnectionString (ssl=true).");
            }
        }

        // A connection string may hold a password after its endpoints: show the first endpoint only.
        public string Describe(StateNodeOptions node)
        {
            var text = node.ConnectionString ?? "";
            var comma = text.IndexOf(',', StringComparison.Ordinal);
            return comma < 0 ? text : text[..comma];
        }
    }
}
