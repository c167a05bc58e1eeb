using System.Buffers.Text;
using System.Globalization;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.DataProtection;
using SessionRouter.Gateway.Cookies;
using SessionRouter.Gateway.Tests.Infrastructure;
using SessionRouter.Testing.Fuzzing;
using Xunit;

namespace SessionRouter.Gateway.Tests.Fuzzing;

/// <summary>
/// Tampered, garbled and hostile session cookies: the codec and the Cookie header reader never throw, and
/// through a real gateway such a cookie starts a new session, never an error page, while a session stored
/// before the fuzzing (the canary) is intact afterwards.
/// </summary>
public sealed class CookieFuzzTests
{
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(3);

    [Fact]
    public void MutatedCookies_NeverThrow_AndNeverVerifyAsAnotherSession()
    {
        var codec = new SessionCookieCodec(new EphemeralDataProtectionProvider());
        var sessionId = SessionCookieCodec.NewSessionId();
        var cookie = codec.Protect(sessionId);

        var ran = FuzzLoop.Run(20_000, Budget, (random, _) =>
        {
            var candidate = random.Next(8) switch
            {
                0 => Mutations.RandomText(random, 200),
                1 => MutateDecoded(random, cookie),
                _ => Mutations.Mutate(random, cookie),
            };

            // A cookie has one spelling: only an "edit" that left the text as it was verifies.
            Assert.Equal(candidate == cookie, codec.TryUnprotect(candidate, out var found));
            Assert.Equal(candidate == cookie ? sessionId : "", found);
        });

        Assert.True(ran > 0);
    }

    [Fact]
    public void RandomCookieHeaders_AreReadWithoutThrowing_AndYieldOnlyTheirOwnText()
    {
        var ran = FuzzLoop.Run(20_000, Budget, (random, _) =>
        {
            var headers = Enumerable.Range(0, random.Next(1, 4)).Select(_ => RandomCookieHeader(random, ".SessionRouter")).ToArray();
            var count = 0;
            foreach (var value in new SessionCookieValues(headers, ".SessionRouter"))
            {
                count++;
                var text = value.ToString();
                Assert.Contains(headers, h => h.Contains(text, StringComparison.Ordinal));
            }

            Assert.InRange(count, 0, SessionCookieValues.MaxValues);
        });

        Assert.True(ran > 0);
    }

    [Fact]
    public async Task HostileCookieHeaders_ThroughTheGateway_StartNewSessions_NeverAnErrorPage_AndTheCanaryIsIntact()
    {
        await using var farm = await GatewayFarm.StartAsync(new FarmOptions { Sites = 1 });
        var jar = new CookieContainer();
        using var canary = farm.NewClient(cookies: jar);
        for (var i = 1; i <= 3; i++)
        {
            Assert.Equal(i, (await SiteReply.ReadAsync(await canary.GetAsync("/cart/inc"))).Count);
        }

        var canaryCookie = jar.GetCookies(farm.Address)[".SessionRouter"]!.Value;
        var canaryId = (await SiteReply.ReadAsync(await canary.GetAsync("/cart/show"))).Id;

        var statuses = new Dictionary<int, int>();
        await FuzzLoop.RunAsync(2_000, Budget, async (random, _) =>
        {
            var value = random.Next(3) switch
            {
                0 => Mutations.Mutate(random, canaryCookie),
                1 => MutateDecoded(random, canaryCookie),
                _ => Mutations.RandomText(random, 120),
            };
            var header = random.Next(4) == 0 ? RandomCookieHeader(random, ".SessionRouter") : $".SessionRouter={value}";

            // An edit that happened to leave the canary's cookie as it was must not write to the canary.
            var unchanged = header.Contains(canaryCookie, StringComparison.Ordinal);
            var path = unchanged || random.Next(2) == 0 ? "/cart/show" : "/cart/inc";

            var response = await RawHttpClient.SendAsync(farm.Address, Request(path, header));

            statuses[response.StatusCode] = statuses.GetValueOrDefault(response.StatusCode) + 1;
            Assert.True(response.StatusCode is 200 or 400, $"status {response.StatusCode} for Cookie: {header}");
            if (response.StatusCode == 200 && response.Body.Contains("id=" + canaryId + "\n", StringComparison.Ordinal))
            {
                // Only the canary's own cookie, unchanged, reaches the canary session.
                Assert.True(unchanged, $"the canary session was reached with Cookie: {header}");
                Assert.Contains("count=3\n", response.Body, StringComparison.Ordinal);
            }
            else if (response.StatusCode == 200)
            {
                Assert.Contains(path == "/cart/inc" ? "count=1\n" : "count=0\n", response.Body, StringComparison.Ordinal);
            }
        }, minIterations: 50);

        Assert.True(statuses.GetValueOrDefault(200) > 0, "some fuzz cases reached the site");
        Assert.Equal(3, (await SiteReply.ReadAsync(await canary.GetAsync("/cart/show"))).Count);
        Assert.Equal(4, (await SiteReply.ReadAsync(await canary.GetAsync("/cart/inc"))).Count);
    }

    /// <summary>The cookie with its protected bytes edited and encoded again, so the edit reaches the MAC check.</summary>
    private static string MutateDecoded(Random random, string cookie)
        => Base64Url.EncodeToString(Mutations.Mutate(random, Base64Url.DecodeFromChars(cookie)));

    private static string RandomCookieHeader(Random random, string name)
    {
        var pairs = new List<string>();
        for (var i = random.Next(0, 6); i > 0; i--)
        {
            var pairName = random.Next(3) == 0 ? name : Mutations.RandomText(random, 12);
            pairs.Add(random.Next(6) == 0 ? pairName : $"{pairName}={Mutations.RandomText(random, 40)}");
        }

        return Mutations.Mutate(random, string.Join(random.Next(2) == 0 ? "; " : ";", pairs));
    }

    /// <summary>A request as raw bytes: the Cookie header as UTF-8, with whatever control characters the fuzz put in it.</summary>
    private static byte[] Request(string path, string cookieHeader)
        => Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookieHeader}\r\nConnection: close\r\n\r\n"));
}
