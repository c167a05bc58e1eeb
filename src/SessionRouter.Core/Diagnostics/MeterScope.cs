using System.Diagnostics.Metrics;

namespace SessionRouter.Core.Diagnostics;

/// <summary>
/// A meter from the host's <see cref="IMeterFactory"/> when there is one (the factory owns it and
/// disposes it with the host), otherwise a meter of this scope's own, released by <see cref="Dispose"/>.
/// Parts that are also used without dependency injection (tests, tools) publish through one of these.
/// </summary>
public sealed class MeterScope : IDisposable
{
    private readonly bool _ownsMeter;

    public MeterScope(IMeterFactory? meterFactory, string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        _ownsMeter = meterFactory is null;
        Meter = meterFactory?.Create(name) ?? new Meter(name);
    }

    public Meter Meter { get; }

    public void Dispose()
    {
        if (_ownsMeter)
        {
            Meter.Dispose();
        }
    }
}
