using System.Management.Automation;
using System.Management.Automation.Runspaces;
using KmPs.Support;
using KmPs.Core.Control;
using KmPs.Core.Hosting;
using KmPs.Core.Status;
using KmPs.Core;

namespace KmPs.Cmdlets;

/// <summary>
/// Get-KmStatus: the control status of key manager nodes, as typed KmStatus objects or (-Raw) in
/// the JSON shape of `oasis-node control status`. Calls for all input run concurrently; output
/// keeps input order. Each node is read by its host: input with a -Session (a remote inventory
/// node) on its machine through that session; different sessions are read concurrently.
/// </summary>
[Cmdlet(VerbsCommon.Get, "KmStatus", DefaultParameterSetName = "Typed")]
[OutputType(typeof(KmStatus), ParameterSetName = new[] { "Typed" })]
[OutputType(typeof(PSObject), ParameterSetName = new[] { "Raw" })]
public sealed class GetKmStatusCommand : KmCmdlet
{
    /// <summary>unix:/path/internal.sock, a socket path or a data dir.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Address", "FullName")]
    [ValidateNotNullOrEmpty]
    public string[] Socket { get; set; } = Array.Empty<string>();

    /// <summary>Display name for the node (bound from inventory objects).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("NodeName")]
    public string? Name { get; set; }

    [Parameter(ParameterSetName = "Raw", Mandatory = true)]
    public SwitchParameter Raw { get; set; }

    [Parameter]
    [ValidateRange(1, 3600)]
    public int TimeoutSec { get; set; } = 10;

    /// <summary>The remoting session to the node's machine (bound from remote inventory nodes).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public PSSession? Session { get; set; }

    private readonly Queue<Pending> _pending = new();

    /// <summary>One input's results in order: objects to write, or KmExceptions to report in their place.</summary>
    private sealed record Pending(string Input, Task<IReadOnlyList<object>> Result);

    protected override void ProcessRecord()
    {
        var host = HostOf(Session, Name);
        foreach (var input in Socket)
        {
            SocketAddress address;
            try { address = host.Address(input); }
            catch (KmException e)
            {
                // Keep output order: an invalid address is reported in its place.
                _pending.Enqueue(new Pending(input, Task.FromResult<IReadOnlyList<object>>(new object[] { e })));
                continue;
            }
            var name = Socket.Length == 1 && !string.IsNullOrEmpty(Name) ? Name! : address.ToString();
            _pending.Enqueue(new Pending(input, One(FetchAsync(host, input, address, name))));
        }
        Flush(waitForAll: false);
    }

    protected override void EndProcessing() => Flush(waitForAll: true);

    /// <summary>Read where the node runs (the session's calls queue, other sessions and local nodes run meanwhile), parsed here.</summary>
    private async Task<object> FetchAsync(INodeHost host, string socket, SocketAddress address, string name)
    {
        var read = await host.GetStatusCborAsync(socket, TimeSpan.FromSeconds(TimeoutSec), Stopping).ConfigureAwait(false);
        if (Raw) return JsonToPs.Convert(CliJson.Render(read.Status))!;
        var status = ControlClient.ParseStatus(read.Status, address);
        status.RetrievedAt = read.ReadAt;
        status.Name = name;
        return status;
    }

    private static async Task<IReadOnlyList<object>> One(Task<object> fetch)
    {
        try { return new[] { await fetch.ConfigureAwait(false) }; }
        catch (KmException e) { return new object[] { e }; }
    }

    /// <summary>Writes finished results in input order, on the pipeline thread.</summary>
    private void Flush(bool waitForAll)
    {
        while (_pending.Count > 0)
        {
            var next = _pending.Peek();
            if (!waitForAll && !next.Result.IsCompleted) return;
            _pending.Dequeue();
            foreach (var item in Await(next.Result))
            {
                if (item is KmException e) WriteKmError(e, next.Input);
                else WriteObject(item);
            }
        }
    }
}
