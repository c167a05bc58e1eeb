using SessionRouter.Core.Storage;

namespace SessionRouter.Core.Tests.Storage;

public sealed class StoreStatusTests
{
    /// <summary>
    /// The values travel as numbers (engine batch answers, Redis script replies): a member renumbered here
    /// would be read as another status by a peer built before the change.
    /// </summary>
    [Fact]
    public void Values_AreTheWireValues()
    {
        var expected = new Dictionary<StoreStatus, int>
        {
            [StoreStatus.Ok] = 0,
            [StoreStatus.NotFound] = 1,
            [StoreStatus.Locked] = 2,
            [StoreStatus.LockMismatch] = 3,
            [StoreStatus.VersionConflict] = 4,
            [StoreStatus.AlreadyExists] = 5,
            [StoreStatus.TooLarge] = 6,
            [StoreStatus.CapacityExceeded] = 7,
            [StoreStatus.WaitTimeout] = 8,
            [StoreStatus.QueueFull] = 9,
        };

        Assert.Equal(expected.Count, Enum.GetValues<StoreStatus>().Length);
        foreach (var (status, value) in expected)
        {
            Assert.Equal(value, (int)status);
        }
    }

    [Fact]
    public void EveryValue_FitsTheBatchAnswersStatusByte()
        => Assert.All(Enum.GetValues<StoreStatus>(), status => Assert.InRange((int)status, 0, byte.MaxValue));
}
