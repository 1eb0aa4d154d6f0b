using System.Management.Automation;
using System.Management.Automation.Runspaces;
using KmPs.Config;
using KmPs.Control;
using KmPs.Inventory;
using KmPs.LocalState;
using KmPs.Remoting;
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

    protected string OnHost => Session is null ? "" : " on " + KmRemoting.Describe(Session);
}

/// <summary>A staying peer of a wipe: a socket on this machine, or a node read on its own machine through its session.</summary>
internal sealed record PeerRef(string Display, SocketAddress? Local, PSSession? Session, string? RemoteSocket)
{
    public bool SameNode(SocketAddress? localNode, PSSession? nodeSession, string? nodeSocket) =>
        Session is null
            ? localNode is not null && Local!.Path == localNode.Path
            : nodeSession is not null && SameMachine(Session, nodeSession) && SocketAddress.SameRemoteSocket(RemoteSocket, nodeSocket);

    // Two sessions to one host name are one machine (erring this way refuses a wipe, never allows one).
    private static bool SameMachine(PSSession a, PSSession b) =>
        ReferenceEquals(a.Runspace, b.Runspace) || string.Equals(KmRemoting.Describe(a), KmRemoting.Describe(b), StringComparison.OrdinalIgnoreCase);
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
        try
        {
            if (Session is null) Wipe();
            else WipeRemote(Session);
        }
        catch (KmException e) { WriteKmError(e, Name ?? DataDir); }
        catch (IOException e) { WriteKmError(new KmException("WipeFailed", KmErrorCategory.WriteError, $"The wipe failed: {e.Message}", DataDir, e)); }
        catch (UnauthorizedAccessException e) { WriteKmError(new KmException("WipeFailed", KmErrorCategory.PermissionDenied, $"The wipe failed: {e.Message}", DataDir, e)); }
    }

    private void Wipe()
    {
        var path = LocalStatePath.Resolve(DataDir, RuntimeId);
        var node = NodeControlSocket.Resolve(Socket, path.DataDir, ConfigPath, CurrentDirectory);
        var peers = Peers(RequirePeer, CurrentDirectory);
        var name = string.IsNullOrEmpty(Name) ? path.DataDir : Name!;
        if (!path.Exists)
        {
            WriteVerbose($"{name}: {path.StorageDir} does not exist; nothing to wipe.");
            WriteObject(LocalStateWiper.NothingToWipe(path, name));
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

    /// <summary>
    /// The node on another machine: its state is resolved, checked stopped and moved there through
    /// its session; the staying peers are read where they are (here, or through their own sessions).
    /// </summary>
    private void WipeRemote(PSSession session)
    {
        var name = string.IsNullOrEmpty(Name) ? DataDir : Name!;
        // Paths on another machine must be absolute: a relative socket would be looked for in the remote
        // process's folder, answer "no socket", and pass for a stopped node.
        if (!string.IsNullOrWhiteSpace(Socket)) SocketAddress.ParseAbsolute(Socket);
        var path = RemoteOp<RemoteStatePath>(session, name, "StatePath", new { DataDir, RuntimeId, Socket, ConfigPath });
        var socket = path.Socket;
        var peers = Peers(RequirePeer, CurrentDirectory);
        var wipe = new { DataDir, RuntimeId, Socket = socket, Name = name, Delete = Delete.IsPresent, TimeoutMs = TimeoutSec * 1000 };
        if (!path.Exists)
        {
            WriteVerbose($"{name}: {path.StorageDir}{OnHost} does not exist; nothing to wipe.");
            WriteObject(RemoteOp<LocalStateRecord>(session, name, "Wipe", new { DataDir, RuntimeId, Name = name, ExpectAbsent = true }));
            return;
        }
        var check = RemoteGuard(session, name, socket, peers);
        var what = Delete
            ? $"Permanently delete the sealed key manager state {path.StorageDir}{OnHost}"
            : $"Move the sealed key manager state {path.StorageDir}{OnHost} aside to {LocalStateWiper.BackupName(DateTimeOffset.UtcNow)}";
        if (!ShouldProcess(name, $"{what} (node stopped; {check.Peers.Count} staying peer(s) ready with checksum {Hex.Short(check.PeerChecksum)})")) return;
        if (Delete && !Force && !ShouldContinue(
                $"{path.StorageDir}{OnHost} will be deleted with no backup. The old enclave on that CPU could not roll back. Continue?",
                "Delete key manager state permanently"))
            return;
        // Check the peers again right before; the node's machine checks the node is stopped at the last moment.
        check = RemoteGuard(session, name, socket, peers);
        var record = RemoteOp<LocalStateRecord>(session, name, "Wipe", wipe);
        WriteObject(WithPeers(record, check));
    }

    private static LocalStateRecord WithPeers(LocalStateRecord record, WipeCheck check) => new()
    {
        Node = record.Node, DataDir = record.DataDir, RuntimeId = record.RuntimeId, Path = record.Path, Action = record.Action,
        BackupPath = record.BackupPath, Time = record.Time, PeerChecksum = check.PeerChecksum,
        VerifiedPeers = check.Peers.Select(p => p.Socket).ToArray(),
    };

    private WipeCheck Guard(SocketAddress node, IReadOnlyList<PeerRef> peers)
    {
        var timeout = TimeSpan.FromSeconds(TimeoutSec);
        var stop = Await(WipeGuard.CheckStoppedAsync(node, timeout, Stopping));
        return Verdict(stop, peers.Any(p => p.SameNode(node, null, null)), peers.Where(p => !p.SameNode(node, null, null)).ToList(), node.ToString());
    }

    private WipeCheck RemoteGuard(PSSession session, string name, string socket, IReadOnlyList<PeerRef> peers)
    {
        var stop = RemoteOp<NodeStopCheck>(session, name, "NodeStopped", new { Socket = socket, TimeoutMs = TimeoutSec * 1000 });
        return Verdict(stop, peers.Any(p => p.SameNode(null, session, socket)), peers.Where(p => !p.SameNode(null, session, socket)).ToList(), socket);
    }

    private WipeCheck Verdict(NodeStopCheck stop, bool nodeAmongPeers, IReadOnlyList<PeerRef> peers, string node)
    {
        var timeout = TimeSpan.FromSeconds(TimeoutSec);
        var distinct = peers.DistinctBy(p => p.Display).ToList();
        var read = Await(Task.WhenAll(distinct.Select(p => ReadPeerAsync(p, timeout))));
        // A peer that looks stale only against a newer epoch read after it is read again: now the
        // newer epoch precedes its read, so a stalled peer stays stale and a slow read does not.
        var suspects = WipeGuard.Suspects(read).Select(p => p.Socket).ToHashSet();
        if (suspects.Count > 0)
            read = Await(Task.WhenAll(distinct.Zip(read).Select(x => suspects.Contains(x.Second.Socket) ? ReadPeerAsync(x.First, timeout) : Task.FromResult(x.Second))));
        var check = WipeGuard.Evaluate(stop, nodeAmongPeers, read, KeyManagerRuntimeId.Validate(RuntimeId));
        foreach (var p in check.Peers) WriteVerbose($"peer {p.Socket}: {p.Status ?? "unreadable"} {p.Checksum ?? p.Error}");
        WriteVerbose($"node {node}{OnHost}: {check.NodeState}");
        if (!check.Ok)
            throw new KmException("WipeRefused", KmErrorCategory.InvalidOperation,
                "Refusing to wipe: " + string.Join("; ", check.Problems) + ".", node)
            {
                RecommendedAction = "Stop the node, and name staying peers that are ready with one checksum in -RequirePeer.",
            };
        return check;
    }

    private async Task<PeerCheck> ReadPeerAsync(PeerRef p, TimeSpan timeout)
    {
        if (p.Session is null) return await WipeGuard.ReadPeerAsync(p.Local!, timeout, Stopping).ConfigureAwait(false);
        try { return WipeGuard.FromStatus(p.Display, await KmRemoting.StatusAsync(p.Session, p.Display, p.RemoteSocket!, timeout, Stopping).ConfigureAwait(false)); }
        catch (KmException e) { return new PeerCheck(p.Display, null, null, e.Message); }
    }

    /// <summary>Peers as given: sockets or data dirs on this machine, or nodes (a remote node is read through its session).</summary>
    internal static IReadOnlyList<PeerRef> Peers(object[] peers, string baseDirectory) => peers.Select(p =>
    {
        var o = p is PSObject ps ? ps.BaseObject : p;
        switch (o)
        {
            case KmNode n when n.IsRemote:
                return RemotePeer(KmRemoting.SessionOf(n), n.Socket);
            case KmNode n:
                return Local(n.Socket, baseDirectory);
            case string s:
                return Local(s, baseDirectory);
            case PSCustomObject when p is PSObject holder && holder.Properties["Socket"]?.Value is { } v:
                return KmRemoting.AsSession(holder.Properties["Session"]?.Value) is { } ss
                    ? RemotePeer(ss, v.ToString()!)
                    : Local(v.ToString()!, baseDirectory);
            default:
                throw new KmException("InvalidPeer", KmErrorCategory.InvalidArgument,
                    $"A required peer must be a socket address, a data dir or a node, not a {o?.GetType().Name ?? "null"}.", p);
        }
    }).ToList();

    /// <summary>A peer read on its own machine: its socket must be absolute there (checked here, used as given).</summary>
    private static PeerRef RemotePeer(PSSession session, string socket)
    {
        SocketAddress.ParseAbsolute(socket);
        return new PeerRef($"{socket} on {KmRemoting.Describe(session)}", null, session, socket);
    }

    private static PeerRef Local(string socket, string baseDirectory)
    {
        var a = SocketAddress.Parse(socket, baseDirectory);
        return new PeerRef(a.ToString(), a, null, null);
    }
}

/// <summary>Get-KmLocalState: whether a node's sealed state is there and which backups exist (reads only).</summary>
[Cmdlet(VerbsCommon.Get, "KmLocalState")]
[OutputType(typeof(LocalStateInfo))]
public sealed class GetKmLocalStateCommand : KmLocalStateCommand
{
    protected override void ProcessRecord()
    {
        var name = string.IsNullOrEmpty(Name) ? DataDir : Name!;
        try
        {
            if (Session is null) WriteObject(LocalStateInfo.Of(LocalStatePath.Resolve(DataDir, RuntimeId), name));
            else
            {
                var info = RemoteOp<LocalStateInfo>(Session, name, "StateInfo", new { DataDir, RuntimeId, Name = name });
                info.HostName = KmRemoting.Describe(Session);
                WriteObject(info);
            }
        }
        catch (KmException e) { WriteKmError(e, name); }
    }
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
        if (Session is not null)
        {
            RestoreRemote(Session);
            return;
        }
        try
        {
            var path = LocalStatePath.Resolve(DataDir, RuntimeId);
            var name = string.IsNullOrEmpty(Name) ? path.DataDir : Name!;
            var node = NodeControlSocket.Resolve(Socket, path.DataDir, ConfigPath, CurrentDirectory);
            var check = Await(WipeGuard.CheckAsync(node, Array.Empty<SocketAddress>(), path.RuntimeId, TimeSpan.FromSeconds(10), Stopping));
            if (!check.NodeStopped)
                throw new KmException("NodeRunning", KmErrorCategory.InvalidOperation,
                    $"Refusing to restore under a running node: {check.NodeState}.", node.ToString());
            var newest = path.BackupInfos().FirstOrDefault();
            var chosen = !string.IsNullOrEmpty(Backup) ? Backup
                : newest is null ? "(none found)"
                : newest.MovedAt is { } at ? $"{newest.Path} (moved aside last, at {at.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z)"
                : $"{newest.Path} (the newest)";
            if (!ShouldProcess(name, $"Restore the key manager state {path.StorageDir} from backup {chosen}")) return;
            WriteObject(LocalStateWiper.Restore(path, name, Backup));
        }
        catch (KmException e) { WriteKmError(e, Name ?? DataDir); }
        catch (IOException e) { WriteKmError(new KmException("RestoreFailed", KmErrorCategory.WriteError, $"The restore failed: {e.Message}", DataDir, e)); }
    }

    /// <summary>The node on another machine: after the prompt here, the same command runs there (it checks the node is stopped there).</summary>
    private void RestoreRemote(PSSession session)
    {
        var name = string.IsNullOrEmpty(Name) ? DataDir : Name!;
        try
        {
            if (!ShouldProcess(name, $"Restore the key manager state of {name}{OnHost} from backup {(string.IsNullOrEmpty(Backup) ? "(the newest)" : Backup)}")) return;
            var parameters = new System.Collections.Hashtable { ["DataDir"] = DataDir, ["RuntimeId"] = RuntimeId, ["Name"] = name, ["Confirm"] = false };
            if (!string.IsNullOrWhiteSpace(Socket)) parameters["Socket"] = Socket;
            if (!string.IsNullOrEmpty(Backup)) parameters["Backup"] = Backup;
            WriteRemote(RunRemote(session, name, "Restore-KmLocalState", parameters), name);
        }
        catch (KmException e) { WriteKmError(e, name); }
    }
}
