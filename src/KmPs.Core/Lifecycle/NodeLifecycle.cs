using KmPs.Core.Control;
using KmPs.Core.Hosting;
using KmPs.Core.Inventory;

namespace KmPs.Core.Lifecycle;

/// <summary>Stopping and starting a node on its machine: its service manager or scripts, then its socket watched.</summary>
public static class NodeLifecycle
{
    public const string ControlApiMethod = "RequestShutdown through the control API";

    /// <summary>How the node is stopped or started, for prompts and results.</summary>
    public static string Method(KmNode node, string verb) => node.Lifecycle switch
    {
        LifecycleKind.Systemd => $"systemctl {verb} {node.Unit}",
        LifecycleKind.Script => $"its {verb} script",
        _ => "none",
    };

    /// <summary>Runs systemctl, or the node's script through the caller's PowerShell.</summary>
    public static Task RunAsync(KmNode node, string verb, TimeSpan timeout, IHostEvents events, CancellationToken ct) => node.Lifecycle switch
    {
        LifecycleKind.Systemd => Systemctl.RunAsync(verb, node.Unit!, timeout, ct),
        LifecycleKind.Script => events.RunScriptAsync(verb == "stop" ? node.StopScript! : node.StartScript!, node, ct),
        _ => throw new KmException(KmPs.Core.Orchestration.PreflightErrorIds.NoLifecycle, KmErrorCategory.InvalidOperation,
            $"Node '{node.Name}' has no lifecycle (systemd unit or start/stop scripts); the module cannot {verb} it.", node.Name)
        {
            RecommendedAction = "Give the node -SystemdUnit or -StartScript/-StopScript in New-KmNode or the inventory file.",
        },
    };

    /// <summary>A node's start or stop script failed (run here, or on its machine through its session).</summary>
    public static KmException ScriptFailed(KmNode node, string script, Exception e) =>
        new(LifecycleErrorIds.LifecycleScriptFailed, KmErrorCategory.InvalidOperation,
            $"The {(script == node.StopScript ? "stop" : "start")} script of node '{node.Name}' failed: {e.Message}", node.Name, e);

    /// <summary>
    /// Polls the socket until it is silent (stop) or answers (start), reporting progress; cancellable.
    /// The timeout runs on the clock the pauses take (<see cref="Timing.PollClock"/>), so it expires in an in-memory cluster's time too.
    /// </summary>
    public static async Task WaitForSocketAsync(KmNode node, SocketAddress address, bool wantAnswering, Timing.PollTimer sw, TimeSpan timeout,
        IHostEvents events, CancellationToken ct)
    {
        var activity = $"{(wantAnswering ? "Starting" : "Stopping")} {node.Name}";
        while (true)
        {
            var liveness = await ControlClient.ProbeAsync(address, TimeSpan.FromSeconds(2), ct).ConfigureAwait(false);
            if (wantAnswering ? liveness.Answering : liveness.Silent) break;
            if (sw.Elapsed > timeout)
            {
                events.Progress(new HostProgress(1, activity, "timed out", Completed: true));
                throw new KmException(wantAnswering ? LifecycleErrorIds.StartTimeout : LifecycleErrorIds.StopTimeout, KmErrorCategory.OperationTimeout,
                    $"Node '{node.Name}' did not {(wantAnswering ? "answer on" : "go silent on")} {address.Path} within {(int)timeout.TotalSeconds} s (last seen: {liveness.Detail}).", node.Name);
            }
            events.Progress(new HostProgress(1, activity,
                $"{node.Name}: waiting for the control socket to {(wantAnswering ? "answer" : "go silent")} ({liveness.Detail})",
                (int)Math.Min(99, 100 * sw.Elapsed.TotalSeconds / timeout.TotalSeconds), (int)Math.Max(0, (timeout - sw.Elapsed).TotalSeconds)));
            await Timing.PollClock.PauseAsync(TimeSpan.FromMilliseconds(200), ct).ConfigureAwait(false);
            ct.ThrowIfCancellationRequested();
        }
        events.Progress(new HostProgress(1, activity, "done", Completed: true));
    }
}
