using System.Diagnostics;
using KmPs.Explorer;
using KmPs.Tools;
using KmPs.Core.Status;

// The schedule explorer: the real Invoke-KmSafeUpgrade, in one pwsh engine per worker, against an
// in-memory cluster (tools/KmPs.Explorer/Model), over EVERY schedule of 2-5 nodes and each status
// generation: stopped at each step boundary and resumed (and stopped again in the resume), each
// answer at each prompt, one fault of each kind at each step. The invariants are checked from
// outside, on the model, after every host call and every pause.
//
//   dotnet run -c Release --project tools/KmPs.Explorer -- [--nodes 2-5] [--generations all|22.2,23.0,24]
//        [--kinds base,stop,handstart,prompt,fault] [--parallel 2] [--limit N] [--replay SCHEDULE] [--verbose] [--no-memo] [--profile]
//
// --limit N: at most N work items per cluster, spread over all kinds (an item is one schedule, or for
// stops every schedule first stopped at one point). --kinds picks the kinds. --replay runs one
// schedule (as printed with a violation) from scratch and prints each run and what the model saw.
// Invoke-KmSafeUpgrade runs with -TimeoutSec 20 and -NodeTimeoutSec 10: seconds of model time, in which
// an epoch lasts 2 s. --no-memo executes every run (see ScheduleRunner.Invoke and Explorer.LatentFaults
// for the runs it otherwise takes from their twins); every schedule's outcome is the same. --profile
// times the explorer's own phases in the workers' thread CPU (Profile).

const string Usage = "usage: KmPs.Explorer [--nodes 2-5] [--generations all|22.2,23.0,24] [--kinds base,stop,handstart,prompt,fault] [--parallel P] [--limit N] [--replay SCHEDULE] [--verbose] [--no-memo] [--profile]";
if (ToolArgs.Parse(args, Usage, out var exit) is not { } o) return exit;

var work = Path.Combine("/dev/shm", $"kmexplore-{Environment.ProcessId}");
if (!Directory.Exists("/dev/shm")) work = Path.Combine(Path.GetTempPath(), $"kmexplore-{Environment.ProcessId}");
try
{
    if (o.Optional("replay") is { } replay) return Replay(Schedule.Parse(replay), work);

    var (lo, hi) = Range(o.Optional("nodes") ?? "2-5");
    var generations = (o.Optional("generations") ?? "all") == "all"
        ? Generations.All
        : o.Optional("generations")!.Split(',').Select(Generations.Parse).ToArray();
    var kinds = (o.Optional("kinds") is { } k ? k.Split(',').Select(x => Enum.Parse<ScheduleKind>(x, ignoreCase: true)) : Explorer.AllKinds).ToHashSet();
    var limit = o.Optional("limit") is not null ? o.Int("limit", 0) : (int?)null;
    var parallel = Math.Max(1, o.Int("parallel", 2));
    var shard = o.Optional("shard");
    var verbose = o.Optional("verbose") is not null;
    var memoize = o.Optional("no-memo") is null;
    Profile.Enabled = o.Optional("profile") is not null;
    // Workers use the clusters' files the parent wrote (writing an ORC signs it with a signer key
    // generated once a process: seconds of RSA key generation saved in each worker).
    var setupDir = o.Optional("setup-dir") ?? Path.Combine(work, "clusters");
    var specs = Enumerable.Range(lo, hi - lo + 1).SelectMany(n => generations.Select(g => (Nodes: n, Generation: g))).ToList();
    ClusterSetup Setup(int i) => ClusterSetup.Create(setupDir, specs[i].Nodes, specs[i].Generation);

    void Emit(ScheduleLine l) { lock (Console.Out) Console.WriteLine("SCHEDULE " + l.ToJson()); }
    if (o.Optional("worker") is not null)
    {
        // A worker process: one engine (started while the parent writes the clusters); whole clusters
        // as the parent hands them out (NEXT, then an index on stdin), so that an invocation's twins,
        // which come from the same cluster, are found.
        using var runner = new ScheduleRunner(Path.Combine(work, "worker")) { Memoize = memoize };
        var explorer = new Explorer(runner, r => Emit(ScheduleLine.Of(r)));
        while (true)
        {
            lock (Console.Out) Console.WriteLine("NEXT");
            if (Console.In.ReadLine() is not { } line)
            {
                lock (Console.Out) Console.WriteLine("PROFILE " + Profile.Json());
                return 0;
            }
            explorer.Explore(Setup(int.Parse(line)), kinds, 0, 1, limit);
        }
    }
    if (shard is not null)
    {
        // A worker process over fewer clusters than workers: its share of every cluster's work items.
        var parts = shard.Split('/');
        RunShard(specs.Select((_, i) => Setup(i)).ToList(), kinds, int.Parse(parts[0]), int.Parse(parts[1]), limit, memoize, work, Emit);
        lock (Console.Out) Console.WriteLine("PROFILE " + Profile.Json());
        return 0;
    }

    var replayPrefix = "dotnet run -c Release --project tools/KmPs.Explorer --";
    Console.WriteLine($"KmPs.Explorer: {hi - lo + 1} cluster size(s) {lo}-{hi} x {generations.Length} generation(s); kinds {string.Join(",", kinds)}; " +
                      $"parallel {parallel}{(limit is null ? "" : $", at most {limit} work items a cluster")}; load average {Summary.LoadAverage()}");
    var summary = new Summary(verbose, replayPrefix);
    var loads = new List<string> { Summary.LoadAverage() };
    using var sampler = new Timer(_ => { lock (loads) loads.Add(Summary.LoadAverage()); }, null, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1));
    List<ClusterSetup> clusters;
    var profiles = new List<Dictionary<string, double>>();
    if (parallel == 1)
    {
        clusters = specs.Select((_, i) => Setup(i)).ToList();
        RunShard(clusters, kinds, 0, 1, limit, memoize, work, summary.Add);
        profiles.Add(Profile.Now());
    }
    else
    {
        // Whole clusters, the largest first, to whichever worker is free (they start their engines
        // while the clusters are written); fewer clusters than workers: every cluster's items split.
        var queue = specs.Count >= parallel
            ? new Queue<int>(Enumerable.Range(0, specs.Count).OrderByDescending(i => specs[i].Nodes).ThenByDescending(i => specs[i].Generation))
            : null;
        using var ready = new ManualResetEventSlim();
        var children = new List<Process>();
        if (queue is not null) children.AddRange(Enumerable.Range(0, parallel).Select(i => StartWorker(args, i, parallel, setupDir, queue, ready, summary, profiles)));
        clusters = specs.Select((_, i) => Setup(i)).ToList();
        ready.Set();
        if (queue is null) children.AddRange(Enumerable.Range(0, parallel).Select(i => StartWorker(args, i, parallel, setupDir, null, ready, summary, profiles)));
        foreach (var c in children) c.WaitForExit();
        foreach (var c in children.Where(c => c.ExitCode != 0)) Console.WriteLine($"worker {c.Id} exited with {c.ExitCode}");
        if (children.Any(c => c.ExitCode != 0)) return 3;
    }
    lock (loads) loads.Add(Summary.LoadAverage());
    string[] loadText;
    lock (loads) loadText = loads.Count <= 4 ? loads.ToArray() : new[] { loads[0], loads[loads.Count / 2], loads[^1] };
    var code = summary.Print(clusters, loadText);
    lock (profiles) Console.WriteLine(Profile.Describe(profiles));
    return code;
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

/// <summary>A worker process: with a queue, it asks for clusters (NEXT) and gets their indices on stdin; without, it runs shard <paramref name="shard"/>.</summary>
static Process StartWorker(string[] args, int shard, int shards, string setupDir, Queue<int>? queue, ManualResetEventSlim ready, Summary summary,
    List<Dictionary<string, double>> profiles)
{
    var psi = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true, RedirectStandardInput = queue is not null, UseShellExecute = false };
    if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet") psi.ArgumentList.Add(typeof(Explorer).Assembly.Location);
    foreach (var a in args) psi.ArgumentList.Add(a);
    if (queue is null)
    {
        psi.ArgumentList.Add("--shard");
        psi.ArgumentList.Add($"{shard}/{shards}");
    }
    else psi.ArgumentList.Add("--worker");
    psi.ArgumentList.Add("--setup-dir");
    psi.ArgumentList.Add(setupDir);
    var p = Process.Start(psi)!;
    p.OutputDataReceived += (_, e) =>
    {
        if (e.Data is null) return;
        if (e.Data.StartsWith("SCHEDULE ", StringComparison.Ordinal) && ScheduleLine.FromJson(e.Data[9..]) is { } l) summary.Add(l);
        else if (e.Data.StartsWith("PROFILE ", StringComparison.Ordinal))
        {
            lock (profiles) profiles.Add(System.Text.Json.JsonSerializer.Deserialize<Dictionary<string, double>>(e.Data[8..])!);
        }
        else if (e.Data == "NEXT" && queue is not null)
        {
            ready.Wait();
            lock (queue)
            {
                if (queue.TryDequeue(out var next)) { p.StandardInput.WriteLine(next); p.StandardInput.Flush(); }
                else p.StandardInput.Close();
            }
        }
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
