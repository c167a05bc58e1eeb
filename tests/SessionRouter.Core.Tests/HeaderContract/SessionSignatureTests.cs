using System.Security.Cryptography;
using System.Text;
using SessionRouter.Core.HeaderContract;

namespace SessionRouter.Core.Tests.HeaderContract;

public sealed class SessionSignatureTests
{
    private static readonly byte[] Key = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();
    private readonly SessionSignature _signature = new(Key);

    [Fact]
    public void ASignature_Verifies()
    {
        var value = _signature.Sign("abcdefghijklmnopqrstuv", SessionModeValues.ReadWrite, 1_700_000_000, "c3RhdGU");
        Assert.True(_signature.Verify("abcdefghijklmnopqrstuv", SessionModeValues.ReadWrite, 1_700_000_000, "c3RhdGU", value));
    }

    [Fact]
    public void TheSignature_IsTheDocumentedHmac()
    {
        // "v1\n" + id + "\n" + mode + "\n" + timestamp + "\n" + state, HMAC-SHA256, base64url without padding.
        var expected = Convert.ToBase64String(HMACSHA256.HashData(Key, Encoding.UTF8.GetBytes("v1\nid\nread-only\n42\nxyz")))
            .TrimEnd('=').Replace('+', '-').Replace('/', '_');
        Assert.Equal(expected, _signature.Sign("id", SessionModeValues.ReadOnly, 42, "xyz"));
    }

    [Theory]
    [InlineData("other-session", "read-write", 1_700_000_000L, "c3RhdGU")]
    [InlineData("abcdefghijklmnopqrstuv", "read-only", 1_700_000_000L, "c3RhdGU")]
    [InlineData("abcdefghijklmnopqrstuv", "read-write", 1_700_000_001L, "c3RhdGU")]
    [InlineData("abcdefghijklmnopqrstuv", "read-write", 1_700_000_000L, "c3RhdGX")]
    [InlineData("abcdefghijklmnopqrstuv", "read-write", 1_700_000_000L, null)]
    public void AnyChangedField_FailsVerification(string id, string mode, long timestamp, string? state)
    {
        var value = _signature.Sign("abcdefghijklmnopqrstuv", SessionModeValues.ReadWrite, 1_700_000_000, "c3RhdGU");
        Assert.False(_signature.Verify(id, mode, timestamp, state, value));
    }

    [Fact]
    public void AnotherKey_FailsVerification()
    {
        var value = _signature.Sign("id", SessionModeValues.ReadWrite, 1, null);
        var other = new SessionSignature(Enumerable.Repeat((byte)7, 32).ToArray());
        Assert.False(other.Verify("id", SessionModeValues.ReadWrite, 1, null, value));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("not base64url!")]
    [InlineData("AAAA")]
    public void MalformedSignatures_FailVerification(string? value)
        => Assert.False(_signature.Verify("id", SessionModeValues.ReadWrite, 1, null, value));

    [Fact]
    public void LongAndNonAsciiStates_RoundTrip()
    {
        var state = new string('x', 5000) + "é€😀";
        var value = _signature.Sign("ïd-ünïcode", SessionModeValues.ReadWrite, 1, state);
        Assert.True(_signature.Verify("ïd-ünïcode", SessionModeValues.ReadWrite, 1, state, value));
        Assert.False(_signature.Verify("ïd-ünïcode", SessionModeValues.ReadWrite, 1, state[..^1], value));
    }

    [Fact]
    public void AShortKey_IsRefused()
        => Assert.Throws<ArgumentException>(() => new SessionSignature(new byte[31]));

    [Fact]
    public void ContractHeaders_AreRecognisedCaseInsensitively()
    {
        Assert.True(SessionHeaders.IsContractHeader("sessionrouter-state"));
        Assert.True(SessionHeaders.IsContractHeader(SessionHeaders.Signature));
        Assert.False(SessionHeaders.IsContractHeader("Cookie"));
    }
}
