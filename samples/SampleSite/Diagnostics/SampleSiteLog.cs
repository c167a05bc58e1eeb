using Microsoft.Extensions.Logging;

namespace SampleSite.Diagnostics;

/// <summary>
/// Every log line of the sample site, source-generated, with its event id: 1–99 the cart pages
/// (category <c>SampleSite</c>).
/// </summary>
internal static partial class SampleSiteLog
{
    // Cart pages: 1–99.

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "{Instance} served the cart page ({Items} items; state node {Node})")]
    public static partial void PageServed(ILogger logger, string instance, int items, string node);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "{Instance} {What}")]
    public static partial void CartChanged(ILogger logger, string instance, string what);

    [LoggerMessage(EventId = 3, Level = LogLevel.Warning, Message = "{Instance} refused a change: {Reason}")]
    public static partial void ChangeRefused(ILogger logger, string instance, string reason);
}
