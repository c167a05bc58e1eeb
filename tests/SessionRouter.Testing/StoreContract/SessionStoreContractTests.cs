using SessionRouter.Core.Storage;
using Xunit;

namespace SessionRouter.Testing.StoreContract;

/// <summary>
/// The store contract (DESIGN.md §4.1), written once. Each store derives a class that supplies
/// <see cref="Store"/> (the built-in engine in process and over its protocol client, Redis standalone,
/// Redis Cluster) and inherits every test. Keys are unique per test, so stores may be shared by a fixture.
/// </summary>
public abstract class SessionStoreContractTests
{
    /// <summary>The store under test.</summary>
    protected abstract ISessionStore Store { get; }

    protected static TimeSpan ItemTimeout { get; } = TimeSpan.FromMinutes(5);

    protected static SessionKey NewKey() => new("contract", Guid.NewGuid().ToString("N"));

    protected static ReadOnlyMemory<byte> Blob(string text) => System.Text.Encoding.UTF8.GetBytes(text);

    [Fact]
    public async Task Get_OfUnknownSession_IsNotFound()
    {
        var result = await Store.GetAsync(NewKey());

        Assert.Equal(StoreStatus.NotFound, result.Status);
        Assert.Null(result.Item);
    }

    [Fact]
    public async Task Set_ThenGet_ReturnsDataAndAPositiveVersion()
    {
        var key = NewKey();

        var write = await Store.SetAsync(key, new SessionWrite(Blob("hello"), ItemTimeout));
        var read = await Store.GetAsync(key);

        Assert.Equal(StoreStatus.Ok, write.Status);
        Assert.True(write.Version > 0);
        Assert.Equal(StoreStatus.Ok, read.Status);
        Assert.Equal("hello", System.Text.Encoding.UTF8.GetString(read.Item!.Data.Span));
        Assert.Equal(write.Version, read.Item.Version);
    }
}
