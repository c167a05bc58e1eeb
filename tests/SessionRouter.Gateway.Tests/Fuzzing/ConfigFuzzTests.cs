#pragma warning disable CA1507 // JSON keys of yarp.json, not member names.
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Configuration;
using SessionRouter.Core.Configuration;
using SessionRouter.Gateway.Configuration;
using SessionRouter.Gateway.Hosting;
using SessionRouter.Gateway.Tests.Infrastructure;
using SessionRouter.Testing.Certificates;
using SessionRouter.Testing.Fuzzing;
using Xunit;

namespace SessionRouter.Gateway.Tests.Fuzzing;

/// <summary>
/// Mutated and malformed yarp.json: the gateway's reader answers with options or errors naming settings, never
/// an exception; a gateway does not start on such a file and says why; a running gateway refuses such an edit,
/// says why, and serves on with the configuration in force (a canary session stored before is intact after).
/// </summary>
public sealed class ConfigFuzzTests
{
    [Fact]
    public void MutatedSections_ThroughTheGatewaysReader_GiveOptionsOrErrorsNamingSettings()
    {
        var directory = Directory.CreateTempSubdirectory("sr-gw-configfuzz-");
        try
        {
            using (var authority = TestCertificateAuthority.Create())
            {
                TestCertificateAuthority.WritePem(authority.Certificate, Path.Combine(directory.FullName, "ca.pem"));
            }

            var configPath = Path.Combine(directory.FullName, "yarp.json");
            var valid = SessionRouterSections.Valid(redisTlsCaPath: "ca.pem");
            var ran = FuzzLoop.Run(5_000, TimeSpan.FromSeconds(3), (random, _) =>
            {
                var section = random.Next(5) == 0
                    ? JsonMutations.RandomValue(random, SessionRouterSections.SettingNames, depth: 4)
                    : JsonMutations.Mutate(random, valid, SessionRouterSections.SettingNames, maxEdits: 6);
                var configuration = SessionRouterSections.Configuration(new JsonObject { ["SessionRouter"] = section });

                SessionRouterConfigReader.Read(configuration, configPath, out var errors);

                Assert.All(errors, error => Assert.Contains(SessionRouterOptions.SectionName, error, StringComparison.Ordinal));
            });

            Assert.True(ran > 0);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("{")]
    [InlineData("{ \"SessionRouter\": { \"Nodes\": [ } }")]
    [InlineData("[1, 2]")]
    [InlineData("{ \"SessionRouter\": {}, \"sessionrouter\": {} }")]
    public async Task MalformedJson_StopsStartUp_NamingTheFile(string text)
    {
        var directory = Directory.CreateTempSubdirectory("sr-gw-badjson-");
        try
        {
            var path = Path.Combine(directory.FullName, "yarp.json");
            await File.WriteAllTextAsync(path, text);

            var error = Assert.Throws<GatewayConfigurationException>(() => GatewayApp.Build(new GatewayAppOptions { ConfigPath = path, Urls = "http://127.0.0.1:0" }));

            Assert.StartsWith(path + ": ", error.Message, StringComparison.Ordinal);
            Assert.True(text == "[1, 2]" || text.Contains("sessionrouter", StringComparison.Ordinal) || error.Message.Contains("not valid JSON", StringComparison.Ordinal), error.Message);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task InvalidAndMalformedEdits_OfARunningGateway_AreRefused_AndTheCanaryIsIntact()
    {
        await using var farm = await GatewayFarm.StartAsync(new FarmOptions { Sites = 1 });
        var jar = new CookieContainer();
        using var canary = farm.NewClient(cookies: jar);
        for (var i = 1; i <= 3; i++)
        {
            Assert.Equal(i, (await SiteReply.ReadAsync(await canary.GetAsync("/cart/inc"))).Count);
        }

        var original = farm.Config.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
        var written = new HashSet<string>(StringComparer.Ordinal) { original };
        // What an editor's half-done save looks like: refused whole, logged with the reason.
        Assert.False(await farm.WriteConfigTextAsync(original[..(original.Length / 2)]));
        Assert.True(farm.Logs.Contains("which cannot be read: not valid JSON"), "a malformed edit is logged with the reason");

        await FuzzLoop.RunAsync(12, TimeSpan.FromSeconds(6), async (random, _) =>
        {
            var text = random.Next(2) == 0 ? MalformedText(random, original) : InvalidSection(random, farm.Config);
            if (text is null || !written.Add(text))
            {
                return;
            }

            var outcome = await farm.WriteConfigTextAsync(text);

            Assert.False(outcome, "an edit the reader refuses was applied");
            var reply = await SiteReply.ReadAsync(await canary.GetAsync("/cart/show"));
            Assert.Equal(200, reply.Status);
            Assert.Equal(3, reply.Count);
        });

        Assert.Equal(4, (await SiteReply.ReadAsync(await canary.GetAsync("/cart/inc"))).Count);
        using var admin = new HttpClient { BaseAddress = farm.Address };
        using var status = JsonDocument.Parse(await admin.GetStringAsync("/_sessionrouter/status"));
        Assert.Equal(1, status.RootElement.GetProperty("revision").GetInt64());
    }

    /// <summary>The file with one to three character edits that leave it unreadable to the JSON configuration provider; null when it still reads.</summary>
    private static string? MalformedText(Random random, string original)
    {
        var text = Mutations.Mutate(random, original);
        try
        {
            using var stream = new MemoryStream(Encoding.UTF8.GetBytes(text));
            new ConfigurationBuilder().AddJsonStream(stream).Build();
            return null;
        }
        catch (Exception error) when (error is FormatException or JsonException)
        {
            // The stream provider lets the reader's JsonException through; the file provider wraps it in a FormatException.
            return text;
        }
    }

    /// <summary>The file with its SessionRouter section mutated so that the reader refuses it; null when the mutation left it valid.</summary>
    private static string? InvalidSection(Random random, JsonObject config)
    {
        var document = config.DeepClone().AsObject();
        document["SessionRouter"] = JsonMutations.Mutate(random, document["SessionRouter"]!, SessionRouterSections.SettingNames);
        SessionRouterConfigReader.Read(SessionRouterSections.Configuration(document), "/tmp/yarp.json", out var errors);
        return errors.Count == 0 ? null : document.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }
}
