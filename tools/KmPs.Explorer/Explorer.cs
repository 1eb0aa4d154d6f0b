using KmPs.Explorer.Model;
using KmPs.Core.Inventory;
using KmPs.Core.Orchestration;
using KmPs.Core.Status;
using KmPs.Tools;

namespace KmPs.Explorer;

/// <summary>
/// Enumerates every schedule of one cluster (node count, status generation) and runs the ones of
/// this shard. Stop schedules share their prefix: the run stopped at X is done once, and each resume
/// stopped again at Y starts from a copy of its end (model and journal), exactly as a replay from
/// scratch would reach it.
/// </summary>
public sealed class Explorer(ScheduleRunner runner, Action<ScheduleResult> report)
{
    public static readonly ScheduleKind[] AllKinds = { ScheduleKind.Base, ScheduleKind.Stop, ScheduleKind.HandStart, ScheduleKind.Prompt, ScheduleKind.Fault };

    /// <summary>The faults the model's nodes take (ModelCluster.Inject), one at each step of a run.</summary>
    public static readonly FaultKind[] FaultKinds =
    {
        FaultKind.CrashWhileReplicating, FaultKind.ReplicationRefused, FaultKind.PeerUnreachable, FaultKind.RegistrationFails,
        FaultKind.SealWriteError, FaultKind.SlowStart, FaultKind.KillNode, FaultKind.RestartedByHand, FaultKind.PolicyDenies,
    };

    /// <summary>The work items of a cluster, in a fixed order: each is one or more schedules.</summary>
    private sealed record Item(string Label, Action Run);

    public int Explore(ClusterSetup setup, ISet<ScheduleKind> kinds, int shard, int shards, int? limit)
    {
        var n = setup.Nodes;
        var g = setup.Generation;
        // The unstopped run tells where every stop point is (A1..A<mutating calls>, B<each step>).
        var baseSchedule = new Schedule(n, g, ScheduleKind.Base);
        var baseResult = runner.Begin(baseSchedule, setup);
        var w0 = runner.Fresh(setup);
        var baseRun = runner.Invoke(w0, new InvocationSpec());
        runner.Finish(w0, baseRun);
        var plan = Plan(setup);
        var items = new List<Item>();
        if (kinds.Contains(ScheduleKind.Base)) items.Add(new Item("base", () => report(baseResult)));
        if (kinds.Contains(ScheduleKind.Stop) || kinds.Contains(ScheduleKind.HandStart))
            foreach (var x in baseRun.Boundaries)
                items.Add(new Item("stop " + x, () => StopTree(setup, x, kinds)));
        if (kinds.Contains(ScheduleKind.Prompt))
        {
            items.Add(new Item("prompt Yes", () => report(runner.Run(new Schedule(n, g, ScheduleKind.Prompt) { Answer = PromptAnswer.Yes }, setup))));
            // Three prompts a node of the plan: Stop, Wipe, SetBundle.
            var prompts = plan.Steps.Count(s => s.IsDestructive);
            for (var j = 1; j <= prompts; j++)
                foreach (var a in new[] { PromptAnswer.No, PromptAnswer.NoToAll, PromptAnswer.YesToAll })
                {
                    var s = new Schedule(n, g, ScheduleKind.Prompt) { Answer = a, PromptIndex = j };
                    items.Add(new Item(s.ToString(), () => report(runner.Run(s, setup))));
                }
        }
        if (kinds.Contains(ScheduleKind.Fault))
        {
            var faults = FaultSchedules(setup, plan).ToList();
            foreach (var s in faults.Where(f => !ModelCluster.IsLatent(f.Fault)))
                items.Add(new Item(s.ToString(), () => report(runner.Run(s, setup))));
            foreach (var group in faults.Where(f => ModelCluster.IsLatent(f.Fault)).GroupBy(f => (f.Fault, f.FaultNode)))
                items.Add(new Item($"fault:{group.Key.Fault}@*:{group.Key.FaultNode}", () => LatentFaults(setup, group.OrderBy(f => f.FaultStep).ToList())));
        }

        var chosen = Enumerable.Range(0, items.Count).Where(i => i % shards == shard).ToList();
        if (limit is { } cap && chosen.Count > cap)
            chosen = Enumerable.Range(0, cap).Select(i => chosen[(int)((long)i * chosen.Count / cap)]).ToList();
        foreach (var i in chosen) items[i].Run();
        return chosen.Count;
    }

    /// <summary>stop:X, and for every point Y of its resume stop:X,Y, and handstart:X: the run stopped at X once, its end copied.</summary>
    private void StopTree(ClusterSetup setup, StopPoint x, ISet<ScheduleKind> kinds)
    {
        var n = setup.Nodes;
        var g = setup.Generation;
        var single = new Schedule(n, g, ScheduleKind.Stop) { Stops = new[] { x } };
        var r = runner.Begin(single, setup);
        var w = runner.Fresh(setup);
        var first = runner.Invoke(w, new InvocationSpec { Stop = x });
        if (!first.StoppedByUs) { r.Applicable = false; r.Note = $"no stop point {x}"; report(r); return; }
        var stopped = w.Clone();
        var resume = runner.Invoke(w, new InvocationSpec());
        runner.Finish(w, resume);
        if (kinds.Contains(ScheduleKind.Stop)) report(r);
        if (kinds.Contains(ScheduleKind.Stop))
            foreach (var y in resume.Boundaries)
            {
                var twice = runner.Begin(new Schedule(n, g, ScheduleKind.Stop) { Stops = new[] { x, y } }, setup);
                var w2 = stopped.Clone();
                if (!runner.Invoke(w2, new InvocationSpec { Stop = y }).StoppedByUs) { twice.Applicable = false; twice.Note = $"no stop point {y}"; report(twice); continue; }
                runner.Finish(w2, runner.Invoke(w2, new InvocationSpec()));
                report(twice);
            }
        if (kinds.Contains(ScheduleKind.HandStart))
        {
            var hand = runner.Begin(new Schedule(n, g, ScheduleKind.HandStart) { Stops = new[] { x } }, setup);
            var w3 = stopped.Clone();
            if (!runner.StartByHand(w3)) { hand.Applicable = false; hand.Note = "no node was stopped"; }
            else runner.Finish(w3, runner.Invoke(w3, new InvocationSpec()));
            report(hand);
        }
    }

    /// <summary>
    /// One latent fault (a flag the model's rules read later: ModelCluster.IsLatent) on one node, set at
    /// each step in turn. Until the model reads the flag, the cluster behaves as without it, so the run
    /// with the fault set at step s is the unfaulted run up to the start of every later step s' at
    /// which the fault is still unread; there it is in the very state the run with the fault set at
    /// s' is in once it sets it: the same model (the flag set, nothing else changed), journal and
    /// orchestrator (at the start of s', having seen the same answers). Those schedules have the same
    /// future, and are taken whole from the run at s, which checked every state of it.
    /// </summary>
    private void LatentFaults(ClusterSetup setup, IReadOnlyList<Schedule> byStep)
    {
        var twins = new Dictionary<int, ScheduleResult>();
        foreach (var s in byStep)
        {
            if (runner.Memoize && twins.TryGetValue(s.FaultStep, out var twin))
            {
                report(ScheduleRunner.SameRuns(s, twin));
                continue;
            }
            var r = runner.Run(s, setup);
            report(r);
            // A schedule with a violation is never reused: each one that has it reports it with its own replay line.
            if (r.Violations.Count == 0 && r.Applicable)
                foreach (var later in r.FaultUnreadAt) twins.TryAdd(later, r);
        }
    }

    /// <summary>The plan the module makes for a fresh cluster (UpgradePlanner, the same inputs as the pre-flight gives it).</summary>
    public static UpgradePlan Plan(ClusterSetup setup)
    {
        var nodes = Enumerable.Range(1, setup.Nodes).Select(i => new KmNode { Name = $"km{i}", DataDir = $"/kmmodel/km{i}/data" }).ToList();
        return UpgradePlanner.Plan(nodes, new HashSet<string>(), OasisVersion.Parse(ModelCluster.NewVersion), setup.BundlePath, ModelCluster.RuntimeId, 12);
    }

    /// <summary>
    /// Each fault kind at each step, on each node it can act on from that step: a crash while
    /// replicating or a seal error on a node that has still to replicate; a refusing or unreachable
    /// source, or the policy, while any node has still to replicate; a slow start on a node still to be
    /// started; a restart by hand of the node the plan has stopped; a failing registration or a kill
    /// on any node at any step.
    /// </summary>
    public static IEnumerable<Schedule> FaultSchedules(ClusterSetup setup, UpgradePlan plan)
    {
        var n = setup.Nodes;
        var g = setup.Generation;
        var steps = plan.Steps;
        int Index(string node, string action) => steps.First(s => s.Node == node && s.Action == action).Index;
        int Replicated(string node) => Index(plan.FirstHalf.Contains(node) ? "first" : "second", "WaitReplicated");
        var lastReplication = steps.Where(s => s.Action == "WaitReplicated").Max(s => s.Index);
        var names = plan.FirstHalf.Concat(plan.SecondHalf).OrderBy(x => x, StringComparer.Ordinal).ToList();
        foreach (var step in steps)
        {
            var s = step.Index;
            foreach (var kind in FaultKinds)
            {
                IEnumerable<string?> targets = kind switch
                {
                    FaultKind.CrashWhileReplicating or FaultKind.SealWriteError => names.Where(x => s <= Replicated(x)).Cast<string?>(),
                    FaultKind.ReplicationRefused or FaultKind.PeerUnreachable => s <= lastReplication ? names : Array.Empty<string?>(),
                    FaultKind.SlowStart => names.Where(x => s <= Index(x, "Start")).Cast<string?>(),
                    FaultKind.RestartedByHand => step.Action is "Wipe" or "SetBundle" or "Start" ? new string?[] { step.Node } : Array.Empty<string?>(),
                    FaultKind.PolicyDenies => s <= lastReplication ? new string?[] { null } : Array.Empty<string?>(),
                    _ => names,
                };
                foreach (var t in targets)
                    yield return new Schedule(n, g, ScheduleKind.Fault) { Fault = kind, FaultStep = s, FaultNode = t };
            }
        }
    }
}
