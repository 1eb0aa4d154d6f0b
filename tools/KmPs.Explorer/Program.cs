using System.Diagnostics;
using KmPs.Explorer;
using KmPs.Simulator;
using KmPs.Core.Status;

// The schedule explorer: the real Invoke-KmSafeUpgrade, in one pwsh engine per worker, against an
// in-memory cluster (tools/KmPs.Explorer/Model), over EVERY schedule of 2-5 nodes and each status
// generation: stopped at each step boundary and resumed (and stopped again in the resume), each
// answer at each prompt, one fault of each kind at each step. The invariants are checked from
// outside, on the model, after every host call and every pause.
//
//   dotnet run -c Release --project tools/KmPs.Explorer -- [--nodes 2-5] [--generations all|22.2,23.0,24]
//        [--kinds base,stop,handstart,prompt,fault] [--parallel 2] [--limit N] [--replay SCHEDULE] [--verbose] [--no-memo]
//
// --limit N: at most N work items per cluster, spread over all kinds (an item is one schedule, or for
// stops every schedule first stopped at one point). --kinds picks the kinds. --replay runs one
// schedule (as printed with a violation) from scratch and prints each run and what the model saw.
// Invoke-KmSafeUpgrade runs with -TimeoutSec 20 and -NodeTimeoutSec 10: seconds of model time, in which
// an epoch lasts 2 s.

const string Usage = "usage: KmPs.Explorer [--nodes 2-5] [--generations all|22.2,23.0,24] [--kinds base,stop,handstart,prompt,fault] [--parallel P] [--limit N] [--replay SCHEDULE] [--verbose] [--no-memo]";
Options o;
try { o = Options.Parse(args); }
catch (ArgumentException e) { Console.Error.WriteLine($"error: {e.Message}\n{Usage}"); return 2; }
if (o.Optional("help") is not null) { Console.WriteLine(Usage); return 0; }

var work = Path.Combine("/dev/shm", $"kmexplore-{Environment.ProcessId}");
if (!Directory.Exists("/dev/shm")) work = Path.Combine(Path.GetTempPath(), $"kmexplore-{Environment.ProcessId}");
try
{
    if (o.Optional("replay") is { } replay) return Replay(Schedule.Parse(replay), work);

    var (lo, hi) = Range(o.Optional("nodes") ?? "2-5");
    var generations = (o.Optional("generations") ?? "all") == "all"
        ? new[] { SchemaGeneration.V22_2, SchemaGeneration.V23_0, SchemaGeneration.V24 }
        : o.Optional("generations")!.Split(',').Select(Schedule.ParseGeneration).ToArray();
    var kinds = (o.Optional("kinds") is { } k ? k.Split(',').Select(x => Enum.Parse<ScheduleKind>(x, ignoreCase: true)) : Explorer.AllKinds).ToHashSet();
    var limit = o.Optional("limit") is not null ? o.Int("limit", 0) : (int?)null;
    var parallel = Math.Max(1, o.Int("parallel", 2));
    var shard = o.Optional("shard");
    var verbose = o.Optional("verbose") is not null;
    var memoize = o.Optional("no-memo") is null;
    var setupDir = Path.Combine(work, "clusters");
    var clusters = Enumerable.Range(lo, hi - lo + 1).SelectMany(n => generations.Select(g => ClusterSetup.Create(setupDir, n, g))).ToList();

    if (shard is not null)
    {
        // A worker process: one engine, its share of every cluster's schedules, one JSON line each.
        var parts = shard.Split('/');
        RunShard(clusters, kinds, int.Parse(parts[0]), int.Parse(parts[1]), limit, memoize, work, l => { lock (Console.Out) Console.WriteLine("SCHEDULE " + l.ToJson()); });
        return 0;
    }

    var replayPrefix = "dotnet run -c Release --project tools/KmPs.Explorer --";
    Console.WriteLine($"KmPs.Explorer: {hi - lo + 1} cluster size(s) {lo}-{hi} x {generations.Length} generation(s); kinds {string.Join(",", kinds)}; " +
                      $"parallel {parallel}{(limit is null ? "" : $", at most {limit} work items a cluster")}; load average {Summary.LoadAverage()}");
    var summary = new Summary(verbose, replayPrefix);
    var loads = new List<string> { Summary.LoadAverage() };
    using var sampler = new Timer(_ => { lock (loads) loads.Add(Summary.LoadAverage()); }, null, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1));
    if (parallel == 1) RunShard(clusters, kinds, 0, 1, limit, memoize, work, summary.Add);
    else
    {
        var children = Enumerable.Range(0, parallel).Select(i => StartWorker(args, i, parallel, summary)).ToList();
        foreach (var c in children) c.WaitForExit();
        foreach (var c in children.Where(c => c.ExitCode != 0)) Console.WriteLine($"worker {c.Id} exited with {c.ExitCode}");
        if (children.Any(c => c.ExitCode != 0)) return 3;
    }
    lock (loads) loads.Add(Summary.LoadAverage());
    string[] loadText;
    lock (loads) loadText = loads.Count <= 4 ? loads.ToArray() : new[] { loads[0], loads[loads.Count / 2], loads[^1] };
    return summary.Print(clusters, loadText);
}
finally
{
    try { Directory.Delete(work, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
}

static (int, int) Range(string s)
{
    var p = s.Split('-');
    var a = int.Parse(p[0]);
    var b = p.Length > 1 ? int.Parse(p[1]) : a;
    if (a < 2 || b > 5 || a > b) throw new ArgumentException("--nodes is a range within 2-5");
    return (a, b);
}

static void RunShard(IReadOnlyList<ClusterSetup> clusters, ISet<ScheduleKind> kinds, int shard, int shards, int? limit, bool memoize, string work, Action<ScheduleLine> report)
{
    using var runner = new ScheduleRunner(Path.Combine(work, $"shard{shard}")) { Memoize = memoize };
    var explorer = new Explorer(runner, r => report(ScheduleLine.Of(r)));
    foreach (var c in clusters) explorer.Explore(c, kinds, shard, shards, limit);
}

static Process StartWorker(string[] args, int shard, int shards, Summary summary)
{
    var psi = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true, UseShellExecute = false };
    if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet") psi.ArgumentList.Add(typeof(Explorer).Assembly.Location);
    foreach (var a in args) psi.ArgumentList.Add(a);
    psi.ArgumentList.Add("--shard");
    psi.ArgumentList.Add($"{shard}/{shards}");
    var p = Process.Start(psi)!;
    p.OutputDataReceived += (_, e) =>
    {
        if (e.Data is null) return;
        if (e.Data.StartsWith("SCHEDULE ", StringComparison.Ordinal) && ScheduleLine.FromJson(e.Data[9..]) is { } l) summary.Add(l);
        else Console.WriteLine($"[worker {shard}] {e.Data}");
    };
    p.BeginOutputReadLine();
    return p;
}

static int Replay(Schedule s, string work)
{
    Console.WriteLine($"replaying {s}");
    var setup = ClusterSetup.Create(Path.Combine(work, "clusters"), s.Nodes, s.Generation);
    using var runner = new ScheduleRunner(Path.Combine(work, "replay"));
    var r = runner.Run(s, setup);
    foreach (var run in r.Runs) Console.WriteLine(run);
    var model = runner.LastWorld?.Model;
    if (model is not null) foreach (var e in model.Events) Console.WriteLine("  " + e);
    Console.WriteLine($"{s}: {(r.Applicable ? "" : "not applicable (" + r.Note + "); ")}{r.Invocations} run(s), ended {r.Final}, {r.States} states checked, min holders {r.MinHolders}");
    foreach (var v in r.Violations) Console.WriteLine("VIOLATION " + v);
    Console.WriteLine($"violations: {r.Violations.Count}");
    return r.Violations.Count > 0 ? 1 : 0;
}
