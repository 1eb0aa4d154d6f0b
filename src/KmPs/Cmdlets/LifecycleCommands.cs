using System.Diagnostics;
using System.Management.Automation;
using KmPs.Control;
using KmPs.Inventory;
using KmPs.Lifecycle;
using KmPs.Remoting;

namespace KmPs.Cmdlets;

/// <summary>Shared by Stop-KmNode and Start-KmNode: run the node's lifecycle, then watch its socket.</summary>
public abstract class KmLifecycleCommand : KmCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [ValidateNotNull]
    public KmNode[] Node { get; set; } = Array.Empty<KmNode>();

    [Parameter]
    [ValidateRange(1, 7200)]
    public int TimeoutSec { get; set; } = 120;

    protected string Method(KmNode node, string verb) => node.Lifecycle switch
    {
        LifecycleKind.Systemd => $"systemctl {verb} {node.Unit}",
        LifecycleKind.Script => $"its {verb} script",
        _ => "none",
    };

    /// <summary>" on host" for a remote node, for the prompts.</summary>
    protected static string Where(KmNode node) =>
        node.IsRemote ? " on " + (KmRemoting.AsSession(node.Session) is { } s ? KmRemoting.Describe(s) : node.HostName) : "";

    /// <summary>
    /// A remote node: after the prompt here, the same command runs on the node's machine (systemctl
    /// and the scripts run there, the socket is watched there), without prompting again.
    /// </summary>
    protected void RunOnNodeMachine(KmNode node, string command, System.Collections.Hashtable parameters)
    {
        parameters["TimeoutSec"] = TimeoutSec;
        parameters["Confirm"] = false;
        WriteRemote(RunRemote(KmRemoting.SessionOf(node), node.Name, command, parameters, node), node.Name);
    }

    /// <summary>Runs systemctl or the node's script block on the pipeline thread.</summary>
    protected void RunLifecycle(KmNode node, string verb)
    {
        switch (node.Lifecycle)
        {
            case LifecycleKind.Systemd:
                Await(Systemctl.RunAsync(verb, node.Unit!, TimeSpan.FromSeconds(TimeoutSec), Stopping));
                break;
            case LifecycleKind.Script:
                var text = verb == "stop" ? node.StopScript : node.StartScript;
                try
                {
                    InvokeCommand.InvokeScript(SessionState, ScriptBlock.Create(text!), node);
                }
                catch (RuntimeException e) when (e is not PipelineStoppedException)
                {
                    throw new KmException("LifecycleScriptFailed", KmErrorCategory.InvalidOperation,
                        $"The {verb} script of node '{node.Name}' failed: {e.Message}", node.Name, e);
                }
                break;
            default:
                throw new KmException("NoLifecycle", KmErrorCategory.InvalidOperation,
                    $"Node '{node.Name}' has no lifecycle (systemd unit or start/stop scripts); the module cannot {verb} it.", node.Name)
                {
                    RecommendedAction = "Give the node -SystemdUnit or -StartScript/-StopScript in New-KmNode or the inventory file.",
                };
        }
    }

    /// <summary>Polls the socket until it is silent (stop) or answers (start), with progress; cancellable.</summary>
    protected void WaitForSocket(KmNode node, bool wantAnswering, Stopwatch sw, string activity)
    {
        var address = SocketAddress.Parse(node.Socket);
        var deadline = TimeSpan.FromSeconds(TimeoutSec);
        string last = "";
        while (true)
        {
            var liveness = Await(ControlClient.ProbeAsync(address, TimeSpan.FromSeconds(2), Stopping));
            last = liveness.Detail;
            if (wantAnswering ? liveness.Answering : liveness.Silent) break;
            if (sw.Elapsed > deadline)
            {
                WriteProgress(new ProgressRecord(1, activity, "timed out") { RecordType = ProgressRecordType.Completed });
                throw new KmException(wantAnswering ? "StartTimeout" : "StopTimeout", KmErrorCategory.OperationTimeout,
                    $"Node '{node.Name}' did not {(wantAnswering ? "answer on" : "go silent on")} {address.Path} within {TimeoutSec} s (last seen: {last}).", node.Name);
            }
            WriteProgress(new ProgressRecord(1, activity, $"{node.Name}: waiting for the control socket to {(wantAnswering ? "answer" : "go silent")} ({last})")
            {
                SecondsRemaining = (int)Math.Max(0, (deadline - sw.Elapsed).TotalSeconds),
                PercentComplete = (int)Math.Min(99, 100 * sw.Elapsed.TotalSeconds / deadline.TotalSeconds),
            });
            Stopping.WaitHandle.WaitOne(200);
            if (Stopping.IsCancellationRequested) throw new PipelineStoppedException();
        }
        WriteProgress(new ProgressRecord(1, activity, "done") { RecordType = ProgressRecordType.Completed });
    }
}

/// <summary>Stop-KmNode: stops a node through systemd or its stop script and confirms the socket went silent.</summary>
[Cmdlet(VerbsLifecycle.Stop, "KmNode", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(KmLifecycleResult))]
public sealed class StopKmNodeCommand : KmLifecycleCommand
{
    /// <summary>Stop through the control API (RequestShutdown): the node deregisters first, which can take about two epochs.</summary>
    [Parameter]
    public SwitchParameter UseControlApi { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var node in Node)
        {
            try
            {
                var method = UseControlApi ? "RequestShutdown through the control API" : Method(node, "stop");
                if (!ShouldProcess(node.Name, $"Stop the key manager node{Where(node)} ({method}) and wait until {node.Socket} stops answering")) continue;
                if (node.IsRemote)
                {
                    RunOnNodeMachine(node, "Stop-KmNode", UseControlApi ? new() { ["UseControlApi"] = true } : new());
                    continue;
                }
                var sw = Stopwatch.StartNew();
                if (UseControlApi)
                {
                    WriteWarning($"{node.Name}: RequestShutdown deregisters the node first (up to about two epochs) and sets a forced-deregister flag; " +
                                 "restarting it before that finishes needs 'oasis-node control clear-deregister'. Prefer the service manager.");
                    Await(ControlClient.For(SocketAddress.Parse(node.Socket)).RequestShutdownAsync(false, TimeSpan.FromSeconds(10), Stopping));
                }
                else RunLifecycle(node, "stop");
                WaitForSocket(node, wantAnswering: false, sw, $"Stopping {node.Name}");
                WriteObject(new KmLifecycleResult { Node = node.Name, Action = "Stop", Method = method, State = "Stopped", Duration = sw.Elapsed });
            }
            catch (KmException e) { WriteKmError(e, node.Name); }
        }
    }
}

/// <summary>Start-KmNode: starts a node through systemd or its start script and waits until its socket answers.</summary>
[Cmdlet(VerbsLifecycle.Start, "KmNode", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(KmLifecycleResult))]
public sealed class StartKmNodeCommand : KmLifecycleCommand
{
    protected override void ProcessRecord()
    {
        foreach (var node in Node)
        {
            try
            {
                var method = Method(node, "start");
                if (!ShouldProcess(node.Name, $"Start the key manager node{Where(node)} ({method}) and wait until {node.Socket} answers")) continue;
                if (node.IsRemote)
                {
                    RunOnNodeMachine(node, "Start-KmNode", new());
                    continue;
                }
                var sw = Stopwatch.StartNew();
                RunLifecycle(node, "start");
                WaitForSocket(node, wantAnswering: true, sw, $"Starting {node.Name}");
                WriteObject(new KmLifecycleResult { Node = node.Name, Action = "Start", Method = method, State = "Started", Duration = sw.Elapsed });
            }
            catch (KmException e) { WriteKmError(e, node.Name); }
        }
    }
}
