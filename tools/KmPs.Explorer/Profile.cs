using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace KmPs.Explorer;

/// <summary>
/// Where a worker's CPU goes: the explorer's own phases, timed in the CPU time of the thread that
/// runs them (CLOCK_THREAD_CPUTIME_ID; a nested phase pauses the one around it), and the process's
/// JIT and GC figures. What is left of the process's CPU is the engine's: PowerShell, the module's
/// script and cmdlets, the Core code under them. Off unless --profile (the thread clock costs 2%).
/// </summary>
public static class Profile
{
    public static bool Enabled { get; set; }

    public enum Phase { Model, Checks, Twins }

    private static readonly long[] Nanos = new long[3];
    [ThreadStatic] private static Stack<(Phase Phase, long Since)>? _open;

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec { public long Seconds; public long Nanoseconds; }

    [DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, out Timespec time);

    private static long ThreadNanos()
    {
        if (!OperatingSystem.IsLinux() || ClockGetTime(3 /* CLOCK_THREAD_CPUTIME_ID */, out var t) != 0) return 0;
        return t.Seconds * 1_000_000_000 + t.Nanoseconds;
    }

    public readonly struct Scope : IDisposable
    {
        public void Dispose()
        {
            if (!Enabled) return;
            var open = _open;
            if (open is null || open.Count == 0) return;
            var now = ThreadNanos();
            var (phase, since) = open.Pop();
            Interlocked.Add(ref Nanos[(int)phase], now - since);
            if (open.TryPop(out var outer)) open.Push((outer.Phase, now));
        }
    }

    /// <summary>Times <paramref name="phase"/> until the scope ends (the phase around it, if any, paused meanwhile).</summary>
    public static Scope Measure(Phase phase)
    {
        if (!Enabled) return default;
        var open = _open ??= new Stack<(Phase, long)>();
        var now = ThreadNanos();
        if (open.TryPop(out var outer))
        {
            Interlocked.Add(ref Nanos[(int)outer.Phase], now - outer.Since);
            open.Push((outer.Phase, now));
        }
        open.Push((phase, now));
        return new Scope();
    }

    /// <summary>This process's figures, in seconds, as one JSON object (a worker's PROFILE line).</summary>
    public static string Json() => JsonSerializer.Serialize(Now());

    public static Dictionary<string, double> Now()
    {
        using var self = Process.GetCurrentProcess();
        return new Dictionary<string, double>
        {
            ["cpu"] = self.TotalProcessorTime.TotalSeconds,
            ["jit"] = System.Runtime.JitInfo.GetCompilationTime().TotalSeconds,
            ["jitMethods"] = System.Runtime.JitInfo.GetCompiledMethodCount(),
            ["gcPause"] = GC.GetTotalPauseDuration().TotalSeconds,
            ["gcs"] = GC.CollectionCount(0),
            ["model"] = Nanos[(int)Phase.Model] / 1e9,
            ["checks"] = Nanos[(int)Phase.Checks] / 1e9,
            ["twins"] = Nanos[(int)Phase.Twins] / 1e9,
        };
    }

    /// <summary>The workers' figures added up, as the summary prints them.</summary>
    public static string Describe(IReadOnlyList<Dictionary<string, double>> workers)
    {
        double Sum(string k) => workers.Sum(w => w.GetValueOrDefault(k));
        var phases = Enabled
            ? $" = the model's host calls {Sum("model"):0.0} s + checks {Sum("checks"):0.0} s + world keys and twins {Sum("twins"):0.0} s + " +
              $"the engine (PowerShell, the module, Core; the JIT) {Sum("cpu") - Sum("model") - Sum("checks") - Sum("twins"):0.0} s"
            : "";
        return $"profile ({workers.Count} worker(s)): {Sum("cpu"):0.0} s CPU{phases}; {Sum("jitMethods"):0} methods JIT-compiled in {Sum("jit"):0.0} s " +
               $"(wall time, on every thread); GC pauses {Sum("gcPause"):0.0} s ({Sum("gcs"):0} collections)";
    }
}
