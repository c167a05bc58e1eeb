using System.Globalization;
using System.Net;
using SessionRouter.Gateway.Tests.Infrastructure;

namespace SessionRouter.Gateway.Tests.Chaos;

/// <summary>
/// The clients of a chaos run: sessions, each with its own cookie, each sending one request at a time to a gateway
/// drawn at random: mostly increments of the counter the contract site keeps in the session, some read-only reads of
/// it. Every answer is judged by the session's <see cref="SessionLedger"/> and counted in the phase in force when it
/// arrived: a request sent just before a fault and answered during it shows what that fault did.
/// </summary>
internal sealed class ChaosLoad : IAsyncDisposable
{
    private const string CookieName = ".SessionRouter";

    private readonly HttpClient _http;
    private readonly IReadOnlyList<Uri> _gateways;
    private readonly PhaseBook _book;
    private readonly List<ChaosSession> _sessions;
    private readonly List<Task> _loops = [];
    private volatile bool _stopping;

    public ChaosLoad(IReadOnlyList<Uri> gateways, PhaseBook book, int sessions, int seed)
    {
        _gateways = gateways;
        _book = book;
        _sessions = Enumerable.Range(0, sessions).Select(i => new ChaosSession(i, new Random(seed + i))).ToList();

        // Cookies by hand: one client for every session, each request carrying its own session's cookie.
        _http = new HttpClient(new SocketsHttpHandler { UseCookies = false, AllowAutoRedirect = false, ConnectTimeout = TimeSpan.FromSeconds(10) })
        {
            Timeout = ChaosSettings.RequestTimeout,
        };
    }

    /// <summary>Sessions that saw at least one lost, stale or impossible answer.</summary>
    public int SessionsWithViolations => _sessions.Count(s => s.Violations > 0);

    /// <summary>Starts every session with its first increment (retried until answered: nothing is failing yet).</summary>
    public async Task StartSessionsAsync(CancellationToken cancellationToken)
    {
        await Task.WhenAll(_sessions.Select(async session =>
        {
            var bound = DateTime.UtcNow + ChaosSettings.FinalBound;
            while (session.Cookie is null)
            {
                await SendAsync(session, readOnly: false, cancellationToken).ConfigureAwait(false);
                if (session.Cookie is null)
                {
                    if (DateTime.UtcNow > bound)
                    {
                        throw new TimeoutException($"session {session.Index} got no cookie within {ChaosSettings.FinalBound.TotalSeconds} s");
                    }

                    await Task.Delay(250, cancellationToken).ConfigureAwait(false);
                }
            }
        })).ConfigureAwait(false);
    }

    /// <summary>Every session sends requests until <see cref="StopAsync"/>.</summary>
    public void Run(CancellationToken cancellationToken)
    {
        foreach (var session in _sessions)
        {
            _loops.Add(Task.Run(() => LoopAsync(session, cancellationToken), CancellationToken.None));
        }
    }

    /// <summary>Lets every session finish the request it is sending and stop.</summary>
    public async Task StopAsync()
    {
        _stopping = true;
        await Task.WhenAll(_loops).ConfigureAwait(false);
        _loops.Clear();
    }

    /// <summary>
    /// With every node up: each session must get an increment answered 200 within <see cref="ChaosSettings.FinalBound"/>,
    /// and then a read-only answer through each gateway. Returns the sessions that did not (stuck).
    /// </summary>
    public async Task<IReadOnlyList<int>> CheckEverySessionAnswersAsync(CancellationToken cancellationToken)
    {
        var stuck = await Task.WhenAll(_sessions.Select(async session =>
        {
            var bound = DateTime.UtcNow + ChaosSettings.FinalBound;
            while (!await SendAsync(session, readOnly: false, cancellationToken).ConfigureAwait(false))
            {
                if (DateTime.UtcNow > bound)
                {
                    return session.Index;
                }

                await Task.Delay(250, cancellationToken).ConfigureAwait(false);
            }

            foreach (var gateway in _gateways)
            {
                await SendAsync(session, readOnly: true, cancellationToken, gateway).ConfigureAwait(false);
            }

            return -1;
        })).ConfigureAwait(false);
        return stuck.Where(index => index >= 0).ToList();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _http.Dispose();
    }

    private async Task LoopAsync(ChaosSession session, CancellationToken cancellationToken)
    {
        try
        {
            while (!_stopping)
            {
                var readOnly = session.Random.Next(ChaosSettings.ReadOnlyOneIn) == 0;
                await SendAsync(session, readOnly, cancellationToken).ConfigureAwait(false);
                await Task.Delay(session.Random.Next(ChaosSettings.MinThinkMs, ChaosSettings.MaxThinkMs + 1), cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The run's overall bound passed: the test reports that, not every session's cancelled request.
        }
    }

    /// <summary>Sends one request of <paramref name="session"/>, judges and counts its answer; true when it was answered 200.</summary>
    private async Task<bool> SendAsync(ChaosSession session, bool readOnly, CancellationToken cancellationToken, Uri? gateway = null)
    {
        gateway ??= _gateways[session.Random.Next(_gateways.Count)];
        var startedIn = _book.Current;
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(gateway, readOnly ? "/ro/show" : "/cart/inc"));
        if (session.Cookie is not null)
        {
            request.Headers.Add("Cookie", session.Cookie);
        }

        string failure;
        try
        {
            using var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
            var reply = await SiteReply.ReadAsync(response).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.OK && reply.Count >= 0)
            {
                KeepCookie(session, response);
                Judge(session, _book.Current, readOnly, reply);
                return true;
            }

            failure = response.StatusCode == HttpStatusCode.OK ? "200 without a count" : ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture);
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            failure = "timeout";
        }
        catch (HttpRequestException)
        {
            failure = "connection";
        }

        if (!readOnly)
        {
            session.Ledger.IncrementFailed();
        }

        // Quiet phases allow no failure; a request that overlapped the start or the end of a fault may have met it.
        var endedIn = _book.Current;
        endedIn.CountFailure(failure, unexpected: !endedIn.IsFault && ReferenceEquals(startedIn, endedIn));
        return false;
    }

    private static void Judge(ChaosSession session, PhaseFigures phase, bool readOnly, SiteReply reply)
    {
        if (session.Id is null && !readOnly)
        {
            // The session's first answer: the gateway minted its id, the count starts at 1.
            session.Id = reply.Id;
        }

        var newId = reply.Id != session.Id;
        session.Id = reply.Id;
        var verdict = readOnly ? session.Ledger.Read(reply.Count) : session.Ledger.Incremented(reply.Count);
        if (verdict != AnswerVerdict.Consistent || newId)
        {
            session.Violations++;
        }

        phase.CountAnswer(verdict, newId);
    }

    /// <summary>Keeps the session cookie the gateway set (with a new session's first save).</summary>
    private static void KeepCookie(ChaosSession session, HttpResponseMessage response)
    {
        if (!response.Headers.TryGetValues("Set-Cookie", out var cookies))
        {
            return;
        }

        foreach (var cookie in cookies)
        {
            if (cookie.StartsWith(CookieName + "=", StringComparison.Ordinal))
            {
                var end = cookie.IndexOf(';', StringComparison.Ordinal);
                session.Cookie = end < 0 ? cookie : cookie[..end];
            }
        }
    }

    private sealed class ChaosSession(int index, Random random)
    {
        public int Index { get; } = index;

        /// <summary>The session's own generator: which gateway, which route, how long to pause.</summary>
        public Random Random { get; } = random;

        public SessionLedger Ledger { get; } = new();

        /// <summary>"name=value" of the session cookie; null until the first answer set it.</summary>
        public string? Cookie { get; set; }

        public string? Id { get; set; }

        public int Violations { get; set; }
    }
}
