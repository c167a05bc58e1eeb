using System.Text;
using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Xunit;
using Microsoft.Extensions.Configuration;
using SessionRouter.Cli.Configuration;
using SessionRouter.Core.Configuration;
using SessionRouter.Testing.Fuzzing;

namespace SessionRouter.Core.Tests.Configuration;

/// <summary>
/// Mutated and random SessionRouter sections: the reader answers with options or with errors that each name a
/// setting, never with an exception; what it accepts, the validator accepts. The <c>sessionrouter check</c>
/// loader does the same for any file text, malformed JSON included.
/// </summary>
public sealed class SectionReaderFuzzTests
{
    private const int MaxTest = 1_500;

    [Property(MaxTest = MaxTest)]
    public bool MutatedSections_GiveOptionsOrErrorsNamingSettings(int seed)
    {
        var random = new Random(seed);
        var document = new JsonObject { ["SessionRouter"] = JsonMutations.Mutate(random, SessionRouterSections.Valid(), SessionRouterSections.SettingNames, maxEdits: 6) };
        return ReadsCleanly(document);
    }

    [Property(MaxTest = MaxTest)]
    public bool RandomSections_GiveOptionsOrErrorsNamingSettings(int seed)
    {
        var random = new Random(seed);
        var document = new JsonObject { ["SessionRouter"] = JsonMutations.RandomValue(random, SessionRouterSections.SettingNames, depth: 4) };
        return ReadsCleanly(document);
    }

    [Property(MaxTest = 300)]
    public bool AnyFileText_IsCheckedWithoutAnException(int seed)
    {
        var random = new Random(seed);
        var valid = new JsonObject { ["ReverseProxy"] = new JsonObject(), ["SessionRouter"] = SessionRouterSections.Valid() }.ToJsonString();
        var text = random.Next(3) == 0 ? Mutations.RandomText(random, 200) : Mutations.Mutate(random, valid);
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, text, Encoding.UTF8);
            var result = ConfigFileLoader.Load(file);
            return result.IsValid || result.Errors.Count > 0;
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Theory]
    [InlineData("{\"DataProtection\":{\"KeyRingPath\":{\"a\":1}}}", "SessionRouter:DataProtection:KeyRingPath must be a single value")]
    [InlineData("{\"MaxStateBytes\":[1,2]}", "SessionRouter:MaxStateBytes must be a single value")]
    [InlineData("{\"Cookie\":\"x\"}", "SessionRouter:Cookie must be a JSON object, not a single value")]
    [InlineData("{\"Nodes\":\"x\"}", "SessionRouter:Nodes must be a JSON list, not a single value")]
    [InlineData("{\"Nodes\":[\"x\"]}", "SessionRouter:Nodes:0 must be a JSON object, not a single value")]
    [InlineData("{\"Nodes\":[null]}", "SessionRouter:Nodes:0")]
    public void SectionsAndValuesInTheWrongPlace_AreNamed(string section, string named)
    {
        var document = JsonNode.Parse(section)!.AsObject();
        document.TryAdd("SignatureKey", Convert.ToBase64String(new byte[32]));
        document.TryAdd("Nodes", new JsonArray(new JsonObject { ["Id"] = "a", ["Address"] = "http://127.0.0.1:1" }));
        var configuration = SessionRouterSections.Configuration(new JsonObject { ["SessionRouter"] = document });

        SessionRouterSectionReader.Read(configuration.GetSection(SessionRouterOptions.SectionName), out var errors);

        Assert.Contains(errors, e => e.Contains(named, StringComparison.Ordinal));
    }

    /// <summary>No exception; every error names the section or a setting in it; no errors only for options the validator accepts.</summary>
    private static bool ReadsCleanly(JsonObject document)
    {
        var configuration = SessionRouterSections.Configuration(document);
        var options = SessionRouterSectionReader.Read(configuration.GetSection(SessionRouterOptions.SectionName), out var errors);
        if (errors.Count == 0)
        {
            return SessionRouterOptionsValidator.Validate(options).Count == 0;
        }

        return errors.All(error => error.Contains(SessionRouterOptions.SectionName, StringComparison.Ordinal)) || Fail(document, errors);
    }

    private static bool Fail(JsonObject document, IReadOnlyList<string> errors)
        => throw new Xunit.Sdk.XunitException($"An error names no setting.{Environment.NewLine}Section: {document.ToJsonString()}{Environment.NewLine}Errors: {string.Join(Environment.NewLine, errors)}");
}
