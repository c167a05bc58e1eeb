using System.Net;
using SessionRouter.Gateway.Cookies;
using SessionRouter.Gateway.Tests.Infrastructure;
using Xunit;

namespace SessionRouter.Gateway.Tests;

/// <summary>
/// Requests carrying the session cookie more than once (a cookie of a more specific path, a cookie set for a
/// parent domain, a client's mistake): the first cookie of the name that verifies decides, in the order the
/// client sent them, across Cookie headers.
/// </summary>
public sealed class DuplicateCookieTests : IAsyncLifetime
{
    private GatewayFarm _farm = null!;
    private string _first = null!;
    private string _second = null!;

    public async Task InitializeAsync()
    {
        _farm = await GatewayFarm.StartAsync(new FarmOptions());

        // Two sessions: the first at count 2, the second at count 5.
        _first = await NewSessionAsync(2);
        _second = await NewSessionAsync(5);
    }

    public async Task DisposeAsync() => await _farm.DisposeAsync();

    private async Task<string> NewSessionAsync(int count)
    {
        var jar = new CookieContainer();
        using var client = _farm.NewClient(cookies: jar);
        for (var i = 0; i < count; i++)
        {
            Assert.Equal(i + 1, (await SiteReply.ReadAsync(await client.GetAsync("/cart/inc"))).Count);
        }

        return jar.GetCookies(_farm.Address)[".SessionRouter"]!.Value;
    }

    private async Task<SiteReply> ShowWithCookieHeaderAsync(string cookieHeader)
    {
        using var client = _farm.NewClient(cookies: new CookieContainer());
        using var request = new HttpRequestMessage(HttpMethod.Get, "/cart/show");
        request.Headers.Add("Cookie", cookieHeader);
        return await SiteReply.ReadAsync(await client.SendAsync(request));
    }

    [Fact]
    public async Task TwoValidSessionCookies_TheFirstDecides()
    {
        var firstThenSecond = await ShowWithCookieHeaderAsync($".SessionRouter={_first}; .SessionRouter={_second}");
        var secondThenFirst = await ShowWithCookieHeaderAsync($".SessionRouter={_second}; .SessionRouter={_first}");

        Assert.Equal(2, firstThenSecond.Count);
        Assert.Equal(5, secondThenFirst.Count);
    }

    [Theory]
    [InlineData("garbage")]
    [InlineData("tampered")]
    [InlineData("empty")]
    public async Task AnInvalidCookieBeforeAValidOne_TheValidOneDecides(string kind)
    {
        var invalid = kind switch
        {
            "garbage" => "!!not-a-cookie!!",
            "tampered" => _second[..10] + (_second[10] == 'A' ? 'B' : 'A') + _second[11..],
            _ => "",
        };

        var reply = await ShowWithCookieHeaderAsync($".SessionRouter={invalid}; .SessionRouter={_first}");

        Assert.Equal(200, reply.Status);
        Assert.Equal(2, reply.Count);
        Assert.False(_farm.Logs.Contains("is garbled, tampered with"), "a rejected cookie is only logged when no session cookie verified");
    }

    [Fact]
    public async Task SessionCookiesInSeparateCookieHeaders_TheFirstHeaderDecides()
    {
        var reply = await RawHttpClient.GetAsync(_farm.Address, "/cart/show", [$"Cookie: theme=dark; .SessionRouter={_second}", $"Cookie: .SessionRouter={_first}"]);

        Assert.Equal(200, reply.StatusCode);
        Assert.Contains("count=5\n", reply.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CookiesWithSimilarNames_AreNotTheSessionCookie()
    {
        var reply = await ShowWithCookieHeaderAsync($"x.SessionRouter={_second}; .SessionRouterX={_second}; .sessionrouter={_second};.SessionRouter = \"{_first}\" ; b=1");

        Assert.Equal(2, reply.Count);
    }

    [Fact]
    public async Task OnlyTheFirstFewCookiesOfTheName_AreTried()
    {
        var garbage = string.Concat(Enumerable.Repeat(".SessionRouter=AAAA; ", SessionCookieValues.MaxValues));

        var reply = await ShowWithCookieHeaderAsync(garbage + $".SessionRouter={_first}");

        Assert.Equal(200, reply.Status);
        Assert.Equal(0, reply.Count);
        Assert.True(_farm.Logs.Contains("is garbled, tampered with"));
    }
}

/// <summary>The Cookie header reader on its own: names compared exactly, values in order, separators, bounds.</summary>
public sealed class SessionCookieValuesTests
{
    private static List<string> Read(string name, params string[] headers)
    {
        var found = new List<string>();
        foreach (var value in new SessionCookieValues(headers, name))
        {
            found.Add(value.ToString());
        }

        return found;
    }

    [Theory]
    [InlineData(".S=a", "a")]
    [InlineData(".S=a; .S=b", "a|b")]
    [InlineData("x=1; .S=a;y=2;.S=b", "a|b")]
    [InlineData("  .S  =  a  ;", "a")]
    [InlineData(".S=\"a\"", "a")]
    [InlineData(".S=; .S=a", "|a")]
    [InlineData(".S=a, .S=b", "a|b")]
    [InlineData(".s=a; S=b; x.S=c; .S", "")]
    [InlineData("=a; ;;; .S=b=c", "b=c")]
    [InlineData("", "")]
    public void ReadsValuesInOrder(string header, string expected)
    {
        Assert.Equal(expected, string.Join('|', Read(".S", header)));
    }

    [Fact]
    public void ReadsAcrossHeaders_InOrder()
    {
        Assert.Equal(["a", "b", "c"], Read(".S", ".S=a", "x=1", ".S=b; .S=c"));
    }

    [Fact]
    public void StopsAfterTheBound()
    {
        var header = string.Join("; ", Enumerable.Range(0, 100).Select(i => ".S=" + i));

        Assert.Equal(SessionCookieValues.MaxValues, Read(".S", header).Count);
    }
}
