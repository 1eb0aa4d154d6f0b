namespace KmPs.Core.Timing;

/// <summary>
/// The pause between two polls of a wait (Wait-KmNode, Test-KmReplication -Repeat, a node's socket
/// after stop or start). Real time by default; a process that drives an in-memory cluster (the
/// schedule explorer) puts its own in place, which advances that cluster's time instead of sleeping,
/// so the real commands run thousands of schedules a minute. The waits' timeouts are measured on the
/// same clock (<see cref="StartTimer"/>), so they expire in that cluster's time too.
/// </summary>
public static class PollClock
{
    private static volatile Func<TimeSpan, CancellationToken, Task>? _pause;
    private static volatile Func<TimeSpan>? _elapsed;

    /// <summary>A timer on this clock: real time, or the in-memory cluster's.</summary>
    public static PollTimer StartTimer() => new(_elapsed is { } e ? e : null);

    /// <summary>Waits <paramref name="interval"/>, or less when cancelled (never throws for that: the caller checks its token).</summary>
    public static Task PauseAsync(TimeSpan interval, CancellationToken ct) =>
        _pause is { } p ? p(interval, ct) : Task.Delay(interval, ct).ContinueWith(_ => { }, TaskScheduler.Default);

    /// <summary>The same, blocking (on a pipeline thread between two polls).</summary>
    public static void Pause(TimeSpan interval, CancellationToken ct) => PauseAsync(interval, ct).Wait(CancellationToken.None);

    /// <summary>Puts <paramref name="pause"/> and <paramref name="elapsed"/> (time since some fixed start) in place of real time until disposed.</summary>
    public static IDisposable Use(Func<TimeSpan, CancellationToken, Task> pause, Func<TimeSpan> elapsed)
    {
        (_pause, _elapsed) = (pause, elapsed);
        return new Restore();
    }

    private sealed class Restore : IDisposable
    {
        public void Dispose() => (_pause, _elapsed) = (null, null);
    }
}

/// <summary>Time since the timer started, on <see cref="PollClock"/>'s clock.</summary>
public sealed class PollTimer
{
    private readonly System.Diagnostics.Stopwatch? _real;
    private readonly Func<TimeSpan>? _clock;
    private readonly TimeSpan _start;

    internal PollTimer(Func<TimeSpan>? clock)
    {
        _clock = clock;
        if (clock is null) _real = System.Diagnostics.Stopwatch.StartNew();
        else _start = clock();
    }

    public TimeSpan Elapsed => _real?.Elapsed ?? _clock!() - _start;
}
