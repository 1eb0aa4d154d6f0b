using System.Management.Automation;
using System.Management.Automation.Runspaces;
using KmPs.Core.Control;
using KmPs.Core.Hosting;
using KmPs.Core.Status;
using KmPs.Core;

namespace KmPs.Cmdlets;

/// <summary>
/// A node given to a command that works on the whole set at once (waits, checks). A remote node
/// (with a session) keeps its socket as text: it is a path on its own machine.
/// </summary>
public sealed record CollectedNode(string Name, string Input, SocketAddress? Address, KmException? Error, INodeHost? Host = null)
{
    public bool Usable => Error is null && Host is not null;

    /// <summary>
    /// A node whose chain the epoch estimate may read directly through its socket: one this machine's
    /// own host serves. Another host put in place of this machine's (the schedule explorer's in-memory
    /// cluster) has no socket to read; its epochs come from the wait's own readings, as a remote node's do.
    /// </summary>
    public bool IsLocal => Host is LocalNodeHost;
}

/// <summary>
/// Base of the commands that take a set of nodes (sockets by value, or nodes by property name),
/// collect them all, and act on the set in EndProcessing. The decision over the set is made here;
/// each remote node's status is read on its machine through its session, all nodes concurrently.
/// </summary>
public abstract class KmNodeSetCommand : KmCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Address")]
    [ValidateNotNullOrEmpty]
    public string[] Socket { get; set; } = Array.Empty<string>();

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? Name { get; set; }

    /// <summary>The remoting session to the machine of these nodes (bound from remote inventory nodes).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public PSSession? Session { get; set; }

    protected List<CollectedNode> Nodes { get; } = new();

    protected override void ProcessRecord()
    {
        var host = HostOf(Session, Name);
        foreach (var s in Socket)
        {
            try
            {
                var a = host.Address(s);
                Nodes.Add(new CollectedNode(Socket.Length == 1 && !string.IsNullOrEmpty(Name) ? Name! : host.Machine.Length == 0 ? a.ToString() : s, s, a, null, host));
            }
            catch (KmException e) { Nodes.Add(new CollectedNode(s, s, null, e)); }
        }
    }

    /// <summary>A node's status, read by its host (here, or on its machine through its session).</summary>
    internal Task<KmStatus> ReadStatusAsync(CollectedNode n, TimeSpan timeout) => n.Host!.GetStatusAsync(n.Input, timeout, Stopping);
}
