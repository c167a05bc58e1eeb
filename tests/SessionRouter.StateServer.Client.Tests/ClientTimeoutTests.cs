using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using SessionRouter.Core.Storage;
using SessionRouter.StateServer.Hosting;

namespace SessionRouter.StateServer.Client.Tests;

/// <summary>
/// The attempt timeout (below the circuit breaker) against a node that accepts connections and never
/// answers, the caller's own cancellation, and the caller's ambient Activity.
/// </summary>
public sealed class ClientTimeoutTests : IDisposable
{
    private readonly TcpListener _silent = new(IPAddress.Loopback, 0);
    private readonly List<Socket> _accepted = [];
    private readonly CancellationTokenSource _stop = new();

    public ClientTimeoutTests()
    {
        _silent.Start();
        _ = AcceptForeverAsync();
    }

    private Uri SilentAddress => new($"http://127.0.0.1:{((IPEndPoint)_silent.LocalEndpoint).Port}/");

    /// <summary>A client of the silent node whose circuit opens after 2 failed calls; <paramref name="circuitOpened"/> counts openings.</summary>
    private StateServerClient SilentNodeClient(TimeSpan attemptTimeout, Action circuitOpened) => new(new StateServerClientOptions
    {
        NodeId = "silent",
        BaseAddress = SilentAddress,
        AttemptTimeout = attemptTimeout,
        CircuitBreakerMinimumThroughput = 2,
        OnCircuitOpened = (_, _) => circuitOpened(),
    });

    private static SessionKey NewKey() => new("timeouts", Guid.NewGuid().ToString("N"));

    private async Task AcceptForeverAsync()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var socket = await _silent.AcceptSocketAsync(_stop.Token);
                lock (_accepted)
                {
                    _accepted.Add(socket);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _silent.Stop();
        lock (_accepted)
        {
            _accepted.ForEach(s => s.Dispose());
        }

        _stop.Dispose();
    }

    [Fact]
    public async Task ANodeThatNeverAnswers_TimesOutAsUnavailable_AndTheTimeoutsOpenTheCircuit()
    {
        var opened = 0;
        using var client = SilentNodeClient(TimeSpan.FromMilliseconds(200), () => Interlocked.Increment(ref opened));

        var first = await Assert.ThrowsAsync<SessionStoreUnavailableException>(async () => await client.GetAsync(NewKey()));
        Assert.Equal("silent", first.NodeId);
        Assert.Contains("in time", first.Message, StringComparison.Ordinal);

        for (var i = 0; i < 3; i++)
        {
            await Assert.ThrowsAsync<SessionStoreUnavailableException>(async () => await client.SetAsync(NewKey(), new SessionWrite(new byte[] { 1 }, TimeSpan.FromMinutes(1))));
        }

        var broken = await Assert.ThrowsAsync<SessionStoreUnavailableException>(async () => await client.GetAsync(NewKey()));
        Assert.Contains("open circuit", broken.Message, StringComparison.Ordinal);
        Assert.Equal(1, opened);
    }

    [Fact]
    public async Task TheCallersCancellation_IsACancellation_NotAnUnavailableNode_AndNeverOpensTheCircuit()
    {
        var opened = 0;
        using var client = SilentNodeClient(TimeSpan.FromSeconds(30), () => Interlocked.Increment(ref opened));

        for (var i = 0; i < 4; i++)
        {
            using var cancellation = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await client.GetExclusiveAsync(NewKey(), new LockRequest(TimeSpan.Zero), cancellation.Token));
        }

        Assert.Equal(0, opened);
    }

    [Fact]
    public async Task TheCallersAmbientActivity_IsTheSameAfterACall()
    {
        await using var node = await StateServerRunner.StartAsync(new StateServerOptions { Port = 0, Http2Port = 0 });
        using var client = new StateServerClient(new StateServerClientOptions { NodeId = "n1", BaseAddress = node.BaseAddress });
        using var activity = new Activity("gateway-request").Start();

        await client.SetAsync(NewKey(), new SessionWrite(new byte[] { 1 }, TimeSpan.FromMinutes(1)));
        var read = await client.GetAsync(NewKey());

        Assert.Equal(StoreStatus.NotFound, read.Status);
        Assert.Same(activity, Activity.Current);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task EngineCalls_StartNoHttpClientActivity_UnderTheCallersActivity(bool recorded)
    {
        await using var node = await StateServerRunner.StartAsync(new StateServerOptions { Port = 0, Http2Port = 0 });
        using var client = new StateServerClient(new StateServerClientOptions { NodeId = "n1", BaseAddress = node.BaseAddress });
        using var ambient = new Activity("gateway-request").SetIdFormat(ActivityIdFormat.W3C).Start();
        ambient.ActivityTraceFlags = recorded ? ActivityTraceFlags.Recorded : ActivityTraceFlags.None;
        var children = 0;
        using var listener = new ActivityListener
        {
            // HttpClient asks the listener before it starts its activity for an outgoing call; the parent
            // it offers tells whether the call would hang under the caller's trace.
            ShouldListenTo = source => source.Name == "System.Net.Http",
            Sample = (ref ActivityCreationOptions<ActivityContext> options) =>
            {
                if (options.Parent.TraceId == ambient.TraceId)
                {
                    Interlocked.Increment(ref children);
                }

                return ActivitySamplingResult.None;
            },
        };
        ActivitySource.AddActivityListener(listener);

        await client.SetAsync(NewKey(), new SessionWrite(new byte[] { 1 }, TimeSpan.FromMinutes(1)));
        await client.GetAsync(NewKey());

        Assert.Equal(0, Volatile.Read(ref children));
        Assert.Same(ambient, Activity.Current);
    }
}
