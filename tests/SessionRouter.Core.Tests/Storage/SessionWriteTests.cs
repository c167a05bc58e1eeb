using SessionRouter.Core.Storage;

namespace SessionRouter.Core.Tests.Storage;

/// <summary>The one argument check every store and the engine's client run on a write before anything else.</summary>
public sealed class SessionWriteTests
{
    [Theory]
    [InlineData(null, null)]
    [InlineData(null, 0L)]
    [InlineData(null, 7L)]
    [InlineData(1L, null)]
    [InlineData(long.MaxValue, null)]
    public void AWriteWithAtMostOneKindOfVersion_IsAccepted(long? version, long? expectedVersion)
    {
        new SessionWrite(Array.Empty<byte>(), TimeSpan.FromMinutes(1), LockId: 3, ExpectedVersion: expectedVersion, Version: version).ThrowIfInvalid();
    }

    [Theory]
    [InlineData(0L, null, "positive")]
    [InlineData(-1L, null, "positive")]
    [InlineData(long.MinValue, null, "positive")]
    [InlineData(2L, 1L, "never both")]
    [InlineData(2L, 0L, "never both")]
    public void AVersionNotPositive_OrBesideAnExpectedVersion_IsAnArgumentError(long version, long? expectedVersion, string reason)
    {
        var write = new SessionWrite(Array.Empty<byte>(), TimeSpan.FromMinutes(1), ExpectedVersion: expectedVersion, Version: version);

        var error = Assert.Throws<ArgumentException>(write.ThrowIfInvalid);

        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, null)]
    [InlineData(5L, null)]
    [InlineData(null, 4L)]
    public void KeepLock_WithALockId_IsAccepted(long? version, long? expectedVersion)
    {
        new SessionWrite(Array.Empty<byte>(), TimeSpan.FromMinutes(1), LockId: 3, ExpectedVersion: expectedVersion, Version: version, KeepLock: true).ThrowIfInvalid();
    }

    [Theory]
    [InlineData(null)]
    [InlineData(5L)]
    public void KeepLock_WithoutALockId_IsAnArgumentError(long? version)
    {
        var write = new SessionWrite(Array.Empty<byte>(), TimeSpan.FromMinutes(1), Version: version, KeepLock: true);

        var error = Assert.Throws<ArgumentException>(write.ThrowIfInvalid);

        Assert.Contains("LockId", error.Message, StringComparison.Ordinal);
    }
}
