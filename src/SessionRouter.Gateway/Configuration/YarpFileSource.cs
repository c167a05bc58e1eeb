using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Json;

namespace SessionRouter.Gateway.Configuration;

/// <summary>
/// yarp.json as a configuration source that keeps its last good content when an edit is not JSON at all.
/// </summary>
/// <remarks>
/// The stock JSON source, on a reload that does not parse, empties its data and throws on the file watcher's
/// thread, where nobody sees the exception and no reload is signalled: the edit is refused without a word, and
/// the next reader of the configuration would find an empty file. This source keeps the previous data, reports
/// the error to <see cref="Unreadable"/> (the snapshot provider logs it and lists it in the reload history), and
/// lets the reload be signalled with the unchanged data, which every reader recognises as no change. An empty
/// file is an edit still being written and is passed over without a report. The first load still throws: a
/// gateway does not start from a file that is not JSON.
/// </remarks>
internal sealed class YarpFileSource : JsonConfigurationSource
{
    /// <summary>Called with the parse error of an edit that was not applied; set once the gateway is built.</summary>
    public Action<Exception>? Unreadable { get; set; }

    public static YarpFileSource For(string path)
    {
        var source = new YarpFileSource { Path = path, Optional = false, ReloadOnChange = true };
        source.ResolveFileProvider();
        return source;
    }

    public override IConfigurationProvider Build(IConfigurationBuilder builder)
    {
        EnsureDefaults(builder);
        return new Provider(this);
    }

    private sealed class Provider(YarpFileSource source) : JsonConfigurationProvider(source)
    {
        private bool _loaded;

        public override void Load(Stream stream)
        {
            if (!_loaded)
            {
                base.Load(stream);
                _loaded = true;
                return;
            }

            // An empty file is an edit caught between the truncation and the write (File.WriteAllText, most
            // editors that do not rename): the write that follows signals again. Kept, not reported.
            using var content = new MemoryStream();
            stream.CopyTo(content);
            if (IsBlank(content.GetBuffer().AsSpan(0, (int)content.Length)))
            {
                return;
            }

            content.Position = 0;
            try
            {
                // Data is replaced only when the whole file parsed.
                base.Load(content);
            }
            catch (FormatException error)
            {
                source.Unreadable?.Invoke(error);
            }
        }

        private static bool IsBlank(ReadOnlySpan<byte> content)
        {
            foreach (var b in content)
            {
                if (b is not ((byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n' or 0xEF or 0xBB or 0xBF))
                {
                    return false;
                }
            }

            return true;
        }
    }
}
