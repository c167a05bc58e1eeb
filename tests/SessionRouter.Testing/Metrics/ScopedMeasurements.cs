using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace SessionRouter.Testing.Metrics;

/// <summary>
/// Every measurement of the instruments created by one host's <see cref="IMeterFactory"/>, read with a
/// <see cref="MeterListener"/>. Tests run in parallel in one process, each with its own hosts: listening by
/// meter name alone would mix their measurements, so only instruments of the given factory are enabled.
/// </summary>
public sealed class ScopedMeasurements : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentQueue<Recorded> _measurements = new();

    public ScopedMeasurements(IMeterFactory scope)
    {
        ArgumentNullException.ThrowIfNull(scope);
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument.Meter.Scope, scope))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Add(instrument, value, tags));
        _listener.SetMeasurementEventCallback<int>((instrument, value, tags, _) => Add(instrument, value, tags));
        _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Add(instrument, value, tags));
        _listener.Start();
    }

    /// <summary>Every measurement so far, oldest first.</summary>
    public IReadOnlyList<Recorded> All => [.. _measurements];

    /// <summary>Asks the observable instruments (gauges, observed counters) for their values now.</summary>
    public void Observe() => _listener.RecordObservableInstruments();

    /// <summary>The sum of the measurements of <paramref name="instrument"/> that carry every tag of <paramref name="tags"/>.</summary>
    public double Sum(string instrument, params (string Key, string Value)[] tags)
        => Matching(instrument, tags).Sum(m => m.Value);

    /// <summary>How many measurements of <paramref name="instrument"/> carry every tag of <paramref name="tags"/>.</summary>
    public int Count(string instrument, params (string Key, string Value)[] tags)
        => Matching(instrument, tags).Count();

    /// <summary>The last measurement of <paramref name="instrument"/> with the tags (observable instruments: after <see cref="Observe"/>).</summary>
    public Recorded? Last(string instrument, params (string Key, string Value)[] tags)
        => Matching(instrument, tags).LastOrDefault();

    private IEnumerable<Recorded> Matching(string instrument, (string Key, string Value)[] tags)
        => _measurements.Where(m => m.Instrument == instrument && tags.All(t => m.Tags.TryGetValue(t.Key, out var value) && value == t.Value));

    private void Add(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var copy = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var tag in tags)
        {
            copy[tag.Key] = tag.Value?.ToString();
        }

        _measurements.Enqueue(new Recorded(instrument.Name, instrument.Unit, value, copy));
    }

    public void Dispose() => _listener.Dispose();

    /// <summary>One measurement: the instrument's name and unit, the value and its tags.</summary>
    public sealed record Recorded(string Instrument, string? Unit, double Value, IReadOnlyDictionary<string, string?> Tags);
}
