using System.Diagnostics;
using KmPs.Simulator;
using KmPs.Simulator.Cluster;
using KmPs.Tools;
using KmPs.UpgradeBenchmark;

// Invoke-KmSafeUpgrade on simulated clusters of 2 to 5 nodes: total time against the waits no
// orchestrator could avoid (definition in Analysis.cs and printed with the figures).
//
//   dotnet run -c Release --project tools/KmPs.UpgradeBenchmark -- [--reps 3] [--sizes 2,3,4,5]
//          [--epoch-ms 500] [--upgrade-in 6] [--quick]
//
// --quick: one run a size. Each run: a fresh cluster, its lifecycle scripts wrapped to time each
// stop and start command, the new version deployed --upgrade-in epochs after the nodes are ready,
// then one Invoke-KmSafeUpgrade -Confirm:$false in a warm engine.

const string Usage = "usage: KmPs.UpgradeBenchmark [--reps N] [--sizes 2,3,4,5] [--epoch-ms MS] [--upgrade-in EPOCHS] [--quick]";
if (ToolArgs.Parse(args, Usage, out var exit) is not { } o) return exit;
var quick = o.Optional("quick") is not null;
var reps = o.Int("reps", quick ? 1 : 3);
var sizes = (o.Optional("sizes") ?? "2,3,4,5").Split(',').Select(int.Parse).ToArray();
var epochMs = o.Int("epoch-ms", 500);
var upgradeIn = o.Int("upgrade-in", 6);

Console.WriteLine($"KmPs.UpgradeBenchmark: Invoke-KmSafeUpgrade -Confirm:$false on simulated clusters; epoch {epochMs} ms; " +
                  $"the new version deployed {upgradeIn} epochs after the nodes are ready; {reps} run(s) a size.");
Console.WriteLine();
Console.WriteLine("""
    unavoidable = the end of an ideal schedule made of this run's own measurements with no orchestration cost:
      from the start of the call, the first half's stop and start commands back to back (measured durations;
        a start lasts until the node first answers a status call);
      each first-half node ready at max(its start, the upgrade epoch's start) + its measured replication latency;
      the second verification at the first epoch boundary after the whole first half is ready;
      then the second half's stop and start commands back to back, each node ready its measured latency after its start.
    ratio = total / unavoidable. Overhead = what the real run spent beyond its commands and those waits, per step
    (journal timestamps): before/after each command, wipe, set bundle, conditions seen late (poll interval), verifications.
    """);

using var engine = new UpgradeEngine();
var results = new List<(int Size, Analysis A)>();
var warm = false;
foreach (var size in sizes)
{
    for (var rep = 1; rep <= reps; rep++)
    {
        var root = Path.Combine("/tmp", $"kub{size}-{rep}-{Guid.NewGuid().ToString("N")[..6]}");
        var options = new ClusterOptions { Nodes = size, EpochIntervalMs = epochMs };
        var layout = new ClusterLayout(root);
        try
        {
            ClusterBuilder.Create(root, options);
            Timeline.WrapLifecycleScripts(layout);
            await ClusterControl.StartAllAsync(layout, TimeSpan.FromSeconds(60), CancellationToken.None);
            var call = new UpgradeCall(layout.InventoryFile, ClusterBuilder.OrcPath(layout, options.NewVersion),
                Path.Combine(root, "upgrade-journal.json"), Confirm: false, TimeoutSec: 120, NodeTimeoutSec: 60);
            if (!warm)
            {
                // The first call in an engine compiles the script module: warm it with -WhatIf (changes nothing).
                var w = engine.Run(call with { WhatIf = true });
                if (w.ErrorId is not (null or "NoResult") || w.Stopped) throw new InvalidOperationException("warm-up -WhatIf failed: " + w.Describe());
                warm = true;
            }
            ClusterTools.DeployIn(layout, options.NewVersion, upgradeIn);

            var start = DateTimeOffset.UtcNow;
            var outcome = engine.Run(call);
            var end = DateTimeOffset.UtcNow;
            if (!outcome.Success)
            {
                Console.WriteLine($"{size} nodes, run {rep}: FAILED: {outcome.Describe()}");
                continue;
            }
            var a = Analysis.Of(Timeline.Collect(layout, call.JournalPath, start, end, options.NewVersion));
            results.Add((size, a));
            Console.WriteLine($"{size} nodes, run {rep}: total {a.Total,5:0.00} s, unavoidable {a.UnavoidableTotal,5:0.00} s, ratio {a.Ratio:0.00}");
        }
        finally
        {
            try { ClusterControl.StopAll(layout); } catch (Exception e) when (e is IOException or InvalidOperationException) { }
            try { Directory.Delete(root, true); } catch (IOException) { }
        }
    }
}
Report.Print(results, sizes);
return 0;
