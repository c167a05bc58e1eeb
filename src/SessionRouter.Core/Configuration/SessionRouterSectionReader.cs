using System.Collections;
using System.ComponentModel;
using System.Reflection;
using Microsoft.Extensions.Configuration;

namespace SessionRouter.Core.Configuration;

/// <summary>
/// Binds the <c>SessionRouter</c> section to <see cref="SessionRouterOptions"/> and reports every problem by
/// its configuration path: settings the options do not have (typos), values that do not convert (an unknown
/// enum name, a malformed time span) and the validator's findings. Shared by the gateway and the
/// <c>sessionrouter check</c> tool so both refuse exactly the same files.
/// </summary>
/// <remarks>
/// Unknown keys and conversions are checked before binding because the configuration binder drops a list
/// element whose value does not convert without a word: a mistyped engine name would silently remove a node.
/// </remarks>
public static class SessionRouterSectionReader
{
    /// <summary>Binds and validates <paramref name="section"/>; <paramref name="errors"/> is empty when it is valid.</summary>
    public static SessionRouterOptions Read(IConfigurationSection section, out IReadOnlyList<string> errors)
        => Read(section, baseDirectory: null, out errors);

    /// <summary>
    /// Binds and validates <paramref name="section"/>, first making a node's relative <c>TlsCaPath</c> absolute
    /// against <paramref name="baseDirectory"/> (the configuration file's directory), so a file is found the same
    /// way whatever the process's current directory. <paramref name="errors"/> is empty when it is valid.
    /// </summary>
    public static SessionRouterOptions Read(IConfigurationSection section, string? baseDirectory, out IReadOnlyList<string> errors)
    {
        ArgumentNullException.ThrowIfNull(section);
        var found = new List<string>();
        var options = new SessionRouterOptions();
        errors = found;
        if (!section.Exists())
        {
            found.Add($"The {section.Path} section is missing.");
            return options;
        }

        FindUnknownSettings(section, typeof(SessionRouterOptions), found);
        if (found.Count > 0)
        {
            // Binding would drop or misread exactly these fields; the validator's findings would mislead.
            return options;
        }

        try
        {
            section.Bind(options, static binder => binder.ErrorOnUnknownConfiguration = true);
        }
        catch (InvalidOperationException error)
        {
            found.Add(DescribeBindingError(error));
            return options;
        }

        if (baseDirectory is not null)
        {
            ResolveNodeFiles(options, baseDirectory);
        }

        found.AddRange(SessionRouterOptionsValidator.Validate(options));
        return options;
    }

    private static void ResolveNodeFiles(SessionRouterOptions options, string baseDirectory)
    {
        foreach (var node in options.Nodes)
        {
            // A path holding NUL is left as written: the node's validation names it.
            if (!string.IsNullOrWhiteSpace(node.TlsCaPath) && !node.TlsCaPath.Contains('\0', StringComparison.Ordinal))
            {
                node.TlsCaPath = Path.GetFullPath(node.TlsCaPath, baseDirectory);
            }
        }
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
            var isSingleValue = !IsComplex(propertyType) && ElementType(propertyType) is null;

            // The binder fails on a section where a value belongs, and on a value where a section belongs, with
            // a message that names neither the setting nor the file ("Cannot create instance of type ...").
            if (isSingleValue && child.GetChildren().Any())
            {
                errors.Add($"{child.Path} must be a single value, not a JSON object or list.");
            }
            else if (!isSingleValue && !string.IsNullOrEmpty(child.Value))
            {
                // Not echoing the value: a misplaced secret would end up in the log line.
                errors.Add($"{child.Path} must be a JSON {(IsComplex(propertyType) ? "object" : "list")}, not a single value.");
            }
            else if (child.Value is { } value && isSingleValue)
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
                    if (!string.IsNullOrEmpty(item.Value))
                    {
                        errors.Add($"{item.Path} must be a JSON object, not a single value.");
                    }
                    else
                    {
                        FindUnknownSettings(item, element, errors);
                    }
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

    /// <summary>The binder names the path ("… at 'SessionRouter:Nodes:0:Engine' to type …"); add why the value did not convert.</summary>
    private static string DescribeBindingError(InvalidOperationException error)
    {
        var reason = error.InnerException?.Message;
        return reason is null ? error.Message : $"{error.Message} {reason}";
    }
}
