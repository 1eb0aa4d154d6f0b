using System.Collections.ObjectModel;
using System.Diagnostics;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Reflection;
using KmPs.Simulator.Shapes;
using KmPs.Core.Status;
using KmPs.Tests.Harness;
using KmPs.Tests.Support;

namespace KmPs.Benchmark;

/// <summary>How many calls and repetitions each figure takes.</summary>
/// <remarks>
/// <see cref="SettleTime"/>: for the first several thousand calls the runtime's tiered JIT is still
/// recompiling hot engine code on one of the cores (with or without ReadyToRun images), and per-call
/// figures run two to three times higher than once it settles.
/// </remarks>
public sealed record Counts(string Mode, int Warmup, int Calls, TimeSpan SettleTime, int FirstCallRuns, int FiftyWarmup, int FiftyRuns)
{
    public static readonly Counts Full = new("full", 50, 1000, TimeSpan.FromSeconds(8), 5, 3, 20);
    public static readonly Counts Quick = new("quick", 20, 200, TimeSpan.FromSeconds(2), 2, 2, 5);
}

/// <summary>
/// A PowerShell 7.6 engine (Microsoft.PowerShell.Core only) with the built module imported. Its
/// pipelines run on one reused thread, as in pwsh's console host; the hosting default starts a new
/// thread for every Invoke, which alone costs about 0.3 ms here.
/// </summary>
public sealed class Engine : IDisposable
{
    public Runspace Runspace { get; }

    public Engine()
    {
        var iss = InitialSessionState.CreateDefault2();
        iss.ImportPSModule(new[] { TestPaths.ModuleManifest });
        Runspace = RunspaceFactory.CreateRunspace(iss);
        Runspace.ThreadOptions = PSThreadOptions.ReuseThread;
        Runspace.Open();
    }

    /// <summary>A reusable pipeline running <paramref name="script"/> with the given session variables.</summary>
    public PowerShell Script(string script, params (string Name, object Value)[] variables)
    {
        foreach (var (name, value) in variables) Runspace.SessionStateProxy.SetVariable(name, value);
        var ps = PowerShell.Create();
        ps.Runspace = Runspace;
        ps.AddScript(script);
        return ps;
    }

    /// <summary>Invokes and fails on any error record, so a broken setup cannot pass as fast.</summary>
    public static Collection<PSObject> Invoke(PowerShell ps)
    {
        var output = ps.Invoke();
        if (ps.HadErrors)
        {
            var errors = string.Join("; ", ps.Streams.Error.Select(e => $"{e.FullyQualifiedErrorId}: {e}"));
            throw new InvalidOperationException("the pipeline failed: " + errors);
        }
        return output;
    }

    public void Dispose() => Runspace.Dispose();
}

public static class Nodes
{
    public static SimNodeStatus Ready(int index = 0)
    {
        var s = Statuses.Ready(SchemaGeneration.V24, "node-" + index);
        s.Epoch = Epoch(index);
        return s;
    }

    /// <summary>Each node's epoch differs, so output order can be checked.</summary>
    public static ulong Epoch(int index) => (ulong)(1000 + index);

    /// <summary>Starts <c>dotnet DLL args</c> (the same host this program runs on) with its output captured.</summary>
    public static Process StartDotnet(string dll, params string[] args)
    {
        var host = Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p : "dotnet";
        var psi = new ProcessStartInfo(host)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        psi.ArgumentList.Add(dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        return Process.Start(psi) ?? throw new InvalidOperationException("could not start " + dll);
    }
}

/// <summary>Milliseconds per call, summarised.</summary>
public static class Stats
{
    public static double[] Time(int warmup, int calls, Action call)
    {
        for (var i = 0; i < warmup; i++) call();
        var ms = new double[calls];
        for (var i = 0; i < calls; i++)
        {
            var t = Stopwatch.GetTimestamp();
            call();
            ms[i] = Stopwatch.GetElapsedTime(t).TotalMilliseconds;
        }
        return ms;
    }

    /// <summary>Calls for <paramref name="time"/>, so that the tiered JIT settles.</summary>
    public static void Settle(TimeSpan time, Action call)
    {
        var started = Stopwatch.GetTimestamp();
        while (Stopwatch.GetElapsedTime(started) < time) call();
    }

    public static double Median(IEnumerable<double> values) => Percentile(values, 50);

    /// <summary>Nearest-rank percentile.</summary>
    public static double Percentile(IEnumerable<double> values, double p)
    {
        var sorted = values.OrderBy(v => v).ToArray();
        if (sorted.Length == 0) return double.NaN;
        var rank = (int)Math.Ceiling(p / 100 * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }
}

/// <summary>Plain text, one figure a line.</summary>
public static class Report
{
    public static void Header(Counts counts)
    {
        var smaVersion = typeof(PowerShell).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
            .Split(' ', '+')[0];
        Console.WriteLine($"# KmPs.Benchmark: {Environment.ProcessorCount} cores, configuration {TestPaths.Configuration}, " +
                          $".NET {Environment.Version}, System.Management.Automation {smaVersion}, {counts.Mode} counts");
        Console.WriteLine($"# {counts.Calls} calls a figure after {counts.Warmup} warm-up calls; steady figures after " +
                          $"{counts.SettleTime.TotalSeconds:0} s more of calls (the tiered JIT settles)");
        Console.WriteLine("# runspace ThreadOptions ReuseThread, as in pwsh's console host");
        Console.WriteLine($"# module: {TestPaths.ModuleManifest}");
        if (TestPaths.Configuration != "release")
            Console.WriteLine("# not a Release build: run with -c Release for representative figures");
    }

    public static void Section(string title) => Console.WriteLine($"\n## {title}");

    public static void Figure(string label, double ms, double? targetMs = null)
    {
        var verdict = targetMs is { } t ? $"   (target < {t:0.###} ms: {(ms < t ? "met" : "MISSED")})" : "";
        Console.WriteLine($"{label,-80} {ms,9:0.000} ms{verdict}");
    }

    public static void Text(string label, string value) => Console.WriteLine($"{label,-80} {value}");
}
