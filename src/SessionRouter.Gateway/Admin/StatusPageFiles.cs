using Microsoft.AspNetCore.Http;

namespace SessionRouter.Gateway.Admin;

/// <summary>
/// The status page's files, embedded in the assembly (project item <c>Admin/StatusPage/*</c>), read once. The page
/// is plain HTML, CSS and JavaScript that reads the admin JSON endpoints: nothing is fetched from elsewhere.
/// </summary>
internal sealed class StatusPageFiles
{
    private const string ResourcePrefix = "SessionRouter.Gateway.StatusPage.";

    private readonly Dictionary<string, (byte[] Content, string ContentType)> _files = new(StringComparer.Ordinal);

    public StatusPageFiles()
    {
        Load("index.html", "text/html; charset=utf-8");
        Load("status.css", "text/css; charset=utf-8");
        Load("status.js", "text/javascript; charset=utf-8");
    }

    /// <summary>Writes the file <paramref name="name"/> (empty: the page itself); false when there is none.</summary>
    public bool TryWrite(HttpResponse response, string name, out Task written)
    {
        if (!_files.TryGetValue(name.Length == 0 ? "index.html" : name, out var file))
        {
            written = Task.CompletedTask;
            return false;
        }

        response.ContentType = file.ContentType;
        response.ContentLength = file.Content.Length;
        var headers = response.Headers;
        headers.CacheControl = "no-cache";
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";

        // Only the page's own files and the admin endpoints beside it.
        headers.ContentSecurityPolicy = "default-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
        written = response.Body.WriteAsync(file.Content).AsTask();
        return true;
    }

    private void Load(string name, string contentType)
    {
        using var stream = typeof(StatusPageFiles).Assembly.GetManifestResourceStream(ResourcePrefix + name)
            ?? throw new InvalidOperationException($"The status page file {name} is not embedded in the gateway.");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        _files[name] = (copy.ToArray(), contentType);
    }
}
