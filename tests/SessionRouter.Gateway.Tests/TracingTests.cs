using System.Diagnostics;
using SessionRouter.Core.Storage;
using SessionRouter.Gateway.Nodes;
using SessionRouter.Gateway.Tests.Infrastructure;
using Xunit;

namespace SessionRouter.Gateway.Tests;

/// <summary>
/// The gateway adds no trace hop of its own unless a tracer listens: engine calls run without the
/// request's Activity, and hosting starts none just because logging is on. A client's trace context
/// reaches the site unchanged.
/// </summary>
public sealed class TracingTests : IAsyncLifetime
{
    private GatewayFarm _farm = null!;

    public async Task InitializeAsync() => _farm = await GatewayFarm.StartAsync(new FarmOptions());

    public async Task DisposeAsync() => await _farm.DisposeAsync();

    [Fact]
    public async Task ClientTraceparent_ReachesTheSiteUnchanged()
    {
        const string traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        using var client = _farm.NewClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/cart/inc");
        request.Headers.TryAddWithoutValidation("traceparent", traceparent);

        var reply = await SiteReply.ReadAsync(await client.SendAsync(request));

        Assert.Equal(200, reply.Status);
        Assert.Contains($"traceparent={traceparent}\n", reply.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithoutClientTraceparent_TheGatewayStartsNoTrace()
    {
        using var client = _farm.NewClient();

        var reply = await SiteReply.ReadAsync(await client.GetAsync("/cart/inc"));

        Assert.Equal(200, reply.Status);
        Assert.Contains("traceparent=\n", reply.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UntracedStore_CallsTheStoreWithoutTheCurrentActivity_AndRestoresIt()
    {
        var inner = new ActivityRecordingStore();
        var store = new UntracedSessionStore(inner);
        using var request = new Activity("request").Start();

        await store.GetExclusiveAsync(new SessionKey("app", "id"), new LockRequest());
        Assert.Same(request, Activity.Current);
        await store.SetAsync(new SessionKey("app", "id"), new SessionWrite(new byte[] { 1 }, TimeSpan.FromMinutes(1), null, null));
        Assert.Same(request, Activity.Current);

        // Entry and after the store's first await: two observations per call, none of them the request's.
        Assert.Equal(4, inner.Seen.Count);
        Assert.All(inner.Seen, Assert.Null);

        // The same store called directly sees the request's Activity (what the decorator removes).
        await inner.GetAsync(new SessionKey("app", "id"));
        Assert.Same(request, inner.Seen[^1]);
    }

    private sealed class ActivityRecordingStore : ISessionStore
    {
        public List<Activity?> Seen { get; } = [];

        public async ValueTask<SessionReadResult> GetAsync(SessionKey key, CancellationToken cancellationToken = default)
        {
            Seen.Add(Activity.Current);
            await Task.Yield();
            Seen.Add(Activity.Current);
            return default;
        }

        public ValueTask<SessionReadResult> GetExclusiveAsync(SessionKey key, LockRequest request, CancellationToken cancellationToken = default)
            => GetAsync(key, cancellationToken);

        public async ValueTask<SessionWriteResult> SetAsync(SessionKey key, SessionWrite write, CancellationToken cancellationToken = default)
        {
            await GetAsync(key, cancellationToken);
            return default;
        }

        public ValueTask<SessionWriteResult> ReleaseAsync(SessionKey key, long lockId, CancellationToken cancellationToken = default) => default;

        public ValueTask<SessionWriteResult> RemoveAsync(SessionKey key, long? lockId, CancellationToken cancellationToken = default) => default;

        public ValueTask<SessionWriteResult> TouchAsync(SessionKey key, CancellationToken cancellationToken = default) => default;

        public ValueTask<SessionWriteResult> CreateUninitializedAsync(SessionKey key, TimeSpan timeout, CancellationToken cancellationToken = default) => default;
    }
}
