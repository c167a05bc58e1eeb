using SessionRouter.Core.Configuration;

namespace SessionRouter.Core.Tests.Configuration;

public sealed class ValidationErrorsTests
{
    [Fact]
    public void Describe_ListsEveryError_AfterTheSubject()
    {
        var message = ValidationErrors.Describe("Invalid settings", ["A:B must be set.", "A:C must be positive."]);

        Assert.Equal($"Invalid settings: A:B must be set.{Environment.NewLine}  A:C must be positive.", message);
    }
}
