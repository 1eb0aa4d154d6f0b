using System.Diagnostics;
using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using KmPs.Tests.Support;

namespace KmPs.Benchmark;

/// <summary>
/// Figure 2: a fresh process's first status, the way a user's first command pays for it: engine
/// creation, Import-Module, then Get-KmStatus (new channel, cold JIT).
/// </summary>
public static class FirstCall
{
    public const double TargetMs = 600;

    /// <summary>Child mode: prints phase times in ms, counted from <paramref name="mainStart"/>.</summary>
    /// <param name="split">Import an empty module first: the engine's own first-import cost, so the
    /// module's import shows what this module adds (its assemblies, format file, psm1).</param>
    public static int Child(string socket, long mainStart, bool split = false)
    {
        using var runspace = RunspaceFactory.CreateRunspace(InitialSessionState.CreateDefault2());
        runspace.ThreadOptions = PSThreadOptions.ReuseThread;
        runspace.Open();
        var baseline = TimeSpan.Zero;
        if (split)
        {
            var before = Stopwatch.GetElapsedTime(mainStart);
            var empty = Path.Combine(Path.GetTempPath(), $"kmbench-empty-{Environment.ProcessId}.psm1");
            File.WriteAllText(empty, "function Get-Nothing { }\n");
            using (var import = PowerShell.Create())
            {
                import.Runspace = runspace;
                Engine.Invoke(import.AddCommand("Import-Module").AddParameter("Name", empty));
            }
            File.Delete(empty);
            baseline = Stopwatch.GetElapsedTime(mainStart) - before;
        }
        var engine = Stopwatch.GetElapsedTime(mainStart);

        using (var import = PowerShell.Create())
        {
            import.Runspace = runspace;
            Engine.Invoke(import.AddCommand("Import-Module").AddParameter("Name", TestPaths.ModuleManifest));
        }
        var imported = Stopwatch.GetElapsedTime(mainStart);

        using var get = PowerShell.Create();
        get.Runspace = runspace;
        var status = Engine.Invoke(get.AddCommand("Get-KmStatus").AddParameter("Socket", socket)).Single().Properties["Status"].Value;
        var result = Stopwatch.GetElapsedTime(mainStart);
        if (status is not "ready") throw new InvalidOperationException($"the first Get-KmStatus returned status '{status}'");

        var sinceProcessStart = DateTime.Now - Process.GetCurrentProcess().StartTime;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"engine={(engine - baseline).TotalMilliseconds} baseline={baseline.TotalMilliseconds} import={(imported - engine).TotalMilliseconds} " +
            $"call={(result - imported).TotalMilliseconds} main={result.TotalMilliseconds} process={sinceProcessStart.TotalMilliseconds}"));
        return 0;
    }

    public static void Run(string socket, Counts c)
    {
        Report.Section($"2. First call in a fresh process (engine + Import-Module + first Get-KmStatus), {c.FirstCallRuns} runs");
        Console.WriteLine("# System.Management.Automation from NuGet is IL-only; pwsh ships it ReadyToRun-compiled, which starts");
        Console.WriteLine("# the engine and imports the module about three times faster (the first Get-KmStatus is the same)");
        var main = new List<double>();
        var wall = new List<double>();
        for (var run = 1; run <= c.FirstCallRuns; run++)
        {
            var started = Stopwatch.GetTimestamp();
            var t = RunChild("first-call", socket);
            wall.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            main.Add(t["main"]);
            Report.Figure($"run {run}: Main to first result (engine {t["engine"]:0}, import {t["import"]:0}, call {t["call"]:0})", t["main"]);
            Report.Figure($"run {run}: OS process start to first result (10 ms clock)", t["process"]);
            Report.Figure($"run {run}: parent wall time, Process.Start to exit", wall[^1]);
        }
        Report.Figure("median: Main to first result", Stats.Median(main), TargetMs);
        Report.Figure("median: parent wall time, Process.Start to exit", Stats.Median(wall), TargetMs);

        // The same, with an empty module imported first: what the engine's first Import-Module costs
        // by itself, and what importing this module adds once that is paid.
        var own = new List<double>();
        var engineFirst = new List<double>();
        for (var run = 1; run <= c.FirstCallRuns; run++)
        {
            var t = RunChild("first-call-split", socket);
            engineFirst.Add(t["baseline"]);
            own.Add(t["import"]);
        }
        Report.Figure("median: the engine's first Import-Module (an empty module)", Stats.Median(engineFirst));
        Report.Figure("median: Import-Module OasisKeyManager after that", Stats.Median(own));
    }

    /// <summary>Runs this program in a child mode and reads the phase times it prints (name=ms pairs).</summary>
    private static Dictionary<string, double> RunChild(string mode, string socket)
    {
        using var child = Nodes.StartDotnet(typeof(FirstCall).Assembly.Location, mode, socket);
        var stdout = child.StandardOutput.ReadToEndAsync();
        var stderr = child.StandardError.ReadToEndAsync();
        child.WaitForExit();
        if (child.ExitCode != 0)
            throw new InvalidOperationException($"{mode} child failed ({child.ExitCode}): {stderr.Result}");
        return stdout.Result.Trim().Split(' ').Select(kv => kv.Split('='))
            .ToDictionary(kv => kv[0], kv => double.Parse(kv[1], CultureInfo.InvariantCulture));
    }
}
