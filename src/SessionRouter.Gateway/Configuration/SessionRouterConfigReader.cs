using System.Globalization;
using System.Text;
using Microsoft.Extensions.Configuration;
using SessionRouter.Core.Configuration;

namespace SessionRouter.Gateway.Configuration;

/// <summary>
/// Binds the <c>SessionRouter</c> section and validates it through Core's <see cref="SessionRouterSectionReader"/>
/// (the same reader as <c>sessionrouter check</c>), and fingerprints it so unchanged reloads cost nothing.
/// </summary>
internal static class SessionRouterConfigReader
{
    public static SessionRouterOptions Read(IConfiguration configuration, out IReadOnlyList<string> errors)
        => SessionRouterSectionReader.Read(configuration.GetSection(SessionRouterOptions.SectionName), out errors);

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
