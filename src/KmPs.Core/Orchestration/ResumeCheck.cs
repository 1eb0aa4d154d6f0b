using KmPs.Core.Status;

namespace KmPs.Core.Orchestration;

/// <summary>
/// What a resumed run found on one node it had touched. Null means "could not be seen" (a lost
/// session, a folder this user may not read): a node whose state cannot be seen is not resumed on.
/// </summary>
/// <param name="Running">Its control socket answers.</param>
/// <param name="StatePresent">Its state folder (worker-local-storage.badger.db) is there.</param>
/// <param name="BackupPresent">The backup its Wipe step recorded is still there (null when the step recorded none).</param>
/// <param name="OnNewBundle">Its config names the new bundle.</param>
/// <param name="RunsNewVersion">When running: whether it runs the new version (<see cref="ResumeCheck.RunsVersion"/>); null when not running or it cannot be told.</param>
public sealed record NodeObservation(string Node, bool? Running, bool? StatePresent, bool? BackupPresent, bool? OnNewBundle, bool? RunsNewVersion = null)
{
    public override string ToString() =>
        $"{Node}: {(Running is null ? "running?" : Running.Value ? RunsNewVersion switch { true => "running the new version", false => "running another version", _ => "running" } : "stopped")}, " +
        $"{(StatePresent is null ? "state?" : StatePresent.Value ? "state present" : "no state")}, " +
        $"{(OnNewBundle is null ? "bundle?" : OnNewBundle.Value ? "new bundle" : "old bundle")}" +
        (BackupPresent is null ? "" : BackupPresent.Value ? ", backup present" : ", backup gone");
}

/// <summary>What to change in the journal before resuming: steps no longer true, steps found done, or a refusal.</summary>
public sealed class ResumeDecision
{
    /// <summary>Journal keys whose effect is gone: done again.</summary>
    public List<string> Redo { get; } = new();
    /// <summary>Journal keys found true though not recorded (a node started by hand on the new bundle).</summary>
    public List<string> FoundDone { get; } = new();
    /// <summary>Why, per node, in words.</summary>
    public List<string> Notes { get; } = new();
    /// <summary>Set when the nodes match no step of the plan: the run must not go on.</summary>
    public string? Refusal { get; set; }
    public bool Changes => Redo.Count > 0 || FoundDone.Count > 0;
}

/// <summary>
/// Before a resumed run trusts its journal, each touched node's real state is compared with the
/// steps the journal says are done (issue 9 #5): a node restarted by hand after its Stop, a rollback
/// with Restore-KmLocalState, a config set back to the old bundle. What is no longer true is done
/// again; what matches no step of the plan stops the run with an explanation.
/// </summary>
public static class ResumeCheck
{
    /// <summary>
    /// Whether a running node runs <paramref name="version"/>: the key manager worker's own active_version
    /// (23.0+) says yes or no. Where the node does not report it (22.2), only a registration with that version
    /// says yes: an older version may be the descriptor it registered before it was wiped. Null: cannot tell.
    /// </summary>
    public static bool? RunsVersion(KmStatus? status, string version)
    {
        if (status is null || !OasisVersion.TryParse(version, out var want)) return null;
        if (status.ActiveVersionReported) return status.ActiveVersion == want;
        return status.RegisteredVersion == want ? true : null;
    }

    public static ResumeDecision Decide(UpgradePlan plan, IReadOnlyCollection<string> doneKeys, IReadOnlyList<NodeObservation> seen)
    {
        var d = new ResumeDecision();
        bool Done(string node, string action) => doneKeys.Contains($"{node}:{action}");
        foreach (var o in seen)
        {
            var n = o.Node;
            var phase = plan.FirstHalf.Contains(n) ? "first" : plan.SecondHalf.Contains(n) ? "second" : null;
            if (phase is null || !UpgradePlanner.NodeActions.Any(a => Done(n, a))) continue;
            if (o.Running is null || o.StatePresent is null || o.OnNewBundle is null)
            {
                d.Refusal = $"{n} was touched by the interrupted run, but its state cannot be seen now ({o}); resuming would act on a guess. " +
                            "Restore access to it (its session, its data dir) and run the same command again.";
                return d;
            }
            string? broken = null, why = null;
            // The SetBundle step changes the config only of a node that is silent before and after the change
            // (it refuses otherwise), so a node started after it was started on the new bundle; a node that says
            // it runs another version overrides that (a config changed by hand, a journal of an older run).
            var onNew = Done(n, "SetBundle") && o.OnNewBundle == true && o.RunsNewVersion != false;
            if (Done(n, "Stop") && !Done(n, "Start") && o.Running == true && !onNew)
                (broken, why) = ("Stop", o.RunsNewVersion == false
                    ? "it is running again on another version than the new one (started by hand after the run stopped it): the state it rebuilt is sealed by that version's enclave"
                    : "it is running again (started by hand after the run stopped it)");
            else if (Done(n, "Wipe") && o.BackupPresent == false)
                (broken, why) = ("Stop", "the backup its wipe made is gone: its old state was restored (a rollback)");
            else if (Done(n, "Wipe") && !Done(n, "Start") && o.StatePresent == true && !onNew)
                (broken, why) = ("Stop", "it has a state folder again though its wipe is done and it never started on the new bundle");
            else if (Done(n, "SetBundle") && o.OnNewBundle == false)
                (broken, why) = ("Stop", "its config names the old bundle again (a rollback)");
            else if (Done(n, "Start") && o.Running == false)
                (broken, why) = ("Start", "it is stopped though it was started on the new bundle");
            else if (Done(n, "Start") && o.Running == true && o.RunsNewVersion == false)
                (broken, why) = ("Stop", "it runs another version than the new one, though the run started it on the new bundle (restarted outside the run on another config)");

            if (broken is null)
            {
                if (onNew && !Done(n, "Start") && o.Running == true)
                {
                    d.FoundDone.Add($"{n}:Start");
                    d.Notes.Add($"{n} was started on the new bundle by hand: its Start is taken as done");
                }
                continue;
            }
            // Its steps from the broken one on are done again, and so is every phase-wide step of its
            // half that relied on them (waits and verifications).
            var from = Array.IndexOf(UpgradePlanner.NodeActions, broken);
            d.Redo.AddRange(UpgradePlanner.NodeActions.Skip(from).Where(a => Done(n, a)).Select(a => $"{n}:{a}"));
            d.Redo.AddRange(plan.Steps.Where(s => s.Phase == phase && s.Node == phase && doneKeys.Contains(s.Key)).Select(s => s.Key));
            d.Notes.Add($"{n}: {why}; its steps from {broken} on are done again ({o})");
            if (phase == "first" && plan.Steps.Any(s => s.Phase == "second" && doneKeys.Contains(s.Key)))
            {
                d.Refusal = $"{n} of the first half no longer is as the run left it ({why}), but the second half has already been touched: " +
                            "the second half was wiped relying on the first half. Check every node (Get-KmStatus, Test-KmReplication) and finish by hand; " +
                            "do not resume with this journal.";
                return d;
            }
        }
        var redo = d.Redo.Distinct().ToList();
        d.Redo.Clear();
        d.Redo.AddRange(redo);
        return d;
    }
}
