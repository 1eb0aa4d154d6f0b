using System.Management.Automation;
using System.Management.Automation.Runspaces;
using KmPs.Core.Control;
using KmPs.Core.Hosting;
using KmPs.Core.Policy;
using KmPs.Support;
using KmPs.Core.Status;
using KmPs.Core.Wire;
using KmPs.Core;

namespace KmPs.Cmdlets;

/// <summary>
/// Get-KmPolicy: the key manager policy from the consensus key manager status (KeyManagerClient),
/// one row per enclave of the policy in effect and of the next one (25.6+), or -Raw the status as
/// oasis-node's JSON. The policy is chain state, the same from every node: the first node that
/// answers gives it, so an inventory can be piped in whole.
/// </summary>
[Cmdlet(VerbsCommon.Get, "KmPolicy", DefaultParameterSetName = "Typed")]
[OutputType(typeof(KmPolicyEntry), ParameterSetName = new[] { "Typed" })]
[OutputType(typeof(PSObject), ParameterSetName = new[] { "Raw" })]
public sealed class GetKmPolicyCommand : KmCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Address")]
    [ValidateNotNullOrEmpty]
    public string Socket { get; set; } = "";

    /// <summary>Default: the node's own key manager runtime id (from its status).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? RuntimeId { get; set; }

    [Parameter(ParameterSetName = "Raw", Mandatory = true)]
    public SwitchParameter Raw { get; set; }

    [Parameter]
    [ValidateRange(1, 3600)]
    public int TimeoutSec { get; set; } = 10;

    /// <summary>The remoting session to the node's machine (bound from remote inventory nodes).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public PSSession? Session { get; set; }

    private bool _done;

    protected override void ProcessRecord()
    {
        if (_done) return;
        var timeout = TimeSpan.FromSeconds(TimeoutSec);
        try
        {
            var requested = RuntimeId is null ? null : KmPs.Core.LocalState.KeyManagerRuntimeId.Validate(RuntimeId);
            var host = HostOf(Session, Socket);
            var source = host.Address(Socket) + OnMachine(host);
            var id = requested ?? Await(host.GetStatusAsync(Socket, timeout, Stopping)).RuntimeId ?? throw NoKeyManager(source);
            var answer = Await(host.GetKeyManagerStatusAsync(Socket, id, timeout, Stopping));
            if (Raw)
            {
                CborNode tree;
                try { tree = CborCodec.Decode(answer.Cbor); }
                catch (CborDecodeException e) { throw new KmException(PolicyErrorIds.KeyManagerStatusShapeUnknown, KmErrorCategory.InvalidData, $"The key manager status from {source} is not valid CBOR: {e.Message}", source, e); }
                _done = true;
                WriteObject(JsonToPs.Convert(CliJson.RenderKeyManagerStatus(tree)));
                return;
            }
            var status = answer.Parse(source);
            _done = true;
            WriteVerbose($"{source} answered {answer.Service}/GetStatus at epoch {answer.Epoch}" +
                         (status.NextPolicy is null ? "." : $"; the next policy (serial {status.NextPolicy.Serial}) applies at epoch {status.NextPolicyEpoch}."));
            if (status.Policy is null && status.NextPolicy is null)
                WriteWarning($"The key manager {status.RuntimeId} has no policy{(status.IsSecure ? "" : " (it is not secure: its debug enclaves skip the policy)")}.");
            WriteObject(KmPolicyEntry.Of(status), true);
        }
        catch (KmException e) { WriteKmError(e, Socket); }
    }

    private static KmException NoKeyManager(string source) =>
        new(StatusErrorIds.NoKeyManagerRuntime, KmErrorCategory.InvalidOperation, $"{source} runs no key manager; give -RuntimeId.", source);
}
