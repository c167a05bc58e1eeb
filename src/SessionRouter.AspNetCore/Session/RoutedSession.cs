using System.Diagnostics.CodeAnalysis;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using SessionRouter.AspNetCore.Diagnostics;
using SessionRouter.AspNetCore.StateFormat;
using SessionRouter.Core.Configuration;
using SessionRouter.Core.Diagnostics;
using SessionRouter.Core.HeaderContract;

namespace SessionRouter.AspNetCore.Session;

/// <summary>
/// <c>HttpContext.Session</c> over the header contract: the state arrives with the request, changes leave
/// with the response headers. The blob is decoded on first use, so requests that never touch the session
/// pay nothing. Only a state that differs from the one received is sent back.
/// </summary>
internal sealed class RoutedSession : ISession, ISessionRouterFeature
{
    private static readonly Dictionary<string, byte[]> NoEntries = new(StringComparer.Ordinal);

    private readonly SessionRequest _request;
    private readonly HttpResponse _response;
    private readonly int _maxStateBytes;
    private readonly ILogger _logger;
    private readonly SessionRouterSiteMetrics _metrics;

    private Dictionary<string, byte[]>? _entries;
    private byte[]? _receivedBlob;
    private string? _unreadableReason;

    // A write happened since the last commit; the state must be encoded and compared again.
    private bool _changedSinceCommit;

    // The header value computed by the last commit; null when the state equals what the gateway sent.
    private string? _pendingState;
    private int _pendingStateBytes;
    private bool _abandoned;
    private bool _headersWritten;

    // CommitAsync already told the application that the state is too large.
    private bool _oversizeReported;

    public RoutedSession(SessionRequest request, HttpResponse response, int maxStateBytes, ILogger logger, SessionRouterSiteMetrics metrics)
    {
        _request = request;
        _response = response;
        _maxStateBytes = maxStateBytes;
        _logger = logger;
        _metrics = metrics;
    }

    public SessionRouterRequestStatus Status => _request.Status;

    public string? UnavailableReason => IsAvailable ? null : _unreadableReason ?? _request.FailureReason;

    public SessionMode Mode => _request.Mode;

    public bool IsAbandoned => _abandoned;

    public bool IsAvailable
    {
        get
        {
            EnsureLoaded();
            return _request.Status == SessionRouterRequestStatus.Verified && _unreadableReason is null;
        }
    }

    public string Id => _request.SessionId ?? string.Empty;

    public IEnumerable<string> Keys
    {
        get
        {
            EnsureLoaded();
            return _entries!.Keys;
        }
    }

    public Task LoadAsync(CancellationToken cancellationToken = default)
    {
        // The state came with the request: loading never waits on I/O.
        EnsureLoaded();
        return Task.CompletedTask;
    }

    public Task CommitAsync(CancellationToken cancellationToken = default)
    {
        if (_changedSinceCommit && !_abandoned)
        {
            if (_headersWritten)
            {
                throw new InvalidOperationException(
                    "The response has already started: session changes travel back to the gateway in response headers and can no longer be sent.");
            }

            try
            {
                ComputePendingState();
            }
            catch (SessionStateTooLargeException)
            {
                _oversizeReported = true;
                throw;
            }
        }

        return Task.CompletedTask;
    }

    public bool TryGetValue(string key, [NotNullWhen(true)] out byte[]? value)
    {
        ArgumentNullException.ThrowIfNull(key);
        EnsureLoaded();
        return _entries!.TryGetValue(key, out value);
    }

    public void Set(string key, byte[] value)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(value);
        ThrowIfNotWritable("set a session value");
        _entries![key] = value;
        _changedSinceCommit = true;
    }

    public void Remove(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        ThrowIfNotWritable("remove a session value");
        _changedSinceCommit |= _entries!.Remove(key);
    }

    public void Clear()
    {
        ThrowIfNotWritable("clear the session");
        if (_entries!.Count > 0)
        {
            _entries.Clear();
            _changedSinceCommit = true;
        }
    }

    public void Abandon()
    {
        ThrowIfNotWritable("abandon the session");
        _abandoned = true;
        _entries!.Clear();
        _pendingState = null;
        _changedSinceCommit = false;
    }

    /// <summary>Runs as the response starts: the last moment headers can carry the session back.</summary>
    internal void WriteResponseHeaders()
    {
        if (_headersWritten)
        {
            return;
        }

        _headersWritten = true;
        if (_abandoned)
        {
            _response.Headers[SessionHeaders.Abandon] = "1";
            _metrics.Abandoned();
            if (_logger.IsEnabled(LogLevel.Debug))
            {
                var sessionId = SessionIdText.Redact(_request.SessionId);
                Log.SessionAbandoned(_logger, sessionId);
            }

            return;
        }

        if (_changedSinceCommit)
        {
            try
            {
                ComputePendingState();
            }
            catch (SessionStateTooLargeException ex)
            {
                // Nothing is sent, so the stored state stays as it was. If CommitAsync already threw to the
                // application, its response stands; otherwise the exception cannot reach it any more (the body
                // may be on its way) and a 500 tells the gateway and the client that the changes were not kept.
                if (!_oversizeReported)
                {
                    Log.ResponseStartFailed(_logger, SessionIdText.Redact(_request.SessionId), ex);
                    _response.StatusCode = StatusCodes.Status500InternalServerError;
                }

                return;
            }
        }

        if (_pendingState is not null)
        {
            _response.Headers[SessionHeaders.State] = _pendingState;
            _metrics.StateSent(_pendingStateBytes);

            // Runs on every response that sends a state: the id is redacted only when the line is written.
            if (_logger.IsEnabled(LogLevel.Debug))
            {
                var sessionId = SessionIdText.Redact(_request.SessionId);
                Log.StateSent(_logger, sessionId, _pendingStateBytes);
            }
        }
    }

    private void ComputePendingState()
    {
        var blob = SessionStateFormat.Encode(_entries!);
        if (blob.Length > _maxStateBytes)
        {
            if (!_oversizeReported)
            {
                Log.StateTooLarge(_logger, SessionIdText.Redact(_request.SessionId), blob.Length, _maxStateBytes);
            }

            _pendingState = null;
            throw new SessionStateTooLargeException(blob.Length, _maxStateBytes);
        }

        _changedSinceCommit = false;
        var unchanged = _receivedBlob is null ? _entries!.Count == 0 : blob.AsSpan().SequenceEqual(_receivedBlob);
        _pendingState = unchanged ? null : SessionStateFormat.ToHeaderValue(blob);
        _pendingStateBytes = blob.Length;
    }

    private void EnsureLoaded()
    {
        if (_entries is not null)
        {
            return;
        }

        if (_request.Status != SessionRouterRequestStatus.Verified || _request.StateHeader is null)
        {
            _entries = _request.Status == SessionRouterRequestStatus.Verified ? new(StringComparer.Ordinal) : NoEntries;
            return;
        }

        try
        {
            _receivedBlob = SessionStateFormat.FromHeaderValue(_request.StateHeader);
            _entries = SessionStateFormat.Decode(_receivedBlob);
        }
        catch (FormatException ex)
        {
            // Never overwrite a state this server cannot read: the session is unavailable for this request.
            _unreadableReason = "the stored state blob cannot be read: " + ex.Message;
            _entries = NoEntries;
            Log.StateUnreadable(_logger, SessionIdText.Redact(_request.SessionId), ex.Message);
        }
    }

    private void ThrowIfNotWritable(string action)
    {
        if (!IsAvailable)
        {
            throw new InvalidOperationException(
                $"Cannot {action}: HttpContext.Session is not available on this request because {UnavailableReason}.");
        }

        if (_request.Mode == SessionMode.ReadOnly)
        {
            throw new InvalidOperationException(
                $"Cannot {action}: the session is read-only on this route ({SessionHeaders.Mode}: {SessionModeValues.ReadOnly}). " +
                "Read-only routes never wait for a writer and never save; mark the route \"Session\": \"ReadWrite\" in the gateway's yarp.json to change the session there.");
        }

        if (_headersWritten || _response.HasStarted)
        {
            throw new InvalidOperationException(
                $"Cannot {action}: the response has already started. Session changes travel back to the gateway in response headers; change the session before writing the response body.");
        }
    }
}
