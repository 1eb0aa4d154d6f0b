using System.Management.Automation;
using KmPs.Core.Inventory;

namespace KmPs.Cmdlets;

/// <summary>Shared by Stop-KmNode and Start-KmNode: the nodes and how long to wait for their sockets.</summary>
public abstract class KmLifecycleCommand : KmCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [ValidateNotNull]
    public KmNode[] Node { get; set; } = Array.Empty<KmNode>();

    [Parameter]
    [ValidateRange(1, 7200)]
    public int TimeoutSec { get; set; } = 120;

    protected TimeSpan Timeout => TimeSpan.FromSeconds(TimeoutSec);

    /// <summary>" on host" for a node on another machine, for the prompts (before its session is used).</summary>
    protected static string Where(KmNode node) =>
        node.IsRemote ? " on " + (Remoting.KmRemoting.AsSession(node.Session) is { } s ? Remoting.KmRemoting.Describe(s) : node.HostName) : "";
}
