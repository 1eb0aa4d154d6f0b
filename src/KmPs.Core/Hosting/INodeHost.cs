using KmPs.Core.Bundles;
using KmPs.Core.Config;
using KmPs.Core.Diagnosis;
using KmPs.Core.Inventory;
using KmPs.Core.LocalState;
using KmPs.Core.Status;

namespace KmPs.Core.Hosting;

/// <summary>
/// Everything that happens to one node, done where the node runs: reads (status, deployments,
/// config bundles, its state folder, its log), the guarded wipe and the restore, bundle staging and
/// the config change, stop and start. <see cref="LocalNodeHost"/> does it on this machine; the
/// module's RemoteNodeHost sends the same request through the node's session to a LocalNodeHost on
/// the node's machine. A command picks the host once per node and makes one call; what needs several
/// nodes (the staying peers of a wipe, the replication verdict) is decided by the caller from what
/// each node's host read. Paths are the node machine's. Failures are KmExceptions.
/// </summary>
public interface INodeHost
{
    /// <summary>The machine the node runs on, for messages and to tell nodes apart: "" for this one.</summary>
    string Machine { get; }

    /// <summary>The raw CBOR of the node's control status (Get-KmStatus parses or renders it), and when it was read there.</summary>
    Task<StatusRead> GetStatusCborAsync(string socket, TimeSpan timeout, CancellationToken ct);

    /// <summary>The socket text as an address on the node's machine (relative to the caller's directory here; absolute there).</summary>
    Control.SocketAddress Address(string socket);

    Task<RegistryRuntime> GetRuntimeAsync(string socket, string runtimeId, TimeSpan timeout, CancellationToken ct);

    /// <summary>The consensus key manager status with its policy, read through the node (chain state: any node answers the same); parsed by the caller.</summary>
    Task<Control.KmStatusAnswer> GetKeyManagerStatusAsync(string socket, string runtimeId, TimeSpan timeout, CancellationToken ct);

    /// <summary>The key manager bundle paths the node's config lists.</summary>
    Task<IReadOnlyList<string>> GetKmBundlesAsync(string configPath, CancellationToken ct);

    /// <summary>An inventory node completed from its config (runtime id, log file, socket) and checked against it.</summary>
    Task<KmNode> CompleteNodeAsync(KmNode node, CancellationToken ct);

    /// <summary>The node's state folder and control socket, as its machine sees them (LocalStateUnreadable when it cannot look).</summary>
    Task<NodeStatePath> ResolveStateAsync(NodeStateRef node, CancellationToken ct);

    Task<LocalStateInfo> GetStateInfoAsync(NodeStateRef node, CancellationToken ct);

    /// <summary>Invariant 1 as the node's machine sees it: its control socket does not answer.</summary>
    Task<NodeStopCheck> CheckStoppedAsync(string socket, TimeSpan timeout, CancellationToken ct);

    /// <summary>The wipe (the one implementation): see <see cref="LocalNodeHost.WipeAsync"/>.</summary>
    Task<LocalStateRecord> WipeAsync(WipeRequest request, CancellationToken ct);

    Task<LocalStateRecord> RestoreAsync(RestoreRequest request, CancellationToken ct);

    /// <summary>What pointing the node's config at this ORC would do (nothing is changed).</summary>
    /// <param name="localOrcPath">The ORC's path on this (the caller's) machine; a host on another machine does not have it.</param>
    Task<BundleChangePreview> PreviewBundleChangeAsync(BundleChangeRequest request, string? localOrcPath, CancellationToken ct);

    /// <summary>Copies the ORC (a file on this machine) beside the node's bundle, verified by its digest there, and points the config at the copy.</summary>
    Task<KmBundleChange> SetBundleAsync(BundleChangeRequest request, string localOrcPath, IHostEvents events, CancellationToken ct);

    Task<KmLifecycleResult> StopAsync(KmNode node, bool useControlApi, TimeSpan timeout, IHostEvents events, CancellationToken ct);

    Task<KmLifecycleResult> StartAsync(KmNode node, TimeSpan timeout, IHostEvents events, CancellationToken ct);

    /// <summary>Known key manager failures in the last <paramref name="tail"/> lines of the node's log.</summary>
    Task<LogScan> ScanLogAsync(string path, string? name, int tail, CancellationToken ct);
}

/// <summary>
/// What a host operation reports while it runs, written by the caller on its pipeline thread
/// (never from the operation's own threads), and the one thing a host cannot do without
/// PowerShell: run a node's start or stop script where the node runs.
/// </summary>
public interface IHostEvents
{
    void Progress(HostProgress progress);
    void Verbose(string text);
    void Warning(string text);
    /// <summary>Runs a lifecycle script block with the node as its argument; its failure is LifecycleScriptFailed.</summary>
    Task RunScriptAsync(string script, KmNode node, CancellationToken ct);
}

/// <summary>
/// A status as read on the node's machine, with the time of the read there: freshness judges each
/// read against what other nodes reported before it, and a remote answer arrives later than it was read.
/// </summary>
public sealed record StatusRead(Wire.CborNode Status, DateTimeOffset ReadAt);

/// <summary>A progress bar update; <see cref="Percent"/> and <see cref="SecondsRemaining"/> are -1 when unknown.</summary>
public sealed record HostProgress(int Id, string Activity, string Status, int Percent = -1, int SecondsRemaining = -1, bool Completed = false);

/// <summary>Events nobody watches; a script lifecycle cannot run without PowerShell.</summary>
public sealed class NoHostEvents : IHostEvents
{
    public static readonly NoHostEvents Instance = new();
    public void Progress(HostProgress progress) { }
    public void Verbose(string text) { }
    public void Warning(string text) { }
    public Task RunScriptAsync(string script, KmNode node, CancellationToken ct) =>
        throw new KmException(KmPs.Core.Lifecycle.LifecycleErrorIds.LifecycleScriptFailed, KmErrorCategory.InvalidOperation, $"Node '{node.Name}': its script lifecycle needs PowerShell to run.", node.Name);
}

/// <summary>The node whose state a request is about, as bound from the inventory (paths of the node's machine).</summary>
public sealed record NodeStateRef(string DataDir, string RuntimeId, string? Socket = null, string? ConfigPath = null, string? Name = null)
{
    public string Display => string.IsNullOrEmpty(Name) ? DataDir : Name!;
}

/// <summary>A node's state folder and control socket, as its machine sees them.</summary>
public sealed class NodeStatePath
{
    public string DataDir { get; init; } = "";
    public string StorageDir { get; init; } = "";
    public bool Exists { get; init; }
    /// <summary>The node's control socket (as given, from its config, or in its data dir), unix: form.</summary>
    public string Socket { get; init; } = "";
    public string RuntimeId { get; init; } = "";
}

/// <summary>
/// A wipe as asked after the prompt. <see cref="ExpectAbsent"/>: the caller found no state and checked
/// no peers, so state that appeared since is refused, never wiped.
/// </summary>
public sealed record WipeRequest(NodeStateRef Node, bool Delete, bool ExpectAbsent, TimeSpan Timeout);

public sealed record RestoreRequest(NodeStateRef Node, string? Backup, TimeSpan Timeout);

/// <summary>
/// A config change to a new ORC: the bundle's file name, SHA-512/256, runtime and version are read on
/// the caller's machine (where the ORC is), so the node's machine can check and place it before the
/// bytes get there.
/// </summary>
public sealed record BundleChangeRequest(string ConfigPath, string? RuntimeId, string? Name, string FileName, string Digest,
    string BundleRuntimeId, string BundleVersion, long Length);

/// <summary>What <see cref="INodeHost.PreviewBundleChangeAsync"/> found: where the copy goes and what the config names now.</summary>
public sealed class BundleChangePreview
{
    public string ConfigPath { get; init; } = "";
    public string Destination { get; init; } = "";
    /// <summary>The same bytes are already at the destination: nothing to copy.</summary>
    public bool Present { get; init; }
    public string OldBundle { get; init; } = "";
    /// <summary>The config already names the destination.</summary>
    public bool AlreadyNamed { get; init; }
}

/// <summary>What a log scan found, and how many lines it read.</summary>
public sealed class LogScan
{
    public string Path { get; init; } = "";
    public int LinesRead { get; init; }
    public UpgradeProblem[] Problems { get; init; } = Array.Empty<UpgradeProblem>();
}
