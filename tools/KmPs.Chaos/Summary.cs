using KmPs.Tools;
namespace KmPs.Chaos;

/// <summary>The per-run line and the final figures.</summary>
public static class Summary
{
    public static void PrintRun(RunReport r, int done, int of)
    {
        var p = r.Plan;
        var faults = p.Faults.Count == 0 ? "no faults" : string.Join(", ", p.Faults.Select(f => r.Injected.Contains(f.Kind) ? f.ToString() : f + "[not applied]"));
        Console.WriteLine($"[{done,3}/{of}] run {p.Index,3}: {p.Nodes} nodes {Generations.Text(p.Generation),-4} {p.EpochMs} ms | {faults} | " +
                          $"{r.Outcome} | min holders {Show(r.MinHolders)} (live {Show(r.MinLiveHolders)}) | {r.Duration.TotalSeconds:0.0} s");
        foreach (var v in r.Violations) Console.WriteLine($"      VIOLATION {v}");
        foreach (var n in r.Notes) Console.WriteLine($"      note: {n}");
        if (r.KeyMaterialLost) Console.WriteLine("      KEY MATERIAL LOST");
        if (r.Violations.Count > 0 || r.KeyMaterialLost || r.Unclear || r.Recovered == false || r.HarnessError is not null)
            Console.WriteLine($"      log: {r.LogPath}");
    }

    private static string Show(int n) => n == int.MaxValue ? "-" : n.ToString();

    public static void Print(IReadOnlyList<RunReport> reports, TimeSpan elapsed, int seed)
    {
        Console.WriteLine();
        Console.WriteLine($"==== KmPs.Chaos summary (seed {seed}) ====");
        Console.WriteLine($"runs:                          {reports.Count}");
        Console.WriteLine($"  by size:                     {string.Join(", ", reports.GroupBy(r => r.Plan.Nodes).OrderBy(g => g.Key).Select(g => $"{g.Key} nodes: {g.Count()}"))}");
        Console.WriteLine($"  by schema:                   {string.Join(", ", reports.GroupBy(r => Generations.Text(r.Plan.Generation)).OrderBy(g => g.Key).Select(g => $"{g.Key}: {g.Count()}"))}");
        var scheduled = reports.SelectMany(r => r.Plan.Faults.Select(f => f.Kind)).ToList();
        var injected = reports.SelectMany(r => r.Injected).ToList();
        Console.WriteLine($"faults injected:               {injected.Count} (of {scheduled.Count} scheduled; the rest fell after the run had ended)");
        foreach (var kind in Enum.GetValues<FaultKind>())
            Console.WriteLine($"  {kind,-27}  {injected.Count(k => k == kind),4} injected / {scheduled.Count(k => k == kind),4} scheduled");
        Console.WriteLine($"  runs with 0 / 1 / 2 faults injected: {reports.Count(r => r.Injected.Count == 0)} / {reports.Count(r => r.Injected.Count == 1)} / {reports.Count(r => r.Injected.Count >= 2)}");
        Console.WriteLine($"upgrades completed:            {reports.Count(r => r.Completed)} (of which resumed after a stopped orchestrator: {reports.Count(r => r.Completed && r.Resumed)})");
        var stopped = reports.Where(r => r.StoppedSafely).ToList();
        Console.WriteLine($"runs stopped safely:           {stopped.Count}" +
                          (stopped.Count == 0 ? "" : " (" + string.Join(", ", stopped.GroupBy(r => r.ErrorId).OrderByDescending(g => g.Count()).Select(g => $"{g.Key}: {g.Count()}")) + ")"));
        var recovery = reports.Where(r => r.Recovered is not null).ToList();
        Console.WriteLine($"  then recovered (faults cleared, same command again): {recovery.Count(r => r.Recovered == true)} of {recovery.Count}" +
                          (recovery.Any(r => r.Recovered == false) ? " (not: " + string.Join(", ", recovery.Where(r => r.Recovered == false).GroupBy(r => r.RecoveryError).Select(g => $"{g.Key}: {g.Count()}")) + ")" : ""));
        var unclear = reports.Where(r => !r.Completed && !r.StoppedSafely && r.HarnessError is null).ToList();
        Console.WriteLine($"failures without a clear stop: {unclear.Count}" +
                          (unclear.Count == 0 ? "" : " (" + string.Join(", ", unclear.GroupBy(r => r.Hang ? "hang" : r.Violations.Count > 0 ? $"{r.ErrorId} with violations" : r.ErrorId ?? "?").Select(g => $"{g.Key}: {g.Count()}")) + ")"));
        Console.WriteLine($"harness errors:                {reports.Count(r => r.HarnessError is not null)}");
        Console.WriteLine($"key material losses:           {reports.Count(r => r.KeyMaterialLost)}");
        var all = reports.SelectMany(r => r.Violations).ToList();
        Console.WriteLine($"invariant violations:          {all.Count} in {reports.Count(r => r.Violations.Count > 0)} run(s)");
        foreach (var (tag, text) in new[]
                 {
                     ("(a)", "a moment with no holder of the key material"),
                     ("(b)", "a state folder wiped while its node's process ran"),
                     ("(c)", "second half touched before the first half was verified twice"),
                     ("(d)", "after a failure, an untouched node not on the old version and ready"),
                     ("(e)", "a success that was not (or a wrong ORC accepted)"),
                 })
            Console.WriteLine($"  {tag} {text,-70} {all.Count(v => v.StartsWith(tag, StringComparison.Ordinal))}");
        var holders = reports.Where(r => r.MinHolders != int.MaxValue).ToList();
        if (holders.Count > 0)
            Console.WriteLine($"fewest holders ever sampled:   {holders.Min(r => r.MinHolders)} (files); fewest live ready holders: {holders.Min(r => r.MinLiveHolders)}" +
                              $" (runs whose live holders hit 0: {holders.Count(r => r.MinLiveHolders == 0)}, all with a killed or failing node: {holders.Where(r => r.MinLiveHolders == 0).All(r => r.Injected.Any(k => k is FaultKind.KillNode or FaultKind.RegistrationFails))})");
        var notes = reports.SelectMany(r => r.Notes).ToList();
        if (notes.Count > 0) Console.WriteLine($"notes:                         {notes.Count} (stray node processes at teardown)");
        Console.WriteLine($"total time:                    {elapsed.TotalMinutes:0.0} min ({elapsed.TotalSeconds / Math.Max(1, reports.Count):0.0} s a run on average, {reports.Average(r => r.Duration.TotalSeconds):0.0} s a run each)");
    }
}
