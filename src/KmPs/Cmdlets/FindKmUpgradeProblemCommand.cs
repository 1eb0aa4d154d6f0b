using System.Management.Automation;
using System.Management.Automation.Runspaces;
using KmPs.Core.Control;
using KmPs.Core.Diagnosis;
using KmPs.Core.Replication;
using KmPs.Core.Timing;
using KmPs.Core.Status;
using KmPs.Core;

namespace KmPs.Cmdlets;

/// <summary>Find-KmUpgradeProblem: known key manager failures in a node's log, each with its fix.</summary>
[Cmdlet(VerbsCommon.Find, "KmUpgradeProblem")]
[OutputType(typeof(UpgradeProblem))]
public sealed class FindKmUpgradeProblemCommand : KmCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("LogPath", "FullName")]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? Name { get; set; }

    /// <summary>Read only the last N lines (logs of long-running nodes are large).</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int Tail { get; set; } = 100_000;

    /// <summary>The remoting session to the node's machine, where the log is read (bound from remote inventory nodes).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public PSSession? Session { get; set; }

    protected override void ProcessRecord()
    {
        try
        {
            var host = HostOf(Session, Name);
            var path = host.Machine.Length == 0 ? ResolvePath(Path) : Path;
            var scan = CallHost(_ => host.ScanLogAsync(path, Name, Tail, Stopping));
            WriteVerbose($"{scan.Path}{OnMachine(host)}: {scan.LinesRead} lines read, {scan.Problems.Length} known problem(s).");
            WriteObject(scan.Problems, true);
        }
        catch (KmException e) { WriteKmError(e, Path); }
    }
}
