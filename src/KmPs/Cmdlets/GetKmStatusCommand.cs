using System.Management.Automation;
using KmPs.Control;
using KmPs.Status;

namespace KmPs.Cmdlets;

/// <summary>
/// Get-KmStatus: the control status of key manager nodes, as typed KmStatus objects or (-Raw) in
/// the JSON shape of `oasis-node control status`. Calls for all input run concurrently; output
/// keeps input order.
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

    private readonly Queue<Pending> _pending = new();

    private sealed record Pending(string Input, string Name, Task<object> Result);

    protected override void ProcessRecord()
    {
        foreach (var input in Socket)
        {
            SocketAddress address;
            try { address = SocketAddress.Parse(input, CurrentDirectory); }
            catch (KmException e)
            {
                // Keep output order: an invalid address is reported in its place.
                _pending.Enqueue(new Pending(input, input, Task.FromException<object>(e)));
                continue;
            }
            var name = Socket.Length == 1 && !string.IsNullOrEmpty(Name) ? Name! : address.ToString();
            _pending.Enqueue(new Pending(input, name, FetchAsync(address, name)));
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

    /// <summary>Writes finished results in input order, on the pipeline thread.</summary>
    private void Flush(bool waitForAll)
    {
        while (_pending.Count > 0)
        {
            var next = _pending.Peek();
            if (!waitForAll && !next.Result.IsCompleted) return;
            _pending.Dequeue();
            try { WriteObject(Await(next.Result)); }
            catch (KmException e) { WriteKmError(e, next.Input); }
        }
    }
}
