using System.Management.Automation;
using KmPs.Core.LocalState;
using KmPs.Core;

namespace KmPs.Cmdlets;

/// <summary>Get-KmLocalState: whether a node's sealed state is there and which backups exist (reads only).</summary>
[Cmdlet(VerbsCommon.Get, "KmLocalState")]
[OutputType(typeof(LocalStateInfo))]
public sealed class GetKmLocalStateCommand : KmLocalStateCommand
{
    protected override void ProcessRecord()
    {
        try
        {
            var host = NodeHost();
            var info = CallHost(_ => host.GetStateInfoAsync(StateRef with { Name = NodeName }, Stopping));
            WriteObject(info);
        }
        catch (KmException e) { WriteKmError(e, NodeName); }
    }
}
