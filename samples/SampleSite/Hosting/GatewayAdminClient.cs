using System.Net.Http.Json;
using Microsoft.Extensions.Options;

namespace SampleSite.Hosting;

/// <summary>What the gateway's admin endpoint says about a session.</summary>
public sealed record StateNodeAnswer(string? NodeId, IReadOnlyList<string> PreferenceList, string? Problem);

/// <summary>
/// Asks the gateway's admin endpoint <c>where/{id}</c> which state node holds a session. The header contract
/// deliberately tells a web server nothing about nodes, so the page asks the gateway instead of guessing.
/// </summary>
public sealed class GatewayAdminClient(HttpClient http, IOptions<SampleSiteOptions> options)
{
    public async Task<StateNodeAnswer> WhereAsync(string sessionId, CancellationToken cancellationToken)
    {
        var prefix = options.Value.GatewayAdminUrl;
        if (string.IsNullOrWhiteSpace(prefix))
        {
            return new StateNodeAnswer(null, [], "SampleSite:GatewayAdminUrl is not set");
        }

        if (string.IsNullOrEmpty(sessionId))
        {
            return new StateNodeAnswer(null, [], "no session on this request");
        }

        try
        {
            var address = new Uri(new Uri(prefix.EndsWith('/') ? prefix : prefix + "/"), "where/" + Uri.EscapeDataString(sessionId));
            var answer = await http.GetFromJsonAsync<WhereResponse>(address, cancellationToken).ConfigureAwait(false);
            var list = answer?.PreferenceList?.Select(e => e.NodeId ?? "?").ToArray() ?? [];
            return new StateNodeAnswer(answer?.ServedBy, list, answer?.ServedBy is null ? "no healthy node in the preference list" : null);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or System.Text.Json.JsonException or UriFormatException)
        {
            return new StateNodeAnswer(null, [], "the gateway's admin endpoint did not answer (" + ex.GetType().Name + ")");
        }
    }

    private sealed record WhereResponse(string? SessionId, long Revision, string? ServedBy, List<WhereEntry>? PreferenceList);

    private sealed record WhereEntry(int Position, string? NodeId, bool Healthy, bool HoldsReplica);
}
