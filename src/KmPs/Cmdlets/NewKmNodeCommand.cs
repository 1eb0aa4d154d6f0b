using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using System.Management.Automation.Runspaces;
using KmPs.Core.Inventory;
using KmPs.Remoting;
using KmPs.Core;

namespace KmPs.Cmdlets;

/// <summary>New-KmNode: one inventory node, validated.</summary>
[Cmdlet(VerbsCommon.New, "KmNode", DefaultParameterSetName = "NoLifecycle")]
[OutputType(typeof(KmNode))]
public sealed class NewKmNodeCommand : KmCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = "";

    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string DataDir { get; set; } = "";

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? Socket { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? ConfigPath { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? RuntimeId { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? LogPath { get; set; }

    [Parameter(Mandatory = true, ParameterSetName = "Systemd", ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string? SystemdUnit { get; set; }

    [Parameter(Mandatory = true, ParameterSetName = "Script")]
    public ScriptBlock? StartScript { get; set; }

    [Parameter(Mandatory = true, ParameterSetName = "Script")]
    public ScriptBlock? StopScript { get; set; }

    /// <summary>The remoting session to the node's machine: the node is remote, its paths are paths there.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public PSSession? Session { get; set; }

    protected override void ProcessRecord()
    {
        // A remote node's paths are the other machine's: nothing here resolves them.
        string? Local(string? p) => p is null || Session is not null ? p : ResolvePath(p);
        var node = new KmNode
        {
            Name = Name, DataDir = Local(DataDir)!, Socket = Socket ?? "", ConfigPath = Local(ConfigPath),
            RuntimeId = RuntimeId, LogPath = Local(LogPath),
            Lifecycle = ParameterSetName switch { "Systemd" => LifecycleKind.Systemd, "Script" => LifecycleKind.Script, _ => LifecycleKind.None },
            Unit = SystemdUnit, StartScript = StartScript?.ToString(), StopScript = StopScript?.ToString(),
            Session = Session, HostName = Session is null ? null : KmRemoting.Describe(Session),
        };
        try
        {
            node.Validate(CurrentDirectory);
            // Completed where it runs: a remote node's config is read on its machine, with the same checks.
            WriteObject(Await(HostOf(node).CompleteNodeAsync(node, Stopping)));
        }
        catch (KmException e) { WriteKmError(e, Name); }
    }
}
