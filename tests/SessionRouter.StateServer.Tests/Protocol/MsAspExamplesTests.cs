using System.Text;
using SessionRouter.StateServer.Hosting;

namespace SessionRouter.StateServer.Tests.Protocol;

/// <summary>
/// The message examples of the MS-ASP specification (section 4, Protocol Examples, and the examples of
/// section 2.2.5), sent byte for byte over a raw socket as a classic client sends them.
/// </summary>
public sealed class MsAspExamplesTests : IAsyncLifetime
{
    // The spec's unique identifier: the application path, an escaped slash, the session id.
    private const string SpecTarget = "/w3svc/root/fxstatebvt(NDbkwGi0191wFdDv0yOUOobtHns%3d)%2f15hgq1uszp2tjt45lkwxmb55";

    private StateServerRunner _node = null!;

    public async Task InitializeAsync() => _node = await StateServerRunner.StartAsync(new StateServerOptions { Port = 0, Http2Port = -1 });

    public async Task DisposeAsync() => await _node.DisposeAsync();

    private static byte[] Filler(int length, byte seed) => Enumerable.Range(0, length).Select(i => (byte)(seed + (i % 200))).ToArray();

    [Fact]
    public async Task Section4_ProtocolExamples_ReplayedByteForByte()
    {
        var port = _node.Port;
        var initial = Filler(2381, 1);
        var updated = Filler(2981, 7);

        // A client sends a Set_Request to create new session data.
        var set = await RawHttp.SendAsync(port,
            $"PUT {SpecTarget} HTTP/1.1\r\nHost: 172.30.189.147:42424\r\nContent-Length: 2381\r\nTimeout: 10\r\nLock-Cookie: 1\r\nExtraFlags: 0\r\n\r\n", initial);
        Assert.Equal(200, set.StatusCode);
        Assert.Equal("0", set.Header("Content-Length"));
        Assert.Equal("2.0.50727", set.Header("X-AspNet-Version"));

        // The client sends a GetExclusive_Request (the spec's example carries a Content-Length on a GET).
        var acquire = await RawHttp.SendAsync(port,
            $"GET {SpecTarget} HTTP/1.1\r\nHost: 172.30.189.147:42424\r\nExclusive: Acquire\r\nContent-Length: 184\r\n\r\n", Filler(184, 3));
        Assert.Equal(200, acquire.StatusCode);
        Assert.Equal("2.0.50727", acquire.Header("X-AspNet-Version"));
        Assert.Equal("10", acquire.Header("Timeout"));
        Assert.Equal("1", acquire.Header("LockCookie"));
        Assert.Equal(initial, acquire.Body);

        // A different client tries a non-exclusive Get_Request of the locked item.
        var locked = await RawHttp.SendAsync(port,
            $"GET {SpecTarget} HTTP/1.1\r\nHost: 172.30.189.147:42424\r\nContent-Length: 163\r\n\r\n", Filler(163, 5));
        Assert.Equal(423, locked.StatusCode);
        Assert.Equal("2.0.50727", locked.Header("X-AspNet-Version"));
        Assert.Equal("1", locked.Header("LockCookie"));
        Assert.NotNull(locked.Header("LockAge"));
        Assert.NotNull(locked.Header("LockDate"));
        Assert.Empty(locked.Body);

        // The client with the lock updates the session.
        var update = await RawHttp.SendAsync(port,
            $"PUT {SpecTarget} HTTP/1.1\r\nHost: 172.30.189.147:42424\r\nContent-Length: 2981\r\nTimeout: 10\r\nLock-Cookie: 1\r\nExtraFlags: 0\r\n\r\n", updated);
        Assert.Equal(200, update.StatusCode);
        Assert.Equal("2.0.50727", update.Header("X-AspNet-Version"));

        // The set released the lock; a ReleaseExclusive_Request for it is still answered 200.
        var release = await RawHttp.SendAsync(port,
            $"GET {SpecTarget} HTTP/1.1\r\nHost: 172.30.189.147:42424\r\nExclusive: release\r\nLock-Cookie: 1\r\n\r\n");
        Assert.Equal(200, release.StatusCode);
        Assert.Equal("2.0.50727", release.Header("X-AspNet-Version"));

        // A second client gets the session with a non-exclusive Get_Request.
        var get = await RawHttp.SendAsync(port, $"GET {SpecTarget} HTTP/1.1\r\nHost: 172.30.189.147:42424\r\n\r\n");
        Assert.Equal(200, get.StatusCode);
        Assert.Equal("10", get.Header("Timeout"));
        Assert.Null(get.Header("LockCookie"));
        Assert.Equal(updated, get.Body);
    }

    [Fact]
    public async Task Section2_RequestExamples_AreAnswered()
    {
        var port = _node.Port;
        var data = Filler(100, 9);
        await RawHttp.SendAsync(port, $"PUT {SpecTarget} HTTP/1.1\r\nHost: 10.0.0.100:42424\r\nContent-Length: 100\r\nTimeout: 20\r\n\r\n", data);

        var get = await RawHttp.SendAsync(port, $"GET {SpecTarget} HTTP/1.1\r\nHost: 10.0.0.100:42424\r\n\r\n");
        var acquire = await RawHttp.SendAsync(port, $"GET {SpecTarget} HTTP/1.1\r\nHost: 10.0.0.100:42424\r\nExclusive: Acquire\r\n\r\n");
        var cookie = acquire.Header("LockCookie");
        var wrongRemove = await RawHttp.SendAsync(port, $"DELETE {SpecTarget} HTTP/1.1\r\nHost: 10.0.0.100:42424\r\nLock-Cookie: 12345\r\n\r\n");
        var release = await RawHttp.SendAsync(port, $"GET {SpecTarget} HTTP/1.1\r\nHost: 10.0.0.100:42424\r\nExclusive: release\r\nLock-Cookie: {cookie}\r\n\r\n");
        var touch = await RawHttp.SendAsync(port, $"HEAD {SpecTarget} HTTP/1.1\r\nHost: 10.0.0.100:42424\r\n\r\n");
        var remove = await RawHttp.SendAsync(port, $"DELETE {SpecTarget} HTTP/1.1\r\nHost: 10.0.0.100:42424\r\nLock-Cookie: 12345\r\n\r\n");
        var gone = await RawHttp.SendAsync(port, $"GET {SpecTarget} HTTP/1.1\r\nHost: 10.0.0.100:42424\r\n\r\n");

        Assert.Equal(200, get.StatusCode);
        Assert.Equal("20", get.Header("Timeout"));
        Assert.Equal(data, get.Body);
        Assert.Equal(200, acquire.StatusCode);
        Assert.Equal(423, wrongRemove.StatusCode);
        Assert.Equal(cookie, wrongRemove.Header("LockCookie"));
        Assert.Equal(200, release.StatusCode);
        Assert.Equal(200, touch.StatusCode);
        Assert.Equal(200, remove.StatusCode);
        Assert.Equal(404, gone.StatusCode);
        Assert.All([get, acquire, wrongRemove, release, touch, remove, gone], r => Assert.Equal("2.0.50727", r.Header("X-AspNet-Version")));
    }

    [Fact]
    public async Task ExtraFlags1_CreatesAnUninitializedItem_ActionFlagsReportedOnce_NeverOverwrites()
    {
        var port = _node.Port;
        const string target = "/app/uninit1";

        var create = await RawHttp.SendAsync(port, $"PUT {target} HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTimeout: 5\r\nExtraFlags: 1\r\n\r\n", [1, 2, 3]);
        var again = await RawHttp.SendAsync(port, $"PUT {target} HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTimeout: 5\r\nExtraFlags: 1\r\n\r\n", [9, 9]);
        var first = await RawHttp.SendAsync(port, $"GET {target} HTTP/1.1\r\nHost: x\r\nExclusive: acquire\r\n\r\n");
        await RawHttp.SendAsync(port, $"GET {target} HTTP/1.1\r\nHost: x\r\nExclusive: release\r\nLockCookie: {first.Header("LockCookie")}\r\n\r\n");
        var second = await RawHttp.SendAsync(port, $"GET {target} HTTP/1.1\r\nHost: x\r\n\r\n");

        Assert.Equal(200, create.StatusCode);
        Assert.Equal(200, again.StatusCode);
        Assert.Equal("AlreadyExists", again.Header("X-SR-Status"));
        Assert.Equal("1", first.Header("ActionFlags"));
        Assert.Equal(new byte[] { 1, 2, 3 }, first.Body);
        Assert.Null(second.Header("ActionFlags"));
        Assert.Equal(new byte[] { 1, 2, 3 }, second.Body);
    }

    [Fact]
    public async Task Http10_WithoutHost_AndHeadersWithoutASpace_AreAccepted()
    {
        var port = _node.Port;

        var put = await RawHttp.SendAsync(port, "PUT /legacy/abc HTTP/1.0\r\nContent-Length:4\r\nTimeout:7\r\n\r\n", Encoding.ASCII.GetBytes("data"));
        var acquire = await RawHttp.SendAsync(port, "GET /legacy/abc HTTP/1.0\r\nExclusive:acquire\r\n\r\n");
        var locked = await RawHttp.SendAsync(port, "GET /legacy/abc HTTP/1.0\r\n\r\n");

        Assert.Equal(200, put.StatusCode);
        Assert.Equal(200, acquire.StatusCode);
        Assert.Equal("7", acquire.Header("Timeout"));
        Assert.Equal("data", acquire.BodyText);
        Assert.Equal(423, locked.StatusCode);
        Assert.Equal(acquire.Header("LockCookie"), locked.Header("LockCookie"));
    }

    /// <summary>X-SR-KeepLock: 1 with X-SR-Lock-Id writes and keeps the lock: a classic GET still answers 423, the holder saves again, a PUT without it releases.</summary>
    [Fact]
    public async Task KeepLock_OnAPutWithTheLockId_WritesAndKeepsTheLock_UntilAPutWithoutIt()
    {
        var port = _node.Port;
        await RawHttp.SendAsync(port, "PUT /keep/one HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTimeout: 5\r\n\r\n", [1]);
        var acquire = await RawHttp.SendAsync(port, "GET /keep/one HTTP/1.1\r\nHost: x\r\nExclusive: acquire\r\n\r\n");
        var lockId = acquire.Header("LockCookie");

        var kept = await RawHttp.SendAsync(port, $"PUT /keep/one HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTimeout: 5\r\nX-SR-Lock-Id: {lockId}\r\nX-SR-KeepLock: 1\r\n\r\n", [2]);
        var classic = await RawHttp.SendAsync(port, "GET /keep/one HTTP/1.1\r\nHost: x\r\n\r\n");
        var committed = await RawHttp.SendAsync(port, "GET /keep/one HTTP/1.1\r\nHost: x\r\nX-SR-Read-Committed: 1\r\n\r\n");
        var final = await RawHttp.SendAsync(port, $"PUT /keep/one HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTimeout: 5\r\nX-SR-Lock-Id: {lockId}\r\n\r\n", [3]);
        var unlocked = await RawHttp.SendAsync(port, "GET /keep/one HTTP/1.1\r\nHost: x\r\n\r\n");

        Assert.Equal(200, kept.StatusCode);
        Assert.Equal(423, classic.StatusCode);
        Assert.Equal(lockId, classic.Header("LockCookie"));
        Assert.Equal(new byte[] { 2 }, committed.Body);
        Assert.Equal(200, final.StatusCode);
        Assert.Equal(200, unlocked.StatusCode);
        Assert.Equal(new byte[] { 3 }, unlocked.Body);
    }

    [Fact]
    public async Task ReadCommitted_OfALockedItem_ReturnsTheDataWithTheHoldersLock_WhileAClassicGetStaysLocked()
    {
        var port = _node.Port;
        await RawHttp.SendAsync(port, "PUT /rc/one HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTimeout: 5\r\n\r\n", [4, 2]);
        var acquire = await RawHttp.SendAsync(port, "GET /rc/one HTTP/1.1\r\nHost: x\r\nExclusive: acquire\r\n\r\n");

        var classic = await RawHttp.SendAsync(port, "GET /rc/one HTTP/1.1\r\nHost: x\r\n\r\n");
        var committed = await RawHttp.SendAsync(port, "GET /rc/one HTTP/1.1\r\nHost: x\r\nX-SR-Read-Committed: 1\r\n\r\n");

        Assert.Equal(423, classic.StatusCode);
        Assert.Equal(200, committed.StatusCode);
        Assert.Equal(new byte[] { 4, 2 }, committed.Body);
        Assert.Equal(acquire.Header("LockCookie"), committed.Header("LockCookie"));
        Assert.Equal(acquire.Header("X-SR-Version"), committed.Header("X-SR-Version"));
    }
}
