using System.Management.Automation;
using KmPs.Control;
using KmPs.Inventory;
using KmPs.LocalState;
using KmPs.Status;

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

    /// <summary>The node's own control socket; defaults to &lt;DataDir&gt;/internal.sock.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? Socket { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? Name { get; set; }
}

/// <summary>
/// Clear-KmLocalState: the guarded wipe of a stopped key manager node's sealed state
/// (design invariants 1-4). Moves the folder aside by default; -Delete removes it for good.
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

    protected override void ProcessRecord()
    {
        try { Wipe(); }
        catch (KmException e) { WriteKmError(e, Name ?? DataDir); }
        catch (IOException e) { WriteKmError(new KmException("WipeFailed", KmErrorCategory.WriteError, $"The wipe failed: {e.Message}", DataDir, e)); }
        catch (UnauthorizedAccessException e) { WriteKmError(new KmException("WipeFailed", KmErrorCategory.PermissionDenied, $"The wipe failed: {e.Message}", DataDir, e)); }
    }

    private void Wipe()
    {
        var path = LocalStatePath.Resolve(DataDir, RuntimeId);
        var node = NodeSocket(Socket, path.DataDir, CurrentDirectory);
        var peers = PeerSockets(RequirePeer, CurrentDirectory);
        var name = string.IsNullOrEmpty(Name) ? path.DataDir : Name!;
        if (!path.Exists)
        {
            WriteVerbose($"{name}: {path.StorageDir} does not exist; nothing to wipe.");
            WriteObject(LocalStateWiper.MoveAside(path, name, DateTimeOffset.UtcNow));
            return;
        }
        var check = Guard(node, peers);
        var action = Delete
            ? $"Permanently delete the sealed key manager state {path.StorageDir} (node stopped; {check.Peers.Count} staying peer(s) ready with checksum {Hex.Short(check.PeerChecksum)})"
            : $"Move the sealed key manager state {path.StorageDir} aside to {LocalStateWiper.BackupName(DateTimeOffset.UtcNow)} (node stopped; {check.Peers.Count} staying peer(s) ready with checksum {Hex.Short(check.PeerChecksum)})";
        if (!ShouldProcess(name, action)) return;
        if (Delete && !Force && !ShouldContinue(
                $"{path.StorageDir} will be deleted with no backup. The old enclave on this CPU could not roll back. Continue?",
                "Delete key manager state permanently"))
            return;
        // The prompt may have taken minutes: check again right before touching anything (the
        // slow network checks first, then the path, then the wipe, which also takes the DB lock).
        check = Guard(node, peers);
        path = LocalStatePath.Resolve(DataDir, RuntimeId);
        var record = Delete ? LocalStateWiper.Delete(path, name) : LocalStateWiper.MoveAside(path, name, DateTimeOffset.UtcNow);
        WriteObject(new LocalStateRecord
        {
            Node = record.Node, DataDir = record.DataDir, RuntimeId = record.RuntimeId, Path = record.Path, Action = record.Action,
            BackupPath = record.BackupPath, Time = record.Time, PeerChecksum = check.PeerChecksum,
            VerifiedPeers = check.Peers.Select(p => p.Socket).ToArray(),
        });
    }

    private WipeCheck Guard(SocketAddress node, IReadOnlyList<SocketAddress> peers)
    {
        var check = Await(WipeGuard.CheckAsync(node, peers, KeyManagerRuntimeId.Validate(RuntimeId), TimeSpan.FromSeconds(TimeoutSec), Stopping));
        foreach (var p in check.Peers) WriteVerbose($"peer {p.Socket}: {p.Status ?? "unreadable"} {p.Checksum ?? p.Error}");
        WriteVerbose($"node {node}: {check.NodeState}");
        if (!check.Ok)
            throw new KmException("WipeRefused", KmErrorCategory.InvalidOperation,
                "Refusing to wipe: " + string.Join("; ", check.Problems) + ".", node.ToString())
            {
                RecommendedAction = "Stop the node, and name staying peers that are ready with one checksum in -RequirePeer.",
            };
        return check;
    }

    internal static SocketAddress NodeSocket(string? socket, string dataDir, string baseDirectory) =>
        SocketAddress.Parse(string.IsNullOrWhiteSpace(socket) ? dataDir : socket, baseDirectory);

    internal static IReadOnlyList<SocketAddress> PeerSockets(object[] peers, string baseDirectory) => peers.Select(p =>
    {
        var o = p is PSObject ps ? ps.BaseObject : p;
        return o switch
        {
            KmNode n => SocketAddress.Parse(n.Socket, baseDirectory),
            string s => SocketAddress.Parse(s, baseDirectory),
            PSCustomObject when p is PSObject holder && holder.Properties["Socket"]?.Value is { } v => SocketAddress.Parse(v.ToString(), baseDirectory),
            _ => throw new KmException("InvalidPeer", KmErrorCategory.InvalidArgument,
                $"A required peer must be a socket address, a data dir or a node, not a {o?.GetType().Name ?? "null"}.", p),
        };
    }).ToList();
}

/// <summary>Restore-KmLocalState: puts a moved-aside state back (rollback on the same CPU with the old ORC).</summary>
[Cmdlet(VerbsData.Restore, "KmLocalState", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(LocalStateRecord))]
public sealed class RestoreKmLocalStateCommand : KmLocalStateCommand
{
    /// <summary>The backup folder to restore (name or path); the newest when omitted.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("BackupPath")]
    public string? Backup { get; set; }

    protected override void ProcessRecord()
    {
        try
        {
            var path = LocalStatePath.Resolve(DataDir, RuntimeId);
            var name = string.IsNullOrEmpty(Name) ? path.DataDir : Name!;
            var node = ClearKmLocalStateCommand.NodeSocket(Socket, path.DataDir, CurrentDirectory);
            var check = Await(WipeGuard.CheckAsync(node, Array.Empty<SocketAddress>(), path.RuntimeId, TimeSpan.FromSeconds(10), Stopping));
            if (!check.NodeStopped)
                throw new KmException("NodeRunning", KmErrorCategory.InvalidOperation,
                    $"Refusing to restore under a running node: {check.NodeState}.", node.ToString());
            var backups = path.Backups();
            var chosen = string.IsNullOrEmpty(Backup) ? backups.FirstOrDefault() : Backup;
            if (!ShouldProcess(name, $"Restore the key manager state {path.StorageDir} from backup {chosen ?? "(none found)"}")) return;
            WriteObject(LocalStateWiper.Restore(path, name, Backup));
        }
        catch (KmException e) { WriteKmError(e, Name ?? DataDir); }
        catch (IOException e) { WriteKmError(new KmException("RestoreFailed", KmErrorCategory.WriteError, $"The restore failed: {e.Message}", DataDir, e)); }
    }
}
