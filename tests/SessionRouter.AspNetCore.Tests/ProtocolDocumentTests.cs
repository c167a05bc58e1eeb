using SessionRouter.AspNetCore.StateFormat;
using SessionRouter.Core.HeaderContract;
using Xunit;

namespace SessionRouter.AspNetCore.Tests;

/// <summary>The worked examples of docs/protocol.md, so the page cannot drift from the code.</summary>
public sealed class ProtocolDocumentTests
{
    private const string SampleKey = "U0FNUExFIE9OTFktb3BlbnNzbCByYW5kIC1iYXNlNjQ=";
    private const string Id = "q3m5P1tW9yZc0vX2a4Bn7Q";
    private const long Timestamp = 1764000000;
    private const string State = "AQABbgAAAAQAAAABAARuYW1lAAAAA0FkYQ";

    [Fact]
    public void SignatureVector_WithState()
        => Assert.Equal("CgPDdoESU332Q8J4U_kN5QJj9G2jYKvwIFfnwlcTW5Y",
            new SessionSignature(Convert.FromBase64String(SampleKey)).Sign(Id, SessionModeValues.ReadWrite, Timestamp, State));

    [Fact]
    public void SignatureVector_NewSession()
        => Assert.Equal("qCxOmxYjU_kRINEDHuQYech0uMFSwt4eJZwCyD14FDE",
            new SessionSignature(Convert.FromBase64String(SampleKey)).Sign(Id, SessionModeValues.ReadWrite, Timestamp, null));

    [Fact]
    public void StateVector_AfterSetInt32Two()
    {
        var entries = SessionStateFormat.Decode(SessionStateFormat.FromHeaderValue(State));
        entries["n"] = [0, 0, 0, 2];
        Assert.Equal("AQABbgAAAAQAAAACAARuYW1lAAAAA0FkYQ", SessionStateFormat.ToHeaderValue(SessionStateFormat.Encode(entries)));
    }
}
