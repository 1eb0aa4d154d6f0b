using System.Management.Automation;
using KmPs.Core.Hosting;
using KmPs.Core.LocalState;
using KmPs.Remoting;
using KmPs.Core.Status;
using KmPs.Core;

namespace KmPs.Cmdlets;

/// <summary>
/// Clear-KmLocalState: the guarded wipe of a stopped key manager node's sealed state
/// (design invariants 1-4). Moves the folder aside by default; -Delete removes it for good.
/// The same steps for a node here and on another machine: its host resolves the state and checks
/// the node stopped where it runs, the staying peers are read where they run, and the host's one
/// wipe (LocalNodeHost.WipeAsync, on the node's machine) does it.
/// </summary>
[Cmdlet(VerbsCommon.Clear, "KmLocalState", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(LocalStateRecord))]
public sealed class ClearKmLocalStateCommand : KmLocalStateCommand
{
    /// <summary>Nodes that stay untouched and must be ready with one checksum: sockets, data dirs or KmNode objects.</summary>
    [Parameter(Mandatory = true)]
    [ValidateNotNullOrEmpty]
    public object[] RequirePeer { get; set; } = Array.Empty<object>();

    [Parameter]
    public SwitchParameter Delete { get; set; }

    [Parameter]
    public SwitchParameter Force { get; set; }

    [Parameter]
    [ValidateRange(1, 600)]
    public int TimeoutSec { get; set; } = 10;

    private TimeSpan Timeout => TimeSpan.FromSeconds(TimeoutSec);

    protected override void ProcessRecord()
    {
        try
        {
            var host = NodeHost();
            var node = StateRef;
            var peers = StayingPeer.From(RequirePeer, CurrentDirectory);
            var state = CallHost(_ => host.ResolveStateAsync(node, Stopping));
            var where = OnMachine(host);
            if (!state.Exists)
            {
                WriteVerbose($"{NodeName}: {state.StorageDir}{where} does not exist; nothing to wipe.");
                WriteObject(CallHost(_ => host.WipeAsync(new WipeRequest(node, Delete, ExpectAbsent: true, Timeout), Stopping)));
                return;
            }
            var check = Guard(host, state.Socket, peers);
            var what = Delete
                ? $"Permanently delete the sealed key manager state {state.StorageDir}{where}"
                : $"Move the sealed key manager state {state.StorageDir}{where} aside to {LocalStateWiper.BackupName(DateTimeOffset.UtcNow)}";
            if (!ShouldProcess(NodeName, $"{what} (node stopped; {check.Peers.Count} staying peer(s) ready with checksum {Hex.Short(check.PeerChecksum)})")) return;
            if (Delete && !Force && !ShouldContinue(
                    $"{state.StorageDir}{where} will be deleted with no backup. The old enclave on {(where.Length == 0 ? "this" : "that")} CPU could not roll back. Continue?",
                    "Delete key manager state permanently"))
                return;
            // The prompt may have taken minutes: the peers are checked again right before, and the
            // node's host checks the node stopped at the last moment, then moves it holding its DB lock.
            check = Guard(host, state.Socket, peers);
            var record = CallHost(_ => host.WipeAsync(new WipeRequest(node with { Socket = state.Socket }, Delete, ExpectAbsent: false, Timeout), Stopping));
            WriteObject(new LocalStateRecord
            {
                Node = record.Node, DataDir = record.DataDir, RuntimeId = record.RuntimeId, Path = record.Path, Action = record.Action,
                BackupPath = record.BackupPath, Time = record.Time, PeerChecksum = check.PeerChecksum,
                VerifiedPeers = check.Peers.Select(p => p.Socket).ToArray(),
            });
        }
        catch (KmException e) { WriteKmError(e, Name ?? DataDir); }
    }

    /// <summary>Invariants 1 and 2: the node stopped (seen on its machine), the staying peers ready with one checksum (each read where it runs).</summary>
    private WipeCheck Guard(INodeHost host, string socket, IReadOnlyList<StayingPeer> peers)
    {
        var stop = CallHost(_ => host.CheckStoppedAsync(socket, Timeout, Stopping));
        var others = peers.Where(p => !p.SameNode(host, socket)).DistinctBy(p => p.Display).ToList();
        var read = Await(Task.WhenAll(others.Select(p => p.ReadAsync(Timeout, Stopping))));
        // A peer that looks stale only against a newer epoch read after it is read again: now the
        // newer epoch precedes its read, so a stalled peer stays stale and a slow read does not.
        var suspects = WipeGuard.Suspects(read).Select(p => p.Socket).ToHashSet();
        if (suspects.Count > 0)
            read = Await(Task.WhenAll(others.Zip(read).Select(x => suspects.Contains(x.Second.Socket) ? x.First.ReadAsync(Timeout, Stopping) : Task.FromResult(x.Second))));
        var check = WipeGuard.Evaluate(stop, peers.Any(p => p.SameNode(host, socket)), read, KeyManagerRuntimeId.Validate(RuntimeId));
        foreach (var p in check.Peers) WriteVerbose($"peer {p.Socket}: {p.Status ?? "unreadable"} {p.Checksum ?? p.Error}");
        WriteVerbose($"node {socket}{OnMachine(host)}: {check.NodeState}");
        if (!check.Ok)
            throw new KmException(LocalStateErrorIds.WipeRefused, KmErrorCategory.InvalidOperation,
                "Refusing to wipe: " + string.Join("; ", check.Problems) + ".", socket)
            {
                RecommendedAction = "Stop the node, and name staying peers that are ready with one checksum in -RequirePeer.",
            };
        return check;
    }
}
