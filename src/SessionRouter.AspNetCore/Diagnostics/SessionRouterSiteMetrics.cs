using System.Diagnostics.Metrics;
using SessionRouter.AspNetCore.Session;
using SessionRouter.Core.Diagnostics;

namespace SessionRouter.AspNetCore.Diagnostics;

/// <summary>Counters of the web server side of the header contract (meter <c>SessionRouter.AspNetCore</c>).</summary>
internal sealed class SessionRouterSiteMetrics
{
    public const string MeterName = "SessionRouter.AspNetCore";

    private readonly Counter<long> _requests;
    private readonly Counter<long> _responses;
    private readonly Histogram<int> _stateSize;

    public SessionRouterSiteMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _requests = meter.CreateCounter<long>("sessionrouter.site.requests", "{request}",
            "Requests seen by the session middleware, by verification status.");
        _responses = meter.CreateCounter<long>("sessionrouter.site.state_changes", "{response}",
            "Responses that hand a change back to the gateway: a new state or the abandon marker.");
        _stateSize = meter.CreateHistogram<int>("sessionrouter.site.state_size", "By",
            "Size of the state blobs sent back to the gateway, before base64url.");
    }

    public void RequestRead(SessionRouterRequestStatus status, bool rejected)
        => _requests.Add(1, new KeyValuePair<string, object?>(MetricTags.Status, rejected ? "rejected" : StatusName(status)));

    public void StateSent(int bytes)
    {
        _responses.Add(1, new KeyValuePair<string, object?>(MetricTags.Change, "state"));
        _stateSize.Record(bytes);
    }

    public void Abandoned() => _responses.Add(1, new KeyValuePair<string, object?>(MetricTags.Change, "abandon"));

    private static string StatusName(SessionRouterRequestStatus status) => status switch
    {
        SessionRouterRequestStatus.Verified => "verified",
        SessionRouterRequestStatus.NoSession => "no_session",
        SessionRouterRequestStatus.NodeUnavailable => "node_unavailable",
        _ => "unverified",
    };
}
