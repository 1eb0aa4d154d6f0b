using System.Management.Automation;
using KmPs.Control;

namespace KmPs.Cmdlets;

/// <summary>A node given to a command that works on the whole set at once (waits, checks).</summary>
public sealed record CollectedNode(string Name, string Input, SocketAddress? Address, KmException? Error);

/// <summary>
/// Base of the commands that take a set of nodes (sockets by value, or nodes by property name),
/// collect them all, and act on the set in EndProcessing.
/// </summary>
public abstract class KmNodeSetCommand : KmCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Address")]
    [ValidateNotNullOrEmpty]
    public string[] Socket { get; set; } = Array.Empty<string>();

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? Name { get; set; }

    protected List<CollectedNode> Nodes { get; } = new();

    protected override void ProcessRecord()
    {
        foreach (var s in Socket)
        {
            try
            {
                var a = SocketAddress.Parse(s, CurrentDirectory);
                Nodes.Add(new CollectedNode(Socket.Length == 1 && !string.IsNullOrEmpty(Name) ? Name! : a.ToString(), s, a, null));
            }
            catch (KmException e) { Nodes.Add(new CollectedNode(s, s, null, e)); }
        }
    }
}
