using System.Diagnostics;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using KmPs.Core.Hosting;
using KmPs.Core.Control;
using KmPs.Remoting;
using KmPs.Core.Replication;
using KmPs.Core.Status;
using KmPs.Core.Timing;
using KmPs.Core;

namespace KmPs.Cmdlets;

/// <summary>Get-KmUpgradeEpoch: the KM runtime's deployments (Registry/GetRuntime) and when a version becomes active.</summary>
[Cmdlet(VerbsCommon.Get, "KmUpgradeEpoch")]
[OutputType(typeof(KmDeployment))]
public sealed class GetKmUpgradeEpochCommand : KmCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Address")]
    [ValidateNotNullOrEmpty]
    public string Socket { get; set; } = "";

    /// <summary>Default: the node's own KM runtime id from its status.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? RuntimeId { get; set; }

    /// <summary>Only this version's deployment; an error if the version is not deployed.</summary>
    [Parameter(Position = 1)]
    public string? Version { get; set; }

    /// <summary>The remoting session to the node's machine (bound from remote inventory nodes).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public PSSession? Session { get; set; }

    private bool _done;

    protected override void ProcessRecord()
    {
        // One answer per call: the deployments are chain state, the same from every node.
        if (_done) return;
        try
        {
            var host = HostOf(Session, Socket);
            var address = host.Address(Socket);
            var status = Await(host.GetStatusAsync(Socket, TimeSpan.FromSeconds(10), Stopping));
            var id = RuntimeId is null ? status.RuntimeId : KmPs.Core.LocalState.KeyManagerRuntimeId.Validate(RuntimeId);
            if (id is null)
                throw new KmException(StatusErrorIds.NoKeyManagerRuntime, KmErrorCategory.InvalidOperation, $"{address}{OnMachine(host)} runs no key manager; give -RuntimeId.", Socket);
            var runtime = Await(host.GetRuntimeAsync(Socket, id, TimeSpan.FromSeconds(10), Stopping));
            var active = runtime.ActiveAt(status.Epoch);
            var list = runtime.Deployments.Select(d => new KmDeployment
            {
                RuntimeId = runtime.Id, Version = d.Version.ToString(), ValidFrom = d.ValidFrom, CurrentEpoch = status.Epoch,
                IsActive = ReferenceEquals(d, active), BundleChecksum = d.BundleChecksum, Enclaves = d.Enclaves,
            }).ToList();
            _done = true;
            if (Version is null) { WriteObject(list, true); return; }
            if (!OasisVersion.TryParse(Version, out var v))
                throw new KmException(KmPs.Core.Bundles.Download.DownloadErrorIds.InvalidVersion, KmErrorCategory.InvalidArgument, $"'{Version}' is not a version (e.g. 0.6.0).", Version);
            var match = list.FirstOrDefault(d => d.Version == v.ToString())
                        ?? throw new KmException(KmPs.Core.Bundles.DeploymentErrorIds.VersionNotDeployed, KmErrorCategory.ObjectNotFound,
                            $"Version {v} is not in the deployments of {runtime.Id} (deployed: {string.Join(", ", list.Select(d => $"{d.Version}@{d.ValidFrom}"))}).", Version)
                        {
                            RecommendedAction = "The runtime owner must register a deployment of this version before any node can run it.",
                        };
            WriteObject(match);
        }
        catch (KmException e) { WriteKmError(e, Socket); }
    }
}
