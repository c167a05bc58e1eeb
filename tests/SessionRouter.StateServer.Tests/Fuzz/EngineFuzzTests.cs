using System.Buffers.Binary;
using System.Net;
using System.Text;
using FsCheck.Fluent;
using SessionRouter.StateServer.Wire;
using Xunit.Abstractions;

namespace SessionRouter.StateServer.Tests.Fuzz;

/// <summary>
/// Generated and mutated requests sent over real loopback sockets to a real engine, one connection each,
/// a few hundred per test (a few seconds on a small machine): the engine never answers with a server
/// error, logs no error (an unhandled exception would be one), and the canary sessions stored before
/// the fuzzing, one of them locked, are untouched afterwards. Inputs are drawn fresh on every run; a
/// failure prints the input's bytes in base64 so it can be replayed.
/// </summary>
public sealed class EngineFuzzTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Requests = 300;
    private const int Size = 20;

    private FuzzTarget _target = null!;

    public async Task InitializeAsync() => _target = await FuzzTarget.StartAsync();

    public async Task DisposeAsync() => await _target.DisposeAsync();

    [Fact]
    public async Task GeneratedMsAspRequests_NeverGetAServerError_AndTheCanariesSurvive()
    {
        var statuses = new List<int?>();
        foreach (var input in Gen.Sample(FuzzInputs.MsAspRequests, size: Size, numberOfSamples: Requests))
        {
            var status = await _target.ExchangeAsync(input.Bytes);
            FuzzTarget.AssertNoServerError(status, input);
            statuses.Add(status);
        }

        Report(statuses);
        await _target.AssertUnharmedAsync();
    }

    [Fact]
    public async Task MutatedMsAspRequests_NeverGetAServerError_AndTheCanariesSurvive()
    {
        var statuses = new List<int?>();
        foreach (var input in Gen.Sample(FuzzInputs.MutatedMsAspRequests, size: Size, numberOfSamples: Requests))
        {
            var status = await _target.ExchangeAsync(FuzzTarget.Framed(input.Bytes));
            FuzzTarget.AssertNoServerError(status, input);
            statuses.Add(status);
        }

        Report(statuses);
        await _target.AssertUnharmedAsync();
    }

    /// <summary>The HTTP framing stays exact; only the batch body is hostile.</summary>
    [Fact]
    public async Task MutatedBatchBodies_OverHttp11_NeverGetAServerError_AndTheCanariesSurvive()
    {
        var statuses = new List<int?>();
        var inputs = Gen.Sample(Gen.Frequency((3, FuzzInputs.MutatedBatches), (1, FuzzInputs.LyingLengths)), size: Size, numberOfSamples: Requests);
        foreach (var input in inputs)
        {
            var head = Encoding.ASCII.GetBytes($"POST {StateProtocol.BatchPath} HTTP/1.1\r\nHost: fuzz\r\nContent-Type: {StateProtocol.BatchContentType}\r\nContent-Length: {input.Bytes.Length}\r\n\r\n");
            var status = await _target.ExchangeAsync([.. head, .. input.Bytes]);
            FuzzTarget.AssertNoServerError(status, input);
            statuses.Add(status);
        }

        Report(statuses);
        await _target.AssertUnharmedAsync();
    }

    /// <summary>Over HTTP/2 with a real client; every 200 must carry an answer the client's decoder accepts.</summary>
    [Fact]
    public async Task MutatedBatchBodies_OverHttp2_NeverGetAServerError_AndEveryOkAnswerDecodes()
    {
        using var handler = new SocketsHttpHandler();
        using var http = new HttpClient(handler)
        {
            BaseAddress = _target.Node.Http2Address,
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Timeout = TimeSpan.FromSeconds(30),
        };
        var statuses = new List<int?>();
        foreach (var input in Gen.Sample(Gen.Frequency((3, FuzzInputs.MutatedBatches), (1, FuzzInputs.LyingLengths), (1, FuzzInputs.Batches)), size: Size, numberOfSamples: Requests))
        {
            using var response = await http.PostAsync(StateProtocol.BatchPath, new ByteArrayContent(input.Bytes));
            var status = (int)response.StatusCode;
            FuzzTarget.AssertNoServerError(status, input);
            statuses.Add(status);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                var count = BinaryPrimitives.ReadInt32LittleEndian(input.Bytes.AsSpan(4));
                var answers = new BatchAnswer[count];
                var accepted = BatchCodec.TryReadAnswers(await response.Content.ReadAsByteArrayAsync(), count, answers, out var error);
                Assert.True(accepted, $"The answer to {input} does not decode: {error}");
            }
        }

        Report(statuses);
        await _target.AssertUnharmedAsync();
    }

    private void Report(List<int?> statuses)
    {
        var histogram = statuses.GroupBy(s => s?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "closed").OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key}: {g.Count()}");
        output.WriteLine($"{statuses.Count} exchanges, {_target.Unanswered} unanswered within the budget; {string.Join(", ", histogram)}");
    }
}
