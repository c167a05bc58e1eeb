using System.Collections;
using System.ComponentModel;
using System.Reflection;
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

        FindUnknownSettings(section, typeof(SessionRouterOptions), errors);
        if (errors.Count > 0)
        {
            // Binding would drop or misread exactly these fields; the validator's findings would mislead.
            return new ConfigFileResult(fullPath, null, errors, warnings);
        }

        SessionRouterOptions options;
        try
        {
            options = new SessionRouterOptions();
            section.Bind(options);
        }
        catch (InvalidOperationException error)
        {
            errors.Add(DescribeBindingError(error));
            return new ConfigFileResult(fullPath, null, errors, warnings);
        }

        errors.AddRange(SessionRouterOptionsValidator.Validate(options));
        return new ConfigFileResult(fullPath, options, errors, warnings);
    }

    /// <summary>Every key under <paramref name="section"/> that names no property of <paramref name="type"/> or whose value does not convert, by full path.</summary>
    private static void FindUnknownSettings(IConfigurationSection section, Type type, List<string> errors)
    {
        foreach (var child in section.GetChildren())
        {
            var property = type.GetProperty(child.Key, BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase);
            if (property is null || !property.CanWrite)
            {
                errors.Add($"{child.Path} is not a setting of {section.Path} (known: {string.Join(", ", KnownSettings(type))}).");
                continue;
            }

            var propertyType = property.PropertyType;
            if (child.Value is { } value && !IsComplex(propertyType) && ElementType(propertyType) is null)
            {
                CheckValue(child.Path, value, propertyType, errors);
            }
            else if (IsComplex(propertyType))
            {
                FindUnknownSettings(child, propertyType, errors);
            }
            else if (ElementType(propertyType) is { } element && IsComplex(element))
            {
                foreach (var item in child.GetChildren())
                {
                    FindUnknownSettings(item, element, errors);
                }
            }
        }
    }

    /// <summary>
    /// Converts a leaf value the way the binder does. Checked here because the binder drops a list element
    /// whose value does not convert without a word, so a mistyped engine name would silently remove a node.
    /// </summary>
    private static void CheckValue(string path, string value, Type type, List<string> errors)
    {
        var target = Nullable.GetUnderlyingType(type) ?? type;
        if (target.IsEnum)
        {
            if (!Enum.TryParse(target, value, ignoreCase: true, out _) || int.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, out _))
            {
                errors.Add($"{path}: '{value}' is not one of {string.Join(", ", Enum.GetNames(target))}.");
            }

            return;
        }

        if (value.Length == 0 && Nullable.GetUnderlyingType(type) is not null)
        {
            return;
        }

        try
        {
            TypeDescriptor.GetConverter(target).ConvertFromInvariantString(value);
        }
        catch (Exception error) when (error is FormatException or NotSupportedException or ArgumentException or OverflowException)
        {
            var expected = target == typeof(TimeSpan) ? "a time span such as 00:00:30"
                : target == typeof(int) || target == typeof(long) ? "a whole number"
                : target == typeof(double) ? "a number"
                : target == typeof(bool) ? "true or false"
                : $"a {target.Name}";
            errors.Add($"{path}: '{value}' is not {expected}.");
        }
    }

    private static IEnumerable<string> KnownSettings(Type type)
        => type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite).Select(p => p.Name);

    private static bool IsComplex(Type type)
        => type.IsClass && type != typeof(string) && !typeof(IEnumerable).IsAssignableFrom(type);

    private static Type? ElementType(Type type)
        => type.IsGenericType && typeof(IEnumerable).IsAssignableFrom(type) ? type.GetGenericArguments()[0] : type.GetElementType();

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

    /// <summary>The binder names the path ("… at 'SessionRouter:Nodes:0:Engine' to type …"); add why the value did not convert.</summary>
    private static string DescribeBindingError(InvalidOperationException error)
    {
        var reason = error.InnerException?.Message;
        return reason is null ? error.Message : $"{error.Message} {reason}";
    }
}
