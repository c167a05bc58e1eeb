using System.Buffers;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using SessionRouter.Core.Storage;
using SessionRouter.StateServer.Storage;
using SessionRouter.StateServer.Wire;

namespace SessionRouter.StateServer.Protocol;

/// <summary>
/// The engine's side of the batch extension (<c>POST /batch</c>): decodes every record first (a
/// malformed batch is refused whole, so nothing of it is applied), runs the operations in order against
/// the store, and answers all of them in one response. Operations in a batch never park: an exclusive
/// read of a locked item answers <see cref="StoreStatus.Locked"/> at once and the client asks again on
/// its own with a lock wait. That keeps one contended session from holding up the others in its batch.
/// </summary>
internal sealed class BatchRequestHandler
{
    /// <summary>Answers up to this size leave in one write when the handler returns; larger ones are flushed as they are written.</summary>
    private const int UnflushedAnswerBytes = 64 * 1024;

    private readonly InMemorySessionStore _store;
    private readonly long _maxBodyBytes;

    public BatchRequestHandler(InMemorySessionStore store, long maxBodyBytes)
    {
        _store = store;
        _maxBodyBytes = maxBodyBytes;
    }

    /// <summary>Handles one batch; a refusal is returned as (status, message) for the caller to write.</summary>
    public async Task<(int Status, string? Message)> HandleAsync(HttpContext context, CancellationToken aborted)
    {
        var request = context.Request;
        if (!HttpMethods.IsPost(request.Method))
        {
            context.Response.Headers.Allow = "POST";
            return (StatusCodes.Status405MethodNotAllowed, $"The batch endpoint {StateProtocol.BatchPath} answers POST only.");
        }

        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } bodyLimit)
        {
            bodyLimit.MaxRequestBodySize = _maxBodyBytes;
        }

        if (request.ContentLength > _maxBodyBytes)
        {
            return (StatusCodes.Status413PayloadTooLarge, $"The batch ({request.ContentLength} bytes) exceeds the state server's batch limit of {_maxBodyBytes} bytes.");
        }

        using var body = await RequestBody.ReadAsync(request.BodyReader, _maxBodyBytes, aborted);
        if (body.IsTooLarge)
        {
            return (StatusCodes.Status413PayloadTooLarge, $"The batch exceeds the state server's batch limit of {_maxBodyBytes} bytes.");
        }

        if (!BatchCodec.TryReadRequests(body.Memory, out var requests, out var error))
        {
            return (StatusCodes.Status400BadRequest, error);
        }

        var answers = ArrayPool<BatchAnswer>.Shared.Rent(requests.Length);
        try
        {
            // A long: 1024 answers of up to MaxItemBytes each can add up past int.MaxValue.
            long answerBytes = BatchCodec.PreambleBytes;
            for (var i = 0; i < requests.Length; i++)
            {
                answers[i] = await RunAsync(requests[i], aborted);
                answerBytes += BatchCodec.AnswerSize(answers[i]);
            }

            await WriteAnswersAsync(context.Response, answers, requests.Length, answerBytes, aborted);
            return (StatusCodes.Status200OK, null);
        }
        finally
        {
            ArrayPool<BatchAnswer>.Shared.Return(answers, clearArray: true);
        }
    }

    private static async ValueTask WriteAnswersAsync(HttpResponse response, BatchAnswer[] answers, int count, long answerBytes, CancellationToken aborted)
    {
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = StateProtocol.BatchContentType;
        response.ContentLength = answerBytes;

        // Left in the pipe unflushed: Kestrel sends headers and body together when the handler returns.
        // Only an answer past UnflushedAnswerBytes is flushed as it goes, so a batch of large items is
        // never held whole in the pipe on top of the items themselves.
        var writer = response.BodyWriter;
        BatchCodec.WritePreamble(writer.GetSpan(BatchCodec.PreambleBytes), count);
        writer.Advance(BatchCodec.PreambleBytes);
        long unflushed = BatchCodec.PreambleBytes;
        for (var i = 0; i < count; i++)
        {
            var size = BatchCodec.AnswerSize(answers[i]);
            var written = BatchCodec.WriteAnswer(writer.GetSpan(size), answers[i]);
            writer.Advance(written);
            unflushed += written;
            if (unflushed > UnflushedAnswerBytes)
            {
                await writer.FlushAsync(aborted);
                unflushed = 0;
            }
        }
    }

    private async ValueTask<BatchAnswer> RunAsync(BatchRequest request, CancellationToken aborted)
    {
        var key = request.Key;
        var timeout = TimeSpan.FromMinutes(request.TimeoutMinutes);
        long? lockId = request.Has(BatchRequestFlags.HasLockId) ? request.LockId : null;
        switch (request.Operation)
        {
            case BatchOperation.Get:
                return BatchAnswer.FromRead(await _store.GetAsync(key, aborted));
            case BatchOperation.GetExclusive:
                TimeSpan? lockTimeout = request.Has(BatchRequestFlags.HasLockTimeout) ? TimeSpan.FromMilliseconds(request.LockTimeoutMilliseconds) : null;
                var lockRequest = new LockRequest(TimeSpan.Zero, lockTimeout, request.Has(BatchRequestFlags.CreateIfMissing), timeout, lockId ?? 0);
                return BatchAnswer.FromRead(await _store.GetExclusiveAsync(key, lockRequest, aborted));
            case BatchOperation.Set:
                long? expected = request.Has(BatchRequestFlags.HasExpectedVersion) ? request.Version : null;
                long? version = request.Has(BatchRequestFlags.HasVersion) ? request.Version : null;
                return BatchAnswer.FromWrite(await _store.SetAsync(key, new SessionWrite(request.Data, timeout, lockId, expected, version, request.Has(BatchRequestFlags.KeepLock)), aborted));
            case BatchOperation.Release:
                return lockId is { } held
                    ? BatchAnswer.FromWrite(await _store.ReleaseAsync(key, held, aborted))
                    : new BatchAnswer(StoreStatus.LockMismatch, null, default, false, 0);
            case BatchOperation.Remove:
                return BatchAnswer.FromWrite(await _store.RemoveAsync(key, lockId, aborted));
            case BatchOperation.Touch:
                return BatchAnswer.FromWrite(await _store.TouchAsync(key, aborted));
            default:
                return BatchAnswer.FromWrite(await _store.CreateUninitializedAsync(key, request.Data, timeout, aborted));
        }
    }
}
