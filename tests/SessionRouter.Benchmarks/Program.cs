using System.Reflection;
using BenchmarkDotNet.Running;
using SessionRouter.Benchmarks;

// Scenarios (side-by-side measurements) run by name; anything else goes to BenchmarkDotNet's switcher.
var scenarios = typeof(IBenchmarkScenario).Assembly.GetTypes()
    .Where(t => typeof(IBenchmarkScenario).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false })
    .Select(t => (IBenchmarkScenario)Activator.CreateInstance(t)!)
    .ToDictionary(s => s.Name, StringComparer.OrdinalIgnoreCase);

if (args is ["--list-scenarios"])
{
    foreach (var scenario in scenarios.Values.OrderBy(s => s.Name, StringComparer.Ordinal))
    {
        Console.WriteLine($"{scenario.Name,-24} {scenario.Description}");
    }

    return 0;
}

if (args.Length > 0 && scenarios.TryGetValue(args[0], out var chosen))
{
    using var cancellation = new CancellationTokenSource();
    Console.CancelKeyPress += (_, e) =>
    {
        e.Cancel = true;
        cancellation.Cancel();
    };
    return await chosen.RunAsync(args[1..], cancellation.Token);
}

BenchmarkSwitcher.FromAssembly(Assembly.GetExecutingAssembly()).Run(args);
return 0;
