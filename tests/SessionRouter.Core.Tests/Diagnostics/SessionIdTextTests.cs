using SessionRouter.Core.Diagnostics;

namespace SessionRouter.Core.Tests.Diagnostics;

public sealed class SessionIdTextTests
{
    [Theory]
    [InlineData("3fZq9aK1x7YbQ2mN4pR8sT", "3fZq9a…")]
    [InlineData("abcdefghijkl", "abcdef…")]
    [InlineData("abcdefgh", "abcd…")]
    [InlineData("a", "…")]
    [InlineData("", "")]
    [InlineData(null, "")]
    public void Redact_ShowsAtMostTheFirstSixCharacters_AndNeverMostOfTheId(string? id, string expected)
        => Assert.Equal(expected, SessionIdText.Redact(id));
}
