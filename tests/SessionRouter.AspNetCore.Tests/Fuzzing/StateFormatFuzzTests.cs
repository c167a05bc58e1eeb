using System.Net;
using System.Text;
using FsCheck;
using FsCheck.Xunit;
using SessionRouter.AspNetCore.StateFormat;
using SessionRouter.AspNetCore.Tests.Infrastructure;
using SessionRouter.Core.HeaderContract;
using SessionRouter.Testing.Fuzzing;
using Xunit;

namespace SessionRouter.AspNetCore.Tests.Fuzzing;

/// <summary>
/// Malformed state blobs and header values: the format either reads them or says why in a
/// <see cref="FormatException"/>, never another exception; and a real site given one under a valid signature
/// serves the request without a session and never sends a state back.
/// </summary>
public sealed class StateFormatFuzzTests
{
    private const int MaxTest = 2_000;

    // Keys from a safe alphabet with multi-byte UTF-8 characters (no lone surrogates: Encode refuses those).
    private const string KeyAlphabet = "abcXYZ019-_.:/ éßжλ中✓";

    [Property(MaxTest = MaxTest)]
    public bool AnyBytes_DecodeOrFailWithAFormatException(byte[]? bytes, bool versioned)
    {
        bytes ??= [];
        var blob = versioned ? [SessionStateFormat.Version1, .. bytes] : bytes;
        return DecodesOrFailsClearly(blob);
    }

    [Property(MaxTest = MaxTest)]
    public bool MutatedBlobs_DecodeOrFailWithAFormatException_AndWhatDecodesRoundTrips(int seed)
    {
        var random = new Random(seed);
        var blob = SessionStateFormat.Encode(RandomEntries(random).ToList());
        for (var round = random.Next(1, 4); round > 0; round--)
        {
            blob = Mutations.Mutate(random, blob);
        }

        if (!DecodesOrFailsClearly(blob))
        {
            return false;
        }

        Dictionary<string, byte[]> decoded;
        try
        {
            decoded = SessionStateFormat.Decode(blob);
        }
        catch (FormatException)
        {
            return true;
        }

        var again = SessionStateFormat.Decode(SessionStateFormat.Encode(decoded.ToList()));
        return again.Count == decoded.Count && decoded.All(e => again.TryGetValue(e.Key, out var value) && value.AsSpan().SequenceEqual(e.Value));
    }

    [Property(MaxTest = MaxTest)]
    public bool AnyHeaderValue_DecodesOrFailsWithAFormatException(string? value, int seed)
    {
        var random = new Random(seed);
        var header = value ?? Mutations.Mutate(random, SessionStateFormat.ToHeaderValue(SessionStateFormat.Encode(RandomEntries(random).ToList())));
        try
        {
            var blob = SessionStateFormat.FromHeaderValue(header);
            return DecodesOrFailsClearly(blob);
        }
        catch (FormatException error)
        {
            return error.Message.Contains("SessionRouter-State", StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task MalformedStates_UnderAValidSignature_NeverAnUnhandledError_AndNeverASentState()
    {
        await using var site = await TestSite.StartAsync();
        var outcomes = new Dictionary<HttpStatusCode, int>();

        await FuzzLoop.RunAsync(1_000, TimeSpan.FromSeconds(3), async (random, _) =>
        {
            var entries = RandomEntries(random);
            var blob = SessionStateFormat.Encode(entries.ToList());
            var state = random.Next(3) switch
            {
                0 => Mutations.Mutate(random, SessionStateFormat.ToHeaderValue(blob)),
                _ => SessionStateFormat.ToHeaderValue(Mutations.Mutate(random, blob)),
            };

            // HttpClient refuses control characters and non-ASCII in headers, and HTTP drops spaces around a
            // value (the signature then no longer matches); a gateway sends neither.
            if (!Ascii.IsValid(state) || state.Any(char.IsControl))
            {
                state = SessionStateFormat.ToHeaderValue(Encoding.UTF8.GetBytes(state));
            }

            state = state.Trim(' ', '\t');

            var readable = Readable(state);
            using var request = GatewayHeaders.Signed(HttpMethod.Post, "/set/fuzz/1", GatewayHeaders.NewSessionId(), state: state);
            using var response = await site.Client.SendAsync(request);

            outcomes[response.StatusCode] = outcomes.GetValueOrDefault(response.StatusCode) + 1;
            if (readable)
            {
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                Assert.Equal("1", GatewayHeaders.DecodeStrings(GatewayHeaders.ResponseState(response)!)["fuzz"]);
            }
            else
            {
                // The write throws into the endpoint (409 from the test site), and nothing overwrites the stored blob.
                Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
                Assert.Null(GatewayHeaders.ResponseState(response));
                Assert.False(response.Headers.Contains(SessionHeaders.Abandon));
            }
        }, minIterations: 50);

        Assert.True(outcomes.GetValueOrDefault(HttpStatusCode.Conflict) > 0, "some states were unreadable");
        Assert.Contains(site.LogLines, line => line.Contains("cannot be read", StringComparison.OrdinalIgnoreCase) || line.Contains("unreadable", StringComparison.OrdinalIgnoreCase));
    }

    private static bool Readable(string header)
    {
        // An empty header is an absent one (docs/protocol.md): a session with no state yet.
        if (header.Length == 0)
        {
            return true;
        }

        try
        {
            SessionStateFormat.Decode(SessionStateFormat.FromHeaderValue(header));
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    private static bool DecodesOrFailsClearly(ReadOnlySpan<byte> blob)
    {
        try
        {
            SessionStateFormat.Decode(blob);
            return true;
        }
        catch (FormatException error)
        {
            return error.Message.StartsWith("The session state blob", StringComparison.Ordinal);
        }
    }

    private static Dictionary<string, byte[]> RandomEntries(Random random)
    {
        var entries = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        for (var i = random.Next(0, 6); i > 0; i--)
        {
            var key = new string(Enumerable.Range(0, random.Next(0, 10)).Select(_ => KeyAlphabet[random.Next(KeyAlphabet.Length)]).ToArray());
            var value = new byte[random.Next(0, 40)];
            random.NextBytes(value);
            entries[key] = value;
        }

        return entries;
    }
}
