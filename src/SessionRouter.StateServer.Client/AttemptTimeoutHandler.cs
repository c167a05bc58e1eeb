using System.Collections.Concurrent;
using Polly.Timeout;

namespace SessionRouter.StateServer.Client;

/// <summary>
/// The per-call attempt timeout of <see cref="StateServerClient"/>, below its circuit breaker. It does
/// what Polly's timeout strategy did, with one async frame instead of two per call and cancellation
/// sources reused through a pool (<see cref="CancellationTokenSource.TryReset"/>), so an expiry costs no
/// allocation. An expiry surfaces as Polly's <see cref="TimeoutRejectedException"/>, which the circuit
/// breaker counts; the caller's own cancellation stays an <see cref="OperationCanceledException"/>.
/// </summary>
internal sealed class AttemptTimeoutHandler : DelegatingHandler
{
    /// <summary>Time added to the attempt timeout for one request (an exclusive read that may wait for the lock).</summary>
    public static readonly HttpRequestOptionsKey<TimeSpan> ExtraTimeoutKey = new("SessionRouter.ExtraTimeout");

    private const int MaxPooledSources = 256;

    private readonly TimeSpan _timeout;
    private readonly ConcurrentQueue<CancellationTokenSource> _pool = new();
    private int _pooled;

    public AttemptTimeoutHandler(TimeSpan timeout, HttpMessageHandler innerHandler)
        : base(innerHandler)
    {
        _timeout = timeout;
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var timeout = request.Options.TryGetValue(ExtraTimeoutKey, out var extra) ? _timeout + extra : _timeout;
        var source = Rent();
        source.CancelAfter(timeout);
        var link = cancellationToken.CanBeCanceled
            ? cancellationToken.UnsafeRegister(static state => ((CancellationTokenSource)state!).Cancel(), source)
            : default;
        try
        {
            return await base.SendAsync(request, source.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException error) when (!cancellationToken.IsCancellationRequested && source.IsCancellationRequested)
        {
            throw new TimeoutRejectedException($"The call did not answer within {timeout.TotalMilliseconds:0} ms.", timeout, error);
        }
        finally
        {
            // Dispose waits for a running link callback, so the source is quiet before it is reused.
            link.Dispose();
            Return(source);
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            while (_pool.TryDequeue(out var source))
            {
                source.Dispose();
            }
        }

        base.Dispose(disposing);
    }

    private CancellationTokenSource Rent()
    {
        if (_pool.TryDequeue(out var source))
        {
            Interlocked.Decrement(ref _pooled);
            return source;
        }

        return new CancellationTokenSource();
    }

    private void Return(CancellationTokenSource source)
    {
        // A source that fired cannot be reset; neither is one kept beyond the pool's bound.
        if (source.TryReset())
        {
            if (Interlocked.Increment(ref _pooled) <= MaxPooledSources)
            {
                _pool.Enqueue(source);
                return;
            }

            Interlocked.Decrement(ref _pooled);
        }

        source.Dispose();
    }
}
