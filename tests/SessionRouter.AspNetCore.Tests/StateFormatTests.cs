using System.Text;
using SessionRouter.AspNetCore.StateFormat;
using Xunit;

namespace SessionRouter.AspNetCore.Tests;

/// <summary>The state blob, byte for byte as docs/protocol.md describes it.</summary>
public sealed class StateFormatTests
{
    // The worked example of docs/protocol.md: {"n": 1 as Int32 (SetInt32), "name": "Ada"}.
    private static readonly byte[] DocumentedBlob =
    [
        0x01,
        0x00, 0x01, (byte)'n', 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x01,
        0x00, 0x04, (byte)'n', (byte)'a', (byte)'m', (byte)'e', 0x00, 0x00, 0x00, 0x03, (byte)'A', (byte)'d', (byte)'a',
    ];

    private const string DocumentedHeader = "AQABbgAAAAQAAAABAARuYW1lAAAAA0FkYQ";

    [Fact]
    public void Encode_MatchesTheDocumentedExample()
    {
        var entries = new List<KeyValuePair<string, byte[]>>
        {
            new("n", [0, 0, 0, 1]),
            new("name", Encoding.UTF8.GetBytes("Ada")),
        };

        var blob = SessionStateFormat.Encode(entries);
        Assert.Equal(DocumentedBlob, blob);
        Assert.Equal(DocumentedHeader, SessionStateFormat.ToHeaderValue(blob));
    }

    [Fact]
    public void Decode_ReadsTheDocumentedExample()
    {
        var entries = SessionStateFormat.Decode(SessionStateFormat.FromHeaderValue(DocumentedHeader));
        Assert.Equal(2, entries.Count);
        Assert.Equal([0, 0, 0, 1], entries["n"]);
        Assert.Equal("Ada", Encoding.UTF8.GetString(entries["name"]));
    }

    [Fact]
    public void EmptySession_IsTheSingleVersionByte()
    {
        Assert.Equal([0x01], SessionStateFormat.Encode([]));
        Assert.Empty(SessionStateFormat.Decode([0x01]));
        Assert.Equal("AQ", SessionStateFormat.ToHeaderValue([0x01]));
    }

    [Fact]
    public void RoundTrip_KeepsUnicodeKeys_EmptyValues_AndBinaryValues()
    {
        var entries = new Dictionary<string, byte[]>
        {
            ["ключ-🔑"] = [0xFF, 0x00, 0x7F],
            [""] = [],
            ["big"] = Enumerable.Range(0, 70_000).Select(i => (byte)i).ToArray(),
        };

        var decoded = SessionStateFormat.Decode(SessionStateFormat.FromHeaderValue(SessionStateFormat.ToHeaderValue(SessionStateFormat.Encode(entries))));
        Assert.Equal(entries.Count, decoded.Count);
        foreach (var (key, value) in entries)
        {
            Assert.Equal(value, decoded[key]);
        }
    }

    [Fact]
    public void Keys_AreCaseSensitive()
    {
        var decoded = SessionStateFormat.Decode(SessionStateFormat.Encode([new("a", [1]), new("A", [2])]));
        Assert.Equal([1], decoded["a"]);
        Assert.Equal([2], decoded["A"]);
    }

    [Theory]
    [InlineData(new byte[0], "empty")]
    [InlineData(new byte[] { 0x02 }, "version 0x02")]
    [InlineData(new byte[] { 0x01, 0x00 }, "key length")]
    [InlineData(new byte[] { 0x01, 0x00, 0x05, (byte)'a' }, "key")]
    [InlineData(new byte[] { 0x01, 0x00, 0x01, (byte)'a', 0x00, 0x00 }, "value length")]
    [InlineData(new byte[] { 0x01, 0x00, 0x01, (byte)'a', 0x00, 0x00, 0x00, 0x02, 0x01 }, "value")]
    [InlineData(new byte[] { 0x01, 0x00, 0x01, 0xC3, 0x00, 0x00, 0x00, 0x00 }, "UTF-8")]
    [InlineData(new byte[] { 0x01, 0x00, 0x01, (byte)'a', 0, 0, 0, 0, 0x00, 0x01, (byte)'a', 0, 0, 0, 0 }, "twice")]
    [InlineData(new byte[] { 0x01, 0x00, 0x01, (byte)'a', 0xFF, 0xFF, 0xFF, 0xFF }, "value")]
    public void Decode_RefusesMalformedBlobs_SayingWhy(byte[] blob, string expected)
    {
        var error = Assert.Throws<FormatException>(() => SessionStateFormat.Decode(blob));
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void FromHeaderValue_RefusesNonBase64Url()
    {
        Assert.Throws<FormatException>(() => SessionStateFormat.FromHeaderValue("AQ+/"));
        Assert.Throws<FormatException>(() => SessionStateFormat.FromHeaderValue("A"));
    }

    [Fact]
    public void Encode_RefusesAKeyLongerThan65535Bytes()
    {
        Assert.Throws<ArgumentException>(() => SessionStateFormat.Encode([new(new string('k', 65_536), [])]));
    }
}
