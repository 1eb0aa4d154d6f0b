namespace KmPs.Core.Orchestration;

/// <summary>How a node answered when a run stopped.</summary>
public enum NodeLiveness
{
    /// <summary>Its control socket answers.</summary>
    Running,
    /// <summary>Its socket is silent: stopped, or not up.</summary>
    NotAnswering,
    /// <summary>Its machine's remoting session is lost: nothing is known.</summary>
    SessionLost,
}

/// <summary>One node's state when a run stopped: what the run did to it (from the journal) and what it does now.</summary>
public sealed class NodeStopState
{
    public string Name { get; init; } = "";
    /// <summary>Its machine, for a node on another one.</summary>
    public string? HostName { get; init; }
    /// <summary>The steps the run completed on it, in order (Stop, Wipe, SetBundle, Start).</summary>
    public string[] Done { get; init; } = Array.Empty<string>();
    public NodeLiveness Liveness { get; init; }
    /// <summary>Its key manager status word when running (ready, ...).</summary>
    public string? Status { get; init; }
    public string? Version { get; init; }
    /// <summary>When running: whether it runs the run's new version (<see cref="ResumeCheck.RunsVersion"/>); null when not running or it cannot be told.</summary>
    public bool? RunsNewVersion { get; init; }

    public bool Untouched => Done.Length == 0;

    public string Observed => Liveness switch
    {
        NodeLiveness.Running => $"running, {Status}, version {Version}",
        NodeLiveness.SessionLost => "unknown: its remoting session is lost, nothing more can be done there until it is reconnected",
        _ => "not answering (stopped?)",
    };

    public override string ToString() =>
        $"{Name}{(string.IsNullOrEmpty(HostName) ? "" : " on " + HostName)} [{(Untouched ? "untouched" : "done: " + string.Join(", ", Done))}]: {Observed}";
}

/// <summary>
/// Why a run stopped where it did, as data: the step, every node's state and what to do next. The
/// stopped run's error carries it as its TargetObject (scripts and the chaos program read the
/// states from it); its message is <see cref="Render"/>.
/// </summary>
public sealed class UpgradeStopReport
{
    /// <summary>The step the run stopped at (its node is null for a step of a whole half).</summary>
    public UpgradeStep? Step { get; init; }
    public NodeStopState[] Nodes { get; init; } = Array.Empty<NodeStopState>();
    public string Advice { get; init; } = "";

    public NodeStopState? Node(string name) => Nodes.FirstOrDefault(n => n.Name == name);

    public string Render() =>
        "Node states:\n" + string.Join("\n", Nodes.Select(n => "  " + n)) + "\nWhat to do: " + Advice;

    public override string ToString() => Render();

    /// <summary>The advice for a run stopped at <paramref name="step"/> with its nodes as seen.</summary>
    public static UpgradeStopReport Of(UpgradeStep? step, IReadOnlyList<NodeStopState> nodes) => new()
    {
        Step = step, Nodes = nodes.OrderBy(n => n.Name, StringComparer.Ordinal).ToArray(), Advice = AdviceFor(step, nodes),
    };

    private const string RollBack = "Stop-KmNode, Clear-KmLocalState -Delete (its new state holds no key yet), Restore-KmLocalState, Set-KmRuntimeBundle with the old ORC, Start-KmNode";

    private static string AdviceFor(UpgradeStep? step, IReadOnlyList<NodeStopState> nodes)
    {
        // A node the run started on the new bundle that runs another version was restarted outside the run: its
        // state is sealed by that version's enclave, so it is no upgraded node to verify or roll back as one.
        var strays = nodes.Where(n => n.Done.Contains("Start") && n.Liveness == NodeLiveness.Running && n.RunsNewVersion == false).Select(n => n.Name).ToList();
        var stray = strays.Count == 0 ? "" :
            $"{string.Join(", ", strays)} {(strays.Count == 1 ? "runs" : "run")} another version than the new one though the run started {(strays.Count == 1 ? "it" : "them")} on the new bundle " +
            "(restarted outside this run on another config); running the same command again stops, wipes and upgrades " + (strays.Count == 1 ? "it" : "them") + " again. ";
        return stray + AdviceForStep(step, nodes);
    }

    /// <summary>
    /// A step of a whole half or of the end (a wait or a verification). Only in the first half is the other
    /// half untouched and a rollback possible: the second half starts after the upgrade epoch.
    /// </summary>
    private static string AdviceForPhase(UpgradeStep? step)
    {
        const string check = "Check them (Test-KmReplication, Find-KmUpgradeProblem), fix the cause and run the same command again to resume";
        return step?.Phase switch
        {
            "second" => $"every node was started on the new bundle, and the second half has not replicated yet; the first half, verified twice, holds the key material. {check}.",
            "final" => $"every node was upgraded, but the final verification did not pass. {check}: it verifies again.",
            _ => $"the upgraded nodes have not verified yet. {check}; the other half was not touched. Before the upgrade epoch an upgraded node can be rolled back: {RollBack}.",
        };
    }

    private static string AdviceForStep(UpgradeStep? step, IReadOnlyList<NodeStopState> nodes)
    {
        var target = step is null ? null : nodes.FirstOrDefault(n => n.Name == step.Node);
        if (target is null) return AdviceForPhase(step);
        var node = target.Name;
        var done = target.Done;
        if (target.Liveness == NodeLiveness.SessionLost)
            return $"the session to {node}'s machine was lost during this step, so whether the step took effect there is unknown. " +
                   $"Open a new session (New-PSSession) and give it to {node}, check {node} there (Get-KmStatus; Start-KmNode if the step stopped it), " +
                   "then run the same command again to resume. Nodes not listed as done were not touched.";
        if (step!.Action == "Start" && target.Liveness == NodeLiveness.Running && target.RunsNewVersion == false && !done.Contains("Start"))
            return $"{node} was started outside this run after its stop, and runs another version than the new one: the state it rebuilt since its wipe is sealed by that version's enclave. " +
                   "Run the same command again to resume: the run stops it, wipes it again and starts it on the new bundle. Nodes of the other half were not touched.";
        if (step!.Action == "Start")
            return $"{node} did not come up on the new version: its config points at the new bundle and its old state was moved aside " +
                   "(it may be stopped, or running and failing). Pipe its node to Find-KmUpgradeProblem, or read its log, to see why. Fix the cause and run the same " +
                   "command again to resume; to roll back before the upgrade epoch instead: Stop-KmNode, Clear-KmLocalState -Delete (the state the new enclave started holds no key before the upgrade epoch; -Delete keeps the old backup the newest), Restore-KmLocalState, Set-KmRuntimeBundle with the old ORC, Start-KmNode. " +
                   "Nodes of the other half were not touched.";
        // A node the run stopped may be running again (started by hand, or by its service manager): the advice says what it sees.
        var running = target.Liveness == NodeLiveness.Running;
        if (done.Contains("Wipe") && !done.Contains("Start"))
            return running
                ? $"{node}'s old state was moved aside, but it is running again (started outside this run, on the bundle its config names). " +
                  "Run the same command again to resume: the run stops it and does its steps again."
                : $"{node} is stopped and its old state was moved aside. Fix the cause and run the same command again to resume; " +
                  "to roll back before the upgrade epoch instead: Restore-KmLocalState, Set-KmRuntimeBundle with the old ORC, Start-KmNode.";
        if (done.Contains("Stop") && !done.Contains("Wipe"))
            return running
                ? $"{node} is running again with its state and bundle unchanged (started outside this run after its stop): it is in service on the old version. " +
                  "Run the same command again to resume: the run stops it again first."
                : $"{node} is stopped with its state and bundle unchanged. Start it again (Start-KmNode) to return it to service on the old version, or fix the cause and run the same command again to resume.";
        if (done.Contains("Start"))
            return $"{node} runs the new version but is not verified. Check Find-KmUpgradeProblem and its status; run the same command again to resume. " +
                   "Nodes of the other half were not touched.";
        return $"fix the cause and run the same command again to resume; nothing on {node} was changed by this step.";
    }
}
