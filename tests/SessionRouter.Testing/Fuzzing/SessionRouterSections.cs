using System.Reflection;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Configuration;
using SessionRouter.Core.Configuration;

namespace SessionRouter.Testing.Fuzzing;

/// <summary>The material of yarp.json fuzzing: a section that uses every setting, and every setting's name.</summary>
public static class SessionRouterSections
{
    /// <summary>Every setting name of the section's types, so that edits hit real settings as often as made-up ones.</summary>
    public static IReadOnlyList<string> SettingNames { get; } = NamesOf(typeof(SessionRouterOptions)).Distinct().ToList();

    /// <summary>A <c>SessionRouter</c> section using every setting, valid as it stands (a Redis node's CA file aside).</summary>
    public static JsonObject Valid(string? redisTlsCaPath = null) => new()
    {
        ["ApplicationName"] = "Fuzz",
        ["Cookie"] = new JsonObject { ["Name"] = ".Fuzz", ["Path"] = "/", ["Domain"] = "example.org", ["Secure"] = true },
        ["IdleTimeout"] = "00:20:00",
        ["LockTimeout"] = "00:01:50",
        ["LockWaitTimeout"] = "00:00:10",
        ["MaxLockWaiters"] = 32,
        ["DefaultSessionMode"] = "ReadWrite",
        ["WhenNoHealthyNode"] = "Reject",
        ["SignatureKey"] = Convert.ToBase64String(new byte[32]),
        ["MaxStateBytes"] = 65536,
        ["ReplicationFactor"] = 1,
        ["DataProtection"] = new JsonObject { ["KeyRingPath"] = "keys", ["RedisKey"] = "k" },
        ["HealthChecks"] = new JsonObject { ["Interval"] = "00:00:01", ["Timeout"] = "00:00:00.500", ["FailuresToDown"] = 2, ["SuccessesToUp"] = 3, ["MaxConcurrentProbes"] = 8 },
        ["Admin"] = new JsonObject { ["Enabled"] = true, ["PathPrefix"] = "/_sessionrouter", ["AllowRemote"] = false },
        ["Nodes"] = new JsonArray(
            new JsonObject { ["Id"] = "a", ["Engine"] = "Builtin", ["Address"] = "http://127.0.0.1:43424", ["Http2"] = true, ["MaxRequestsInFlight"] = 2, ["Weight"] = 1, ["AccessKey"] = "k" },
            redisTlsCaPath is null
                ? new JsonObject { ["Id"] = "b", ["Engine"] = "Redis", ["ConnectionString"] = "127.0.0.1:6379", ["Weight"] = 0.5 }
                : new JsonObject { ["Id"] = "b", ["Engine"] = "Redis", ["ConnectionString"] = "127.0.0.1:6380,ssl=true", ["TlsCaPath"] = redisTlsCaPath, ["Weight"] = 0.5 }),
    };

    /// <summary>The configuration a JSON document gives, read by the same provider as yarp.json.</summary>
    public static IConfigurationRoot Configuration(JsonNode document)
    {
        ArgumentNullException.ThrowIfNull(document);
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(document.ToJsonString()));
        return new ConfigurationBuilder().AddJsonStream(stream).Build();
    }

    private static IEnumerable<string> NamesOf(Type type)
    {
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite))
        {
            yield return property.Name;
            var element = property.PropertyType.IsGenericType ? property.PropertyType.GetGenericArguments()[0] : property.PropertyType;
            if (element.IsClass && element != typeof(string) && element.Namespace == typeof(SessionRouterOptions).Namespace)
            {
                foreach (var name in NamesOf(element))
                {
                    yield return name;
                }
            }
        }
    }
}
