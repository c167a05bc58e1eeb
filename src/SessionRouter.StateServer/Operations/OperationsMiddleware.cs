using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Primitives;
using SessionRouter.StateServer.Hosting;
using SessionRouter.StateServer.Wire;

using SessionRouter.StateServer.Connections;

namespace SessionRouter.StateServer.Operations;

/// <summary>
/// <c>/health</c> and <c>/metrics</c> on both of the node's ports, ahead of the protocol handler. Both are one
/// path segment, so never a session key. <c>/health</c> answers as before (the access key when one is set,
/// GET and HEAD; the gateway's probe reads its status code) with the ASP.NET Core health status and the
/// store's figures; <c>/metrics</c> answers loopback callers only unless <c>MetricsAllowRemote</c>, and with
/// an access key set every caller presents it (<c>X-SR-Access-Key</c> or <c>Authorization: Bearer</c>).
/// </summary>
/// <remarks>
/// The check is called directly rather than through ASP.NET Core's HealthCheckService, which logs a warning
/// for every Degraded report: with gateways probing every second, a full node would log one line per probe.
/// </remarks>
internal sealed class OperationsMiddleware(MemoryHealthCheck memory, StateServerOptions options, RequestDelegate? scrape)
{
    public const string MetricsPath = "/metrics";

    private static readonly JsonWriterOptions JsonOptions = new() { Indented = false };
    private static readonly StringValues AspNetVersionValue = new(StateProtocol.AspNetVersionValue);

    private readonly AccessKeyGate _accessKey = new(options.AccessKey);

    public Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        // One length test keeps the protocol's requests (/<application>/<id>) off the string compares.
        var path = context.Request.Path.Value;
        if (path is { Length: 7 } && string.Equals(path, StateProtocol.HealthPath, StringComparison.Ordinal))
        {
            return HealthAsync(context);
        }

        if (path is { Length: 8 } && string.Equals(path, MetricsPath, StringComparison.Ordinal))
        {
            return MetricsAsync(context);
        }

        return next(context);
    }

    private async Task HealthAsync(HttpContext context)
    {
        var request = context.Request;
        var response = context.Response;
        response.Headers[StateProtocol.AspNetVersion] = AspNetVersionValue;
        if (!_accessKey.Admit(context, acceptBearer: true))
        {
            await WriteTextAsync(response, StatusCodes.Status401Unauthorized, $"A valid {StateProtocol.AccessKey} header is required.");
            return;
        }

        if (!HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method))
        {
            response.Headers.Allow = "GET, HEAD";
            await WriteTextAsync(response, StatusCodes.Status405MethodNotAllowed, "The health endpoint answers GET and HEAD.");
            return;
        }

        var result = await memory.CheckHealthAsync(new HealthCheckContext(), context.RequestAborted);
        var body = Serialize(result);
        response.StatusCode = result.Status == HealthStatus.Unhealthy ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status200OK;
        response.ContentType = "application/json";
        response.Headers.CacheControl = "no-store";
        response.ContentLength = body.Length;
        if (!HttpMethods.IsHead(request.Method))
        {
            await response.Body.WriteAsync(body, context.RequestAborted);
        }
    }

    private Task MetricsAsync(HttpContext context)
    {
        var response = context.Response;
        response.Headers[StateProtocol.AspNetVersion] = AspNetVersionValue;
        if (scrape is null)
        {
            return WriteTextAsync(response, StatusCodes.Status404NotFound, "The Prometheus endpoint is off (StateServer:Metrics:Prometheus).");
        }

        var remote = context.Connection.RemoteIpAddress;
        if (!options.MetricsAllowRemote && remote is not null && !IPAddress.IsLoopback(remote))
        {
            return WriteTextAsync(response, StatusCodes.Status403Forbidden, "Metrics answer loopback callers only (StateServer:MetricsAllowRemote).");
        }

        if (!_accessKey.Admit(context, acceptBearer: true))
        {
            return WriteTextAsync(response, StatusCodes.Status401Unauthorized, $"A valid {StateProtocol.AccessKey} header or bearer token is required.");
        }

        return scrape(context);
    }

    /// <summary>The status, the store's figures at the top level (what the gateway's status page reads), then the check.</summary>
    private static byte[] Serialize(HealthCheckResult memory)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(512);
        using (var json = new Utf8JsonWriter(buffer, JsonOptions))
        {
            json.WriteStartObject();
            json.WriteString("status", memory.Status.ToString());
            foreach (var (key, value) in memory.Data)
            {
                WriteValue(json, key, value);
            }

            json.WriteStartObject("checks");
            json.WriteStartObject(MemoryHealthCheck.Name);
            json.WriteString("status", memory.Status.ToString());
            json.WriteString("description", memory.Description);
            json.WriteEndObject();
            json.WriteEndObject();
            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteValue(Utf8JsonWriter json, string key, object value)
    {
        switch (value)
        {
            case long number:
                json.WriteNumber(key, number);
                break;
            case int number:
                json.WriteNumber(key, number);
                break;
            default:
                json.WriteString(key, value.ToString());
                break;
        }
    }

    private static Task WriteTextAsync(HttpResponse response, int statusCode, string message)
    {
        var bytes = Encoding.UTF8.GetBytes(message);
        response.StatusCode = statusCode;
        response.ContentType = "text/plain; charset=utf-8";
        response.ContentLength = bytes.Length;
        return HttpMethods.IsHead(response.HttpContext.Request.Method) ? Task.CompletedTask : response.Body.WriteAsync(bytes).AsTask();
    }
}
