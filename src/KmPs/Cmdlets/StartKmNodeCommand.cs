using System.Management.Automation;
using KmPs.Core.Inventory;
using KmPs.Core.Lifecycle;
using KmPs.Core;

namespace KmPs.Cmdlets;

/// <summary>Start-KmNode: starts a node through systemd or its start script (where it runs) and waits until its socket answers.</summary>
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
                if (!ShouldProcess(node.Name, $"Start the key manager node{Where(node)} ({NodeLifecycle.Method(node, "start")}) and wait until {node.Socket} answers")) continue;
                var host = HostOf(node);
                WriteObject(CallHost(events => host.StartAsync(node, Timeout, events, Stopping)));
            }
            catch (KmException e) { WriteKmError(e, node.Name); }
        }
    }
}
