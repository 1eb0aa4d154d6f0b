using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using KmPs.Control;
using KmPs.Remoting;
using KmPs.Status;

namespace KmPs.Cmdlets;

/// <summary>
/// Get-KmStatus: the control status of key manager nodes, as typed KmStatus objects or (-Raw) in
/// the JSON shape of `oasis-node control status`. Calls for all input run concurrently; output
/// keeps input order. Input with a -Session (a remote inventory node) is read on its machine
/// through that session; different sessions are read concurrently.
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
        if (Session is not null)
        {
            _pending.Enqueue(new Pending(string.Join(", ", Socket), FetchRemoteAsync(Session, Socket, Name)));
            Flush(waitForAll: false);
            return;
        }
        foreach (var input in Socket)
        {
            SocketAddress address;
            try { address = SocketAddress.Parse(input, CurrentDirectory); }
            catch (KmException e)
            {
                // Keep output order: an invalid address is reported in its place.
                _pending.Enqueue(new Pending(input, Task.FromResult<IReadOnlyList<object>>(new object[] { e })));
                continue;
            }
            var name = Socket.Length == 1 && !string.IsNullOrEmpty(Name) ? Name! : address.ToString();
            _pending.Enqueue(new Pending(input, One(FetchAsync(address, name))));
        }
        Flush(waitForAll: false);
    }

    protected override void EndProcessing() => Flush(waitForAll: true);

    private async Task<object> FetchAsync(SocketAddress address, string name)
    {
        var client = ControlClient.For(address);
        var timeout = TimeSpan.FromSeconds(TimeoutSec);
        var cbor = await client.GetStatusCborAsync(timeout, Stopping).ConfigureAwait(false);
        if (Raw) return JsonToPs.Convert(CliJson.Render(cbor))!;
        var status = ControlClient.ParseStatus(cbor, address);
        status.Name = name;
        return status;
    }

    private static async Task<IReadOnlyList<object>> One(Task<object> fetch)
    {
        try { return new[] { await fetch.ConfigureAwait(false) }; }
        catch (KmException e) { return new object[] { e }; }
    }

    /// <summary>The same command on the node's machine; the session's calls queue, other sessions run meanwhile.</summary>
    private async Task<IReadOnlyList<object>> FetchRemoteAsync(PSSession session, string[] sockets, string? name)
    {
        var parameters = new Hashtable { ["Socket"] = sockets, ["TimeoutSec"] = TimeoutSec };
        if (!string.IsNullOrEmpty(name)) parameters["Name"] = name;
        if (Raw) parameters["Raw"] = true;
        var who = string.IsNullOrEmpty(name) ? string.Join(", ", sockets) : name!;
        try
        {
            var run = await KmRemoting.RunCommandAsync(session, who, "Get-KmStatus", parameters, null, null, Stopping).ConfigureAwait(false);
            return run.Output.Where(o => o is not null).Cast<object>().Concat(run.Errors).ToList();
        }
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
