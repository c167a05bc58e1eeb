using System.Buffers.Text;
using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SessionRouter.Core.HeaderContract;

namespace SessionRouter.Gateway.Tests.Infrastructure;

/// <summary>
/// A real Kestrel web server behind the gateway that speaks the header contract directly: it verifies
/// the signature, keeps a counter as its session state (UTF-8 digits) and reports what it received.
/// </summary>
public sealed class ContractSite : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly SessionSignature _signature;
    private int _requests;

    private ContractSite(string name, byte[] key)
    {
        Name = name;
        _signature = new SessionSignature(key);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestHeadersTotalSize = 1024 * 1024);
        _app = builder.Build();
        _app.Run(HandleAsync);
    }

    public string Name { get; }

    public string Address => _app.Urls.First();

    /// <summary>Requests this site served.</summary>
    public int Requests => Volatile.Read(ref _requests);

    /// <summary>Requests that arrived with a signature that did not verify.</summary>
    public int BadSignatures { get; private set; }

    public static async Task<ContractSite> StartAsync(string name, byte[] key)
    {
        var site = new ContractSite(name, key);
        await site._app.StartAsync();
        return site;
    }

    private async Task HandleAsync(HttpContext context)
    {
        Interlocked.Increment(ref _requests);
        var request = context.Request;
        var id = request.Headers[SessionHeaders.Id].ToString();
        var mode = request.Headers[SessionHeaders.Mode].ToString();
        var stateText = request.Headers[SessionHeaders.State].ToString();
        var state = string.IsNullOrEmpty(stateText) ? null : stateText;
        var timestampText = request.Headers[SessionHeaders.Timestamp].ToString();
        var signature = request.Headers[SessionHeaders.Signature].ToString();
        var signed = mode.Length > 0
            && long.TryParse(timestampText, NumberStyles.None, CultureInfo.InvariantCulture, out var timestamp)
            && _signature.Verify(id, mode, timestamp, state, signature);
        if (mode.Length > 0 && !signed)
        {
            BadSignatures++;
        }

        var count = state is null ? 0 : int.Parse(Encoding.UTF8.GetString(Base64Url.DecodeFromChars(state)), CultureInfo.InvariantCulture);
        var query = request.Query;
        if (int.TryParse(query["delayMs"], CultureInfo.InvariantCulture, out var delay))
        {
            await Task.Delay(delay, context.RequestAborted);
        }

        var path = request.Path.Value ?? "";
        var response = context.Response;
        response.ContentType = "text/plain";
        if (path.EndsWith("/abandon", StringComparison.Ordinal))
        {
            response.Headers[SessionHeaders.Abandon] = "1";
        }
        else if (path.EndsWith("/big", StringComparison.Ordinal))
        {
            var bytes = int.Parse(query["bytes"]!, CultureInfo.InvariantCulture);
            response.Headers[SessionHeaders.State] = Base64Url.EncodeToString(new byte[bytes]);
        }
        else if (path.EndsWith("/garbage", StringComparison.Ordinal))
        {
            response.Headers[SessionHeaders.State] = "not base64url!";
        }
        else if (path.EndsWith("/inc", StringComparison.Ordinal) || path.EndsWith("/write", StringComparison.Ordinal))
        {
            count++;
            response.Headers[SessionHeaders.State] = Base64Url.EncodeToString(Encoding.UTF8.GetBytes(count.ToString(CultureInfo.InvariantCulture)));
        }

        if (query.ContainsKey("leak"))
        {
            response.Headers["SessionRouter-Internal-Debug"] = "secret";
            response.Headers[SessionHeaders.Id] = id;
        }

        // ?echo=Name: the value of that request header as the site received it.
        var echo = query["echo"].ToString();
        var echoed = echo.Length > 0 ? request.Headers[echo].ToString() : "";

        var seen = new StringBuilder();
        foreach (var header in request.Headers)
        {
            if (SessionHeaders.IsContractHeader(header.Key))
            {
                seen.Append(header.Key).Append(';');
            }
        }

        await response.WriteAsync(string.Create(CultureInfo.InvariantCulture,
            $"server={Name}\ncount={count}\nmode={mode}\nid={id}\nsigned={signed}\nheaders={seen}\ntraceparent={request.Headers["traceparent"]}\necho={echoed}\n"));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>The fields a <see cref="ContractSite"/> writes in its body.</summary>
public sealed record SiteReply(int Status, string Server, int Count, string Mode, string Id, bool IsSigned, string Headers, string Body)
{
    public static async Task<SiteReply> ReadAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        var fields = new Dictionary<string, string>();
        foreach (var line in body.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = line.IndexOf('=');
            if (eq > 0)
            {
                fields[line[..eq]] = line[(eq + 1)..];
            }
        }

        return new SiteReply(
            (int)response.StatusCode,
            fields.GetValueOrDefault("server", ""),
            int.TryParse(fields.GetValueOrDefault("count"), out var c) ? c : -1,
            fields.GetValueOrDefault("mode", ""),
            fields.GetValueOrDefault("id", ""),
            fields.GetValueOrDefault("signed") == "True",
            fields.GetValueOrDefault("headers", ""),
            body);
    }
}
