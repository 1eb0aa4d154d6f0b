using System.Diagnostics;
using KmPs.Chaos;
using KmPs.Tools;

// Chaos runs of Invoke-KmSafeUpgrade against simulated key manager clusters.
//
//   dotnet run -c Release --project tools/KmPs.Chaos -- [--runs 200] [--seed S] [--parallel 2] [--quick]
//                                                        [--run K] [--list] [--no-recover] [--keep] [--log-dir DIR]
//
// Each run draws, from (seed, run index) alone, a cluster (2-5 nodes, schema 22.2/23.0/24, epochs of
// 200-400 ms) and 0-2 faults with their times; the same seed gives the same schedules (the timing of
// processes on a busy machine is not reproducible, so outcomes may differ). --run K replays run K
// of the seed alone; --list prints the schedules without running them. --quick: 12 runs unless --runs is given, and -TimeoutSec 8.

const string Usage = "usage: KmPs.Chaos [--runs N] [--seed S] [--parallel P] [--quick] [--run K] [--list] [--no-recover] [--keep] [--log-dir DIR]";
if (ToolArgs.Parse(args, Usage, out var exit) is not { } o) return exit;

var quick = o.Optional("quick") is not null;
var seed = o.Int("seed", (Environment.TickCount & 0x7fffffff) % 100000);
var single = o.Optional("run") is not null ? o.Int("run", 0) : (int?)null;
var runs = single is null ? o.Int("runs", quick ? 12 : 200) : 1;
var parallel = Math.Max(1, o.Int("parallel", 2));
var options = new ChaosOptions
{
    Recover = o.Optional("no-recover") is null,
    KeepAll = o.Optional("keep") is not null,
    LogDir = o.Optional("log-dir") ?? $"/tmp/kmchaos-{seed}",
};
var indices = single is { } k ? new[] { k } : Enumerable.Range(1, runs).ToArray();
if (o.Optional("list") is not null)
{
    foreach (var i in indices) Console.WriteLine($"run {i,4}: {RunPlan.Generate(seed, i, quick)}");
    return 0;
}

Console.WriteLine($"KmPs.Chaos: {indices.Length} run(s), seed {seed}, parallel {parallel}{(quick ? ", quick" : "")}, " +
                  $"recovery {(options.Recover ? "on" : "off")}; per-run logs in {options.LogDir}");
Console.WriteLine($"replay one run with: --seed {seed} --run K");
var total = Stopwatch.StartNew();
var reports = new List<RunReport>();
var next = 0;
var console = new object();
var workers = Enumerable.Range(0, parallel).Select(_ => new Thread(() =>
{
    while (true)
    {
        var i = Interlocked.Increment(ref next) - 1;
        if (i >= indices.Length) return;
        var plan = RunPlan.Generate(seed, indices[i], quick);
        var report = ChaosRun.Execute(plan, options);
        lock (console)
        {
            reports.Add(report);
            Summary.PrintRun(report, reports.Count, indices.Length);
        }
    }
})).ToList();
workers.ForEach(t => t.Start());
workers.ForEach(t => t.Join());
Summary.Print(reports, total.Elapsed, seed);
return reports.Any(r => r.KeyMaterialLost || r.Violations.Count > 0 || r.HarnessError is not null) ? 1 : 0;
