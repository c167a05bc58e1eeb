using System.Text.Json;
using Microsoft.Extensions.Configuration;
using SessionRouter.Core.Configuration;

namespace SessionRouter.Cli.Configuration;

/// <summary>The outcome of reading a yarp.json: the bound options (when binding worked) and every problem found.</summary>
internal sealed record ConfigFileResult(string Path, SessionRouterOptions? Options, IReadOnlyList<string> Errors, IReadOnlyList<string> Warnings)
{
    public bool IsValid => Options is not null && Errors.Count == 0;
}

/// <summary>
/// Reads a yarp.json the way the gateway does (Microsoft.Extensions.Configuration.Json, the
/// <c>SessionRouter</c> section bound to <see cref="SessionRouterOptions"/>) and reports, each naming its
/// field: JSON syntax errors with line and position, settings the options do not have (typos), values
/// that do not convert (an unknown enum name, a malformed time span) and the validator's findings.
/// </summary>
internal static class ConfigFileLoader
{
    public static ConfigFileResult Load(string path)
    {
        var fullPath = System.IO.Path.GetFullPath(path);
        var errors = new List<string>();
        var warnings = new List<string>();
        if (!File.Exists(fullPath))
        {
            errors.Add($"{path}: file not found.");
            return new ConfigFileResult(fullPath, null, errors, warnings);
        }

        IConfigurationRoot root;
        try
        {
            root = new ConfigurationBuilder()
                .AddJsonFile(fullPath, optional: false, reloadOnChange: false)
                .Build();
        }
        catch (InvalidDataException error)
        {
            errors.Add($"{path}: not valid JSON: {DescribeJsonError(error)}");
            return new ConfigFileResult(fullPath, null, errors, warnings);
        }
        catch (FormatException error)
        {
            // Duplicate keys and similar structural problems.
            errors.Add($"{path}: {error.Message}");
            return new ConfigFileResult(fullPath, null, errors, warnings);
        }

        if (!root.GetSection("ReverseProxy").Exists())
        {
            warnings.Add($"{path}: no ReverseProxy section: the gateway would route nothing.");
        }

        var section = root.GetSection(SessionRouterOptions.SectionName);
        if (!section.Exists())
        {
            errors.Add($"{path}: no {SessionRouterOptions.SectionName} section.");
            return new ConfigFileResult(fullPath, null, errors, warnings);
        }

        var options = SessionRouterSectionReader.Read(section, Path.GetDirectoryName(fullPath), out var sectionErrors);
        errors.AddRange(sectionErrors);
        return new ConfigFileResult(fullPath, options, errors, warnings);
    }

    private static string DescribeJsonError(Exception error)
    {
        for (var inner = error; inner is not null; inner = inner.InnerException)
        {
            if (inner is JsonException json)
            {
                return $"{json.Message}";
            }
        }

        return error.InnerException?.Message ?? error.Message;
    }
}
