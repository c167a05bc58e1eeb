using System.Globalization;
using System.Text.RegularExpressions;
using SessionRouter.Core.Storage;
using SessionRouter.Redis.Scripts;
using Xunit;

namespace SessionRouter.Redis.Tests.Scripts;

/// <summary>
/// The numbers the Lua scripts answer are <see cref="StoreStatus"/> values: a script that returned a bare
/// number, or a table entry that paired a name with the wrong status, would make a refusal read as
/// another status (a lock mismatch as success, say).
/// </summary>
public sealed partial class ScriptStatusTests
{
    [Fact]
    public void EachScriptStatusName_IsTheStoreStatusOfThatName()
    {
        foreach (var (name, status) in SessionScripts.ScriptStatuses)
        {
            var pascal = string.Concat(name.Split('_').Select(word => word[..1] + word[1..].ToLowerInvariant()));
            Assert.Equal(Enum.Parse<StoreStatus>(pascal), status);
        }
    }

    [Fact]
    public void EveryScript_DefinesEachStatus_WithTheStoreStatusValue()
    {
        foreach (var script in SessionScripts.All)
        {
            var defined = Definition().Matches(script.Text).ToDictionary(m => m.Groups[1].Value, m => int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture));
            foreach (var (name, status) in SessionScripts.ScriptStatuses)
            {
                Assert.True(defined.TryGetValue(name, out var value), $"{script.Name} does not define {name}.");
                Assert.Equal((int)status, value);
            }
        }
    }

    [Fact]
    public void EveryReply_NamesItsStatus_NeverABareNumber()
    {
        var known = SessionScripts.ScriptStatuses.Select(s => s.Key).ToHashSet(StringComparer.Ordinal);
        foreach (var script in SessionScripts.All)
        {
            var replies = Reply().Matches(script.Text);
            Assert.NotEmpty(replies);
            foreach (Match reply in replies)
            {
                Assert.True(known.Contains(reply.Groups[1].Value), $"{script.Name} answers '{reply.Groups[1].Value}', not a name of SessionScripts.ScriptStatuses.");
            }
        }
    }

    [GeneratedRegex(@"^\s*local ([A-Z_]+) = (\d+)$", RegexOptions.Multiline)]
    private static partial Regex Definition();

    // The first element of every table a script returns: its status.
    [GeneratedRegex(@"return\s*\{\s*([^,\s}]+)")]
    private static partial Regex Reply();
}
