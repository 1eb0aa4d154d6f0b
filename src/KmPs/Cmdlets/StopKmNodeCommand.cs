using System.Management.Automation;
using KmPs.Core.Inventory;
using KmPs.Core.Lifecycle;
using KmPs.Core;

namespace KmPs.Cmdlets;

/// <summary>Stop-KmNode: stops a node through systemd or its stop script (where it runs) and confirms the socket went silent.</summary>
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
                var method = UseControlApi ? NodeLifecycle.ControlApiMethod : NodeLifecycle.Method(node, "stop");
                if (!ShouldProcess(node.Name, $"Stop the key manager node{Where(node)} ({method}) and wait until {node.Socket} stops answering")) continue;
                var host = HostOf(node);
                WriteObject(CallHost(events => host.StopAsync(node, UseControlApi, Timeout, events, Stopping)));
            }
            catch (KmException e) { WriteKmError(e, node.Name); }
        }
    }
}
