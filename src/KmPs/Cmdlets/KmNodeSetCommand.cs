using System.Management.Automation;
using System.Management.Automation.Runspaces;
using KmPs.Control;
using KmPs.Remoting;
using KmPs.Status;

namespace KmPs.Cmdlets;

/// <summary>
/// A node given to a command that works on the whole set at once (waits, checks). A remote node
/// (with a session) keeps its socket as text: it is a path on its own machine.
/// </summary>
public sealed record CollectedNode(string Name, string Input, SocketAddress? Address, KmException? Error, PSSession? Session = null)
{
    public bool Usable => Error is null && (Address is not null || Session is not null);
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
        foreach (var s in Socket)
        {
            if (Session is not null)
            {
                Nodes.Add(new CollectedNode(Socket.Length == 1 && !string.IsNullOrEmpty(Name) ? Name! : s, s, null, null, Session));
                continue;
            }
            try
            {
                var a = SocketAddress.Parse(s, CurrentDirectory);
                Nodes.Add(new CollectedNode(Socket.Length == 1 && !string.IsNullOrEmpty(Name) ? Name! : a.ToString(), s, a, null));
            }
            catch (KmException e) { Nodes.Add(new CollectedNode(s, s, null, e)); }
        }
    }

    /// <summary>A node's status: over its socket here, or on its machine through its session.</summary>
    internal Task<KmStatus> ReadStatusAsync(CollectedNode n, TimeSpan timeout) =>
        n.Session is not null
            ? KmRemoting.StatusAsync(n.Session, n.Name, n.Input, timeout, Stopping)
            : ControlClient.For(n.Address!).GetStatusAsync(timeout, Stopping);
}
