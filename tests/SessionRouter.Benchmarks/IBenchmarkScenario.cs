namespace SessionRouter.Benchmarks;

/// <summary>
/// A measurement that is not a BenchmarkDotNet micro-benchmark (throughput against a peer, memory per
/// session). Found by reflection, run by name: <c>dotnet run -c Release --project tests/SessionRouter.Benchmarks -- NAME</c>.
/// </summary>
public interface IBenchmarkScenario
{
    /// <summary>The name given on the command line.</summary>
    string Name { get; }

    /// <summary>One line for the list printed by <c>--list-scenarios</c>.</summary>
    string Description { get; }

    Task<int> RunAsync(string[] args, CancellationToken cancellationToken);
}
