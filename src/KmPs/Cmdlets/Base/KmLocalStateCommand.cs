using System.Management.Automation;
using System.Management.Automation.Runspaces;
using KmPs.Core.Hosting;

namespace KmPs.Cmdlets;

/// <summary>The node a local state command works on, bound from inventory nodes by property name.</summary>
public abstract class KmLocalStateCommand : KmCmdlet
{
    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [AllowEmptyString]
    public string DataDir { get; set; } = "";

    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [AllowEmptyString]
    public string RuntimeId { get; set; } = "";

    /// <summary>The node's own control socket; defaults to where -ConfigPath puts it, else &lt;DataDir&gt;/internal.sock.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? Socket { get; set; }

    /// <summary>The node's config file: says where its socket is (common.internal_socket_path) and must name the same data dir.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? ConfigPath { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? Name { get; set; }

    /// <summary>The remoting session to the node's machine, where its state is (bound from remote inventory nodes).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public PSSession? Session { get; set; }

    /// <summary>The node as its host takes it.</summary>
    protected NodeStateRef StateRef => new(DataDir, RuntimeId, string.IsNullOrWhiteSpace(Socket) ? null : Socket, ConfigPath, Name);

    protected string NodeName => string.IsNullOrEmpty(Name) ? DataDir : Name!;

    /// <summary>The node's host; a socket given for a node on another machine must be absolute there (checked before anything is read).</summary>
    protected INodeHost NodeHost()
    {
        var host = HostOf(Session, Name);
        if (!string.IsNullOrWhiteSpace(Socket)) host.Address(Socket);
        return host;
    }
}
