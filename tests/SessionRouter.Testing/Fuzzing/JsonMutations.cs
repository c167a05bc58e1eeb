using System.Text.Json.Nodes;

namespace SessionRouter.Testing.Fuzzing;

/// <summary>
/// Random edits of a JSON document the way a hurried operator or a broken deployment script makes them:
/// values of the wrong type or out of range, settings removed, misspelt or added, objects where lists belong
/// and the reverse, whole subtrees replaced with random JSON. The result is always well-formed JSON whose
/// object keys never differ only in case (configuration keys are case-insensitive: such a pair is a
/// duplicate key, the JSON configuration provider's own error).
/// </summary>
public static class JsonMutations
{
    private static readonly string[] Scalars =
    [
        "", " ", "0", "-1", "1", "2147483648", "-2147483649", "99999999999999999999999", "1e400", "-1e400", "NaN", "Infinity",
        "0.5", "true", "false", "null", "abc", "00:00:00", "-00:00:01", "10675199.02:48:05.4775808", "1.00:00:00", "00:00:00.0000001",
        "http://127.0.0.1:1", "https://[::1]:443", "http://", "ftp://x", "127.0.0.1:6379", "127.0.0.1:6379,ssl=true", "127.0.0.1:6379,notAnOption=1",
        "Builtin", "Redis", "builtin", "Bultin", "ReadWrite", "ReadOnly", "None", "Reject", "ForwardWithoutSession", "/", "/_admin", "a/b",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "not base64!", "é✓", "\u0000", "{}", "[]", "${VAR}", "..", "../../etc/passwd",
    ];

    /// <summary>A mutated deep copy of <paramref name="document"/> after one to <paramref name="maxEdits"/> edits.</summary>
    public static JsonNode Mutate(Random random, JsonNode document, IReadOnlyList<string> knownNames, int maxEdits = 4)
    {
        ArgumentNullException.ThrowIfNull(random);
        ArgumentNullException.ThrowIfNull(document);
        var copy = document.DeepClone();
        for (var edits = random.Next(1, maxEdits + 1); edits > 0; edits--)
        {
            var containers = new List<JsonNode>();
            Collect(copy, containers);
            var target = containers[random.Next(containers.Count)];
            if (target is JsonObject obj)
            {
                EditObject(random, obj, knownNames);
            }
            else if (target is JsonArray array)
            {
                EditArray(random, array, knownNames);
            }
        }

        return copy;
    }

    /// <summary>A random JSON value of at most <paramref name="depth"/> levels, keys drawn from <paramref name="knownNames"/> or made up.</summary>
    public static JsonNode? RandomValue(Random random, IReadOnlyList<string> knownNames, int depth)
    {
        ArgumentNullException.ThrowIfNull(random);
        ArgumentNullException.ThrowIfNull(knownNames);
        switch (depth <= 0 ? random.Next(5) : random.Next(7))
        {
            case 0:
                return null;
            case 1:
                return JsonValue.Create(random.Next(2) == 0);
            case 2:
                return random.Next(3) switch
                {
                    0 => JsonValue.Create(random.Next(-3, 100_000)),
                    1 => JsonValue.Create(random.NextDouble() * Math.Pow(10, random.Next(-5, 300)) * (random.Next(2) == 0 ? -1 : 1)),
                    _ => JsonValue.Create(long.MaxValue - random.Next(3)),
                };
            case 3:
            case 4:
                return JsonValue.Create(random.Next(3) == 0 ? Mutations.RandomText(random, 30) : Scalars[random.Next(Scalars.Length)]);
            case 5:
                var array = new JsonArray();
                for (var i = random.Next(4); i > 0; i--)
                {
                    array.Add(RandomValue(random, knownNames, depth - 1));
                }

                return array;
            default:
                var obj = new JsonObject();
                for (var i = random.Next(4); i > 0; i--)
                {
                    var name = RandomName(random, knownNames);
                    if (!HasKeyIgnoringCase(obj, name))
                    {
                        obj[name] = RandomValue(random, knownNames, depth - 1);
                    }
                }

                return obj;
        }
    }

    private static void EditObject(Random random, JsonObject obj, IReadOnlyList<string> knownNames)
    {
        var names = obj.Select(p => p.Key).ToList();
        var name = names.Count == 0 ? null : names[random.Next(names.Count)];
        switch (random.Next(6))
        {
            case 0 when name is not null:
                obj.Remove(name);
                break;
            case 1 when name is not null:
                // Misspelt or re-cased: a case-only rename replaces the key, never adds its twin.
                var renamed = random.Next(2) == 0 ? Flip(random, name) : Mutations.Mutate(random, name);
                var value = obj[name];
                obj.Remove(name);
                if (!HasKeyIgnoringCase(obj, renamed))
                {
                    obj[renamed] = value;
                }

                break;
            case 2:
                var added = RandomName(random, knownNames);
                if (!HasKeyIgnoringCase(obj, added))
                {
                    obj[added] = RandomValue(random, knownNames, 2);
                }

                break;
            default:
                if (name is not null)
                {
                    obj[name] = random.Next(4) == 0 ? RandomValue(random, knownNames, 2) : ScalarLike(random, obj[name]);
                }

                break;
        }
    }

    private static void EditArray(Random random, JsonArray array, IReadOnlyList<string> knownNames)
    {
        var at = array.Count == 0 ? 0 : random.Next(array.Count);
        switch (random.Next(4))
        {
            case 0 when array.Count > 0:
                array.RemoveAt(at);
                break;
            case 1 when array.Count > 0:
                array.Add(array[at]?.DeepClone());
                break;
            case 2:
                array.Insert(at, RandomValue(random, knownNames, 2));
                break;
            default:
                if (array.Count > 0)
                {
                    array[at] = RandomValue(random, knownNames, 1);
                }

                break;
        }
    }

    /// <summary>Another value of about the same kind: a number for a number, a string for a string, mostly.</summary>
    private static JsonNode? ScalarLike(Random random, JsonNode? current)
    {
        if (random.Next(3) == 0)
        {
            return JsonValue.Create(Scalars[random.Next(Scalars.Length)]);
        }

        return current switch
        {
            JsonValue value when value.TryGetValue<double>(out var number) => JsonValue.Create(Finite(random.Next(3) switch
            {
                0 => -number,
                1 => number * Math.Pow(10, random.Next(1, 12)),
                _ => Math.Round(number) + random.Next(-2, 3),
            })),
            JsonValue value when value.TryGetValue<string>(out var text) => JsonValue.Create(Mutations.Mutate(random, text)),
            JsonValue value when value.TryGetValue<bool>(out var flag) => random.Next(2) == 0 ? JsonValue.Create(!flag) : JsonValue.Create(flag ? "yes" : "0"),
            _ => JsonValue.Create(Scalars[random.Next(Scalars.Length)]),
        };
    }

    // JSON has no infinities.
    private static double Finite(double value) => double.IsFinite(value) ? value : Math.CopySign(double.MaxValue, value);

    private static string RandomName(Random random, IReadOnlyList<string> knownNames) => random.Next(4) switch
    {
        0 => Mutations.RandomText(random, 10),
        1 => Flip(random, knownNames[random.Next(knownNames.Count)]),
        _ => knownNames[random.Next(knownNames.Count)],
    };

    private static string Flip(Random random, string name)
        => random.Next(2) == 0 ? name.ToUpperInvariant() : name.ToLowerInvariant();

    private static bool HasKeyIgnoringCase(JsonObject obj, string name)
        => obj.Any(p => string.Equals(p.Key, name, StringComparison.OrdinalIgnoreCase));

    private static void Collect(JsonNode? node, List<JsonNode> containers)
    {
        switch (node)
        {
            case JsonObject obj:
                containers.Add(obj);
                foreach (var property in obj)
                {
                    Collect(property.Value, containers);
                }

                break;
            case JsonArray array:
                containers.Add(array);
                foreach (var item in array)
                {
                    Collect(item, containers);
                }

                break;
        }
    }

    /// <summary>The text of <paramref name="value"/> as the invariant culture writes it (for messages).</summary>
    public static string Describe(JsonNode? value) => value?.ToJsonString() ?? "null";
}
