using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Json;
using SessionRouter.Gateway.Hosting;

namespace SessionRouter.Gateway.Configuration;

/// <summary>
/// yarp.json as a configuration source, watched for edits. An edit that is not valid JSON (a typo, or a file
/// caught half-written by its editor) is refused as a whole: the configuration keeps what the file said
/// last, and <see cref="ConfigFileProvider.EditRefused"/> says why. The stock JSON source would empty the
/// configuration instead and say nothing.
/// </summary>
internal sealed class ConfigFileSource : JsonConfigurationSource
{
    /// <summary>Adds the file at <paramref name="configPath"/> to <paramref name="builder"/> and loads it.</summary>
    /// <exception cref="GatewayConfigurationException">The file is not valid JSON (the message names the file and where).</exception>
    public static ConfigFileProvider Add(IConfigurationBuilder builder, string configPath)
    {
        var source = new ConfigFileSource { Path = configPath, Optional = false, ReloadOnChange = true };

        // As AddJsonFile does: a file provider for the directory, owned (and disposed) by the provider.
        source.ResolveFileProvider();

        try
        {
            builder.Add(source);
        }
        catch (InvalidDataException error)
        {
            throw new GatewayConfigurationException($"{configPath}: {ConfigFileProvider.Describe(error)}", error);
        }

        return source.Provider ?? throw new InvalidOperationException("The configuration file was added but not loaded.");
    }

    private ConfigFileProvider? Provider { get; set; }

    public override IConfigurationProvider Build(IConfigurationBuilder builder)
    {
        EnsureDefaults(builder);
        return Provider = new ConfigFileProvider(this);
    }
}

/// <summary>The provider of <see cref="ConfigFileSource"/>: JSON parsing as usual, a malformed edit refused.</summary>
internal sealed class ConfigFileProvider(ConfigFileSource source) : JsonConfigurationProvider(source)
{
    private bool _loaded;

    /// <summary>Raised (on the file watcher's thread) when an edit was refused; carries why, where in the file.</summary>
    public event Action<string>? EditRefused;

    public override void Load(Stream stream)
    {
        if (!_loaded)
        {
            // At start-up a malformed file stops the gateway (GatewayApp reports it).
            base.Load(stream);
            _loaded = true;
            return;
        }

        // An empty file is an edit caught between the truncation and the write (File.WriteAllText, editors
        // that do not rename): the write that follows signals again. Passed over, not reported as refused.
        using var content = new MemoryStream();
        stream.CopyTo(content);
        if (IsBlank(content.GetBuffer().AsSpan(0, (int)content.Length)))
        {
            return;
        }

        content.Position = 0;
        try
        {
            // Replaces the data only when the whole file parsed.
            base.Load(content);
        }
        catch (FormatException error)
        {
            EditRefused?.Invoke(Describe(error));
        }
    }

    private static bool IsBlank(ReadOnlySpan<byte> content)
    {
        foreach (var b in content)
        {
            // White space and a UTF-8 byte order mark.
            if (b is not ((byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n' or 0xEF or 0xBB or 0xBF))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>What is wrong with the file, with the line and position the JSON reader gives (both counted from 0).</summary>
    internal static string Describe(Exception error)
    {
        for (var inner = error; inner is not null; inner = inner.InnerException)
        {
            if (inner is JsonException json)
            {
                return "not valid JSON: " + json.Message;
            }
        }

        for (var inner = error; inner is not null; inner = inner.InnerException)
        {
            if (inner is FormatException format)
            {
                return format.Message;
            }
        }

        return error.Message;
    }
}
