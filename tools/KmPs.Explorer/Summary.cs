using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using KmPs.Tools;

namespace KmPs.Explorer;

/// <summary>One schedule's figures as a worker process reports them (one JSON line each).</summary>
public sealed class ScheduleLine
{
    public string Schedule { get; set; } = "";
    public string Kind { get; set; } = "";
    public List<string> Violations { get; set; } = new();
    public long States { get; set; }
    public int Invocations { get; set; }
    public int Executed { get; set; }
    public long CoveredStates { get; set; }
    /// <summary>The schedule whose runs this one's are (a latent fault set at an earlier step), when taken whole from it.</summary>
    public string? SameAs { get; set; }
    public string Final { get; set; } = "";
    public bool Applicable { get; set; }
    public int MinHolders { get; set; }
    public string? Note { get; set; }

    public static ScheduleLine Of(ScheduleResult r) => new()
    {
        Schedule = r.Schedule.ToString(), Kind = r.Schedule.Kind.ToString(), Violations = r.Violations, States = r.States,
        Invocations = r.Invocations, Executed = r.Executed, CoveredStates = r.CoveredStates, SameAs = r.SameAs, Final = r.Final, Applicable = r.Applicable, MinHolders = r.MinHolders == int.MaxValue ? -1 : r.MinHolders, Note = r.Note,
    };

    public string ToJson() => JsonSerializer.Serialize(this);
    public static ScheduleLine? FromJson(string line) => JsonSerializer.Deserialize<ScheduleLine>(line);
}

/// <summary>The explorer's figures: schedules, states checked, violations (each with its replay line), time, rate, coverage.</summary>
public sealed class Summary
{
    private readonly object _gate = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly List<ScheduleLine> _lines = new();
    private readonly bool _verbose;
    private readonly string _replayPrefix;

    public Summary(bool verbose, string replayPrefix) => (_verbose, _replayPrefix) = (verbose, replayPrefix);

    public int Violations { get { lock (_gate) return _lines.Sum(l => l.Violations.Count); } }

    public void Add(ScheduleLine l)
    {
        lock (_gate)
        {
            _lines.Add(l);
            if (l.Violations.Count > 0)
            {
                Console.WriteLine($"VIOLATION in {l.Schedule}:");
                foreach (var v in l.Violations) Console.WriteLine("    " + v);
                Console.WriteLine($"    replay: {_replayPrefix} --replay {l.Schedule}");
            }
            else if (_verbose) Console.WriteLine($"  {l.Schedule}: {l.Final}{(l.Applicable ? "" : " (not applicable: " + l.Note + ")")}, {l.Invocations} run(s) ({l.Executed} executed), {l.States} states checked, {l.CoveredStates} covered{(l.SameAs is null ? "" : ", the runs of " + l.SameAs)}");
            if (_lines.Count % 500 == 0)
                Console.WriteLine($"  ... {_lines.Count} schedules, {_lines.Sum(x => x.States)} states, {_lines.Sum(x => x.Violations.Count)} violations, {_clock.Elapsed.TotalMinutes:0.0} min");
        }
    }

    public static string LoadAverage()
    {
        try { return string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)); }
        catch (IOException) { return "?"; }
    }

    /// <summary>Prints the figures; returns the exit code (1 when a violation was found).</summary>
    public int Print(IReadOnlyList<ClusterSetup> clusters, IReadOnlyList<string> loadSamples)
    {
        lock (_gate)
        {
            var elapsed = _clock.Elapsed;
            var applicable = _lines.Where(l => l.Applicable).ToList();
            var schedules = applicable.Count;
            var states = _lines.Sum(l => l.States);
            var violations = _lines.Sum(l => l.Violations.Count);
            var invocations = _lines.Sum(l => l.Invocations);
            var executed = _lines.Sum(l => l.Executed);
            var covered = _lines.Sum(l => l.CoveredStates);
            var whole = applicable.Count(l => l.SameAs is not null);
            var rate = schedules / Math.Max(elapsed.TotalMinutes, 1e-9);
            Console.WriteLine();
            Console.WriteLine($"schedules explored: {schedules}" + (schedules == _lines.Count ? "" : $" ({_lines.Count - schedules} more had nothing to act on)"));
            foreach (var g in applicable.GroupBy(l => l.Kind).OrderBy(g => g.Key, StringComparer.Ordinal))
                Console.WriteLine($"  {g.Key,-10} {g.Count(),7}");
            if (whole > 0) Console.WriteLine($"  of which {whole} latent-fault schedules have the runs of the same fault set at an earlier step, still unread by the model at theirs");
            Console.WriteLine($"Invoke-KmSafeUpgrade runs: {invocations}, of which {executed} executed; the other {invocations - executed} were not run again: each started from the world (model, journal) and with the command of an executed run, or is a run of a latent-fault schedule taken whole");
            Console.WriteLine($"states checked: {states} (the {invocations - executed} runs not executed again passed {covered} more, checked in their twins)");
            Console.WriteLine($"violations: {violations}");
            Console.WriteLine($"time: {elapsed.TotalSeconds:0.0} s; {rate:0} schedules/minute, {executed / Math.Max(elapsed.TotalMinutes, 1e-9):0} executed runs/minute; load average {string.Join(", ", loadSamples)}");
            foreach (var f in applicable.GroupBy(l => l.Final).OrderByDescending(g => g.Count()))
                Console.WriteLine($"  ended {f.Key}: {f.Count()}");
            foreach (var l in applicable.Where(l => l.Final != "completed").GroupBy(l => l.Schedule.Split('/')[2].Split('@')[0]).OrderBy(g => g.Key, StringComparer.Ordinal))
                Console.WriteLine($"    not completed, {l.Key}: {l.Count()}, e.g. {string.Join(" ", l.Take(3).Select(x => x.Schedule))}");
            var minHolders = applicable.Where(l => l.MinHolders >= 0).Select(l => l.MinHolders).DefaultIfEmpty(-1).Min();
            Console.WriteLine($"fewest nodes holding key material their enclave unseals, at any check: {minHolders}");

            // Coverage: every fault kind applied, every stop point of every cluster used as a first stop.
            var faults = applicable.Where(l => l.Kind == nameof(ScheduleKind.Fault))
                .Select(l => l.Schedule.Split('/')[2][6..].Split('@')[0]).Distinct().OrderBy(x => x, StringComparer.Ordinal).ToList();
            var missingFaults = Explorer.FaultKinds.Select(k => k.ToString()).Except(faults).ToList();
            var missingStops = new List<string>();
            foreach (var c in clusters)
            {
                var prefix = $"n{c.Nodes}/g{Generations.Text(c.Generation)}/stop:";
                var firsts = applicable.Where(l => l.Schedule.StartsWith(prefix, StringComparison.Ordinal))
                    .Select(l => l.Schedule[prefix.Length..].Split(',')[0]).ToHashSet();
                var plan = Explorer.Plan(c);
                var want = Enumerable.Range(1, plan.Steps.Count(s => s.Action is "Stop" or "Wipe" or "SetBundle" or "Start")).Select(k => $"A{k}")
                    .Concat(plan.Steps.Select(s => $"B{s.Index}"));
                missingStops.AddRange(want.Where(p => !firsts.Contains(p)).Select(p => prefix + p));
            }
            Console.WriteLine($"fault kinds applied: {faults.Count}/{Explorer.FaultKinds.Length}" + (missingFaults.Count == 0 ? "" : " (missing " + string.Join(", ", missingFaults) + ")"));
            Console.WriteLine($"stop points not exercised: {missingStops.Count}" + (missingStops.Count == 0 ? "" : " (" + string.Join(", ", missingStops.Take(10)) + ")"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"RESULT schedules={schedules} runs={invocations} executed={executed} states={states} covered-states={covered} violations={violations} seconds={elapsed.TotalSeconds:0.0} per-minute={rate:0} fault-kinds={faults.Count} stops-missing={missingStops.Count}"));
            return violations > 0 ? 1 : 0;
        }
    }
}
