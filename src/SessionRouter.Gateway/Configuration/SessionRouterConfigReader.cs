using System.Globalization;
using System.Text;
using Microsoft.Extensions.Configuration;
using SessionRouter.Core.Configuration;
using SessionRouter.Redis.Configuration;

namespace SessionRouter.Gateway.Configuration;

/// <summary>
/// Binds the <c>SessionRouter</c> section and validates it through Core's <see cref="SessionRouterSectionReader"/>
/// (the same reader as <c>sessionrouter check</c>), then checks what only the gateway can: the settings of
/// each Redis node as its store reads them (connection string, TLS authority file). Also fingerprints the
/// section so unchanged reloads cost nothing.
/// </summary>
internal static class SessionRouterConfigReader
{
    /// <summary>
    /// Reads and validates the section of the file <paramref name="configPath"/>. A node's <c>TlsCaPath</c> is
    /// made absolute, relative to the file's directory.
    /// </summary>
    public static SessionRouterOptions Read(IConfiguration configuration, string configPath, out IReadOnlyList<string> errors)
    {
        var configDirectory = Path.GetDirectoryName(Path.GetFullPath(configPath))!;
        var options = SessionRouterSectionReader.Read(configuration.GetSection(SessionRouterOptions.SectionName), configDirectory, out errors);
        if (errors.Count > 0)
        {
            return options;
        }

        List<string>? found = null;
        for (var i = 0; i < options.Nodes.Count; i++)
        {
            if (options.Nodes[i].Engine == StateNodeEngine.Redis)
            {
                var nodeErrors = RedisStoreOptionsValidator.Validate(RedisStoreOptions.FromNode(options.Nodes[i], options, i));
                if (nodeErrors.Count > 0)
                {
                    (found ??= []).AddRange(nodeErrors);
                }
            }
        }

        if (found is not null)
        {
            errors = found;
        }

        return options;
    }

    /// <summary>
    /// A canonical text of the section (every key and value, sorted), so a reload that did not touch the
    /// section (only routes or clusters changed) is recognised and costs nothing.
    /// </summary>
    public static string Fingerprint(IConfiguration configuration)
    {
        var pairs = new List<KeyValuePair<string, string?>>(configuration.GetSection(SessionRouterOptions.SectionName).AsEnumerable());
        pairs.Sort(static (a, b) => string.CompareOrdinal(a.Key, b.Key));
        var text = new StringBuilder();
        foreach (var pair in pairs)
        {
            text.Append(pair.Key).Append('=').Append(pair.Value).Append('\n');
        }

        return text.ToString();
    }

}
