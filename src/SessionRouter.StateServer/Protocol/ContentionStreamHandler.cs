using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using SessionRouter.StateServer.Diagnostics;
using SessionRouter.StateServer.Storage;
using SessionRouter.StateServer.Wire;

namespace SessionRouter.StateServer.Protocol;

/// <summary>
/// The engine's side of the contention stream (<c>GET /contention</c>): the revocation channel of the
/// gateways' lock leases. The answer is one long response that starts with the <c>SRC1</c> preamble (flushed
/// at once, so the watcher knows it is established) and carries a frame for every caller the store queues
/// behind a held lock, flushed as they come — everything queued is written before each flush.
/// </summary>
/// <remarks>
/// The access key is checked before this runs, like every request of the node, and that request admits the
/// connection (<see cref="Connections.ConnectionAdmission"/>), so the first-request deadline meant for
/// unauthenticated connections never closes a watch; Kestrel's idle timeout only counts while a connection
/// has no request open. The stream ends when the watcher goes away, or when the node begins to stop
/// (<paramref name="stopping"/>): a graceful shutdown waits for requests in flight, and a watch is never done
/// on its own.
/// </remarks>
internal sealed class ContentionStreamHandler(InMemorySessionStore store, ILogger logger, CancellationToken stopping)
{
    /// <summary>Streams until the caller goes away or the node stops; a refusal is returned as (status, message) for the caller to write.</summary>
    public async Task<(int Status, string? Message)> HandleAsync(HttpContext context)
    {
        var request = context.Request;
        if (!HttpMethods.IsGet(request.Method))
        {
            context.Response.Headers.Allow = "GET";
            return (StatusCodes.Status405MethodNotAllowed, $"The contention stream {StateProtocol.ContentionPath} answers GET only.");
        }

        using var ending = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, stopping);
        var token = ending.Token;
        using var subscription = store.WatchContention();
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = StateProtocol.ContentionContentType;
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();

        var remote = context.Connection.RemoteIpAddress;
        StateServerLog.ContentionWatchOpened(logger, remote);
        var writer = response.BodyWriter;
        var sent = 0L;
        try
        {
            ContentionCodec.WritePreamble(writer.GetSpan(ContentionCodec.PreambleBytes));
            writer.Advance(ContentionCodec.PreambleBytes);
            await writer.FlushAsync(token);

            var reader = subscription.Reader;
            while (await InMemorySessionStore.WaitToReadAsync(reader, token))
            {
                while (reader.TryRead(out var contention))
                {
                    var size = ContentionCodec.FrameSize(contention);
                    if (size > 0)
                    {
                        writer.Advance(ContentionCodec.WriteFrame(writer.GetSpan(size), contention));
                        sent++;
                    }
                }

                var flushed = await writer.FlushAsync(token);
                if (flushed.IsCompleted || flushed.IsCanceled)
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // The watcher went away or the node is stopping: the response just ends.
        }
        catch (IOException)
        {
            // The connection broke while a frame was being sent.
        }

        StateServerLog.ContentionWatchClosed(logger, remote, sent, stopping.IsCancellationRequested);
        return (StatusCodes.Status200OK, null);
    }
}
