using System.Diagnostics;
using KmPs.Core.Bundles;
using KmPs.Core.Config;
using KmPs.Core.Control;
using KmPs.Core.Diagnosis;
using KmPs.Core.Inventory;
using KmPs.Core.Lifecycle;
using KmPs.Core.LocalState;
using KmPs.Core.Status;

namespace KmPs.Core.Hosting;

/// <summary>
/// A node on this machine: the one implementation of every node operation. The module's cmdlets
/// use it for local nodes, and its remote endpoint uses it on a node's own machine, so a remote
/// wipe is this wipe.
/// </summary>
public sealed class LocalNodeHost : INodeHost
{
    /// <param name="baseDirectory">Where relative paths start (the caller's current directory); null on a
    /// node's machine reached remotely, where there is no current directory to resolve against, so
    /// relative paths are refused (a relative socket would be looked for in the wrong folder, stay
    /// silent and pass for a stopped node).</param>
    public LocalNodeHost(string? baseDirectory) => BaseDirectory = baseDirectory;

    public string? BaseDirectory { get; }

    public string Machine => "";

    public SocketAddress Address(string socket) =>
        BaseDirectory is null ? SocketAddress.ParseAbsolute(socket) : SocketAddress.Parse(socket, BaseDirectory);

    public async Task<StatusRead> GetStatusCborAsync(string socket, TimeSpan timeout, CancellationToken ct) =>
        new(await ControlClient.For(Address(socket)).GetStatusCborAsync(timeout, ct).ConfigureAwait(false), DateTimeOffset.UtcNow);

    public Task<RegistryRuntime> GetRuntimeAsync(string socket, string runtimeId, TimeSpan timeout, CancellationToken ct) =>
        ControlClient.For(Address(socket)).GetRuntimeAsync(Convert.FromHexString(KeyManagerRuntimeId.Validate(runtimeId)), 0, timeout, ct);

    public Task<KmStatusAnswer> GetKeyManagerStatusAsync(string socket, string runtimeId, TimeSpan timeout, CancellationToken ct) =>
        KeyManagerClient.For(Address(socket)).GetStatusAnswerAsync(KeyManagerRuntimeId.Validate(runtimeId), timeout, ct);

    public Task<IReadOnlyList<string>> GetKmBundlesAsync(string configPath, CancellationToken ct) =>
        Task.FromResult<IReadOnlyList<string>>(NodeConfig.Load(FilePath(configPath, "config path")).FindKmBundles().Select(b => b.FullPath).ToList());

    public Task<KmNode> CompleteNodeAsync(KmNode node, CancellationToken ct) =>
        Task.FromResult(NodeConfigFill.Complete(BaseDirectory is null ? node.AsLocal().Validate() : node));

    public Task<NodeStatePath> ResolveStateAsync(NodeStateRef node, CancellationToken ct)
    {
        var (path, socket) = Resolve(node);
        return Task.FromResult(new NodeStatePath
        {
            DataDir = path.DataDir, StorageDir = path.StorageDir, Exists = path.Exists, Socket = socket.ToString(), RuntimeId = path.RuntimeId,
        });
    }

    public Task<LocalStateInfo> GetStateInfoAsync(NodeStateRef node, CancellationToken ct) =>
        Task.FromResult(LocalStateInfo.Of(LocalStatePath.Resolve(DataDir(node.DataDir), node.RuntimeId), node.Display));

    public Task<NodeStopCheck> CheckStoppedAsync(string socket, TimeSpan timeout, CancellationToken ct) =>
        WipeGuard.CheckStoppedAsync(Address(socket), timeout, ct);

    /// <summary>
    /// The wipe, after the caller checked the staying peers (they may be on other machines) and asked:
    /// here, in this order, the node is checked stopped, the path resolved again, and the state moved
    /// or deleted while holding Badger's lock on it. ExpectAbsent: only the proof that there is
    /// nothing to wipe (state that appeared since is refused).
    /// </summary>
    public async Task<LocalStateRecord> WipeAsync(WipeRequest request, CancellationToken ct)
    {
        var name = request.Node.Display;
        if (request.ExpectAbsent) return LocalStateWiper.NothingToWipe(LocalStatePath.Resolve(DataDir(request.Node.DataDir), request.Node.RuntimeId), name);
        var (_, socket) = Resolve(request.Node);
        var stop = await WipeGuard.CheckStoppedAsync(socket, request.Timeout, ct).ConfigureAwait(false);
        if (!stop.Stopped)
            throw new KmException(LocalStateErrorIds.WipeRefused, KmErrorCategory.InvalidOperation, $"Refusing to wipe: {stop.Problem}.", socket.ToString())
            {
                RecommendedAction = "Stop the node, and name staying peers that are ready with one checksum in -RequirePeer.",
            };
        var path = LocalStatePath.Resolve(DataDir(request.Node.DataDir), request.Node.RuntimeId);
        return FileErrors("WipeFailed", "wipe", path.DataDir,
            () => request.Delete ? LocalStateWiper.Delete(path, name) : LocalStateWiper.MoveAside(path, name, DateTimeOffset.UtcNow));
    }

    /// <summary>A file system failure during a change, with the operation's own ErrorId (the same here and remotely).</summary>
    private static T FileErrors<T>(string errorId, string what, string target, Func<T> change)
    {
        try { return change(); }
        catch (IOException e) { throw new KmException(errorId, KmErrorCategory.WriteError, $"The {what} failed: {e.Message}", target, e); }
        catch (UnauthorizedAccessException e) { throw new KmException(errorId, KmErrorCategory.PermissionDenied, $"The {what} failed: {e.Message}", target, e); }
    }

    public async Task<LocalStateRecord> RestoreAsync(RestoreRequest request, CancellationToken ct)
    {
        var (path, socket) = Resolve(request.Node);
        var stop = await WipeGuard.CheckStoppedAsync(socket, request.Timeout, ct).ConfigureAwait(false);
        if (!stop.Stopped)
            throw new KmException(LocalStateErrorIds.NodeRunning, KmErrorCategory.InvalidOperation, $"Refusing to restore under a running node: {stop.State}.", socket.ToString());
        return FileErrors("RestoreFailed", "restore", path.DataDir, () => LocalStateWiper.Restore(path, request.Node.Display, request.Backup));
    }

    /// <param name="localOrcPath">The ORC when it is on this machine: the edit is then tried in full (two key
    /// manager bundles, another runtime) before anything is copied; otherwise only once its copy is here.</param>
    public Task<BundleChangePreview> PreviewBundleChangeAsync(BundleChangeRequest request, string? localOrcPath, CancellationToken ct)
    {
        var (config, configPath) = LoadConfig(request);
        if (request.BundleRuntimeId != config.KmRuntimeId)
            throw ConfigErrors.RuntimeMismatch(configPath, request.FileName, request.BundleRuntimeId, config.KmRuntimeId);
        var place = BundleStaging.Place(configPath, request.FileName, request.Digest);
        string oldBundle;
        bool named;
        if (localOrcPath is not null || place.Present)
        {
            OrcBundle Open(string p) => OrcBundle.Open(p == place.Destination && !place.Present ? FilePath(localOrcPath!, "ORC path") : p);
            var edit = ConfigEditor.SetKmBundlePath(config, place.Destination, Open);
            (oldBundle, named) = (edit.Entry.Value, !edit.Changed);
        }
        else
        {
            var current = config.FindKmBundle() ?? throw ConfigErrors.NoKmBundle(configPath, config.KmRuntimeId);
            (oldBundle, named) = (current.Value, current.FullPath == place.Destination);
        }
        return Task.FromResult(new BundleChangePreview
        {
            ConfigPath = configPath, Destination = place.Destination, Present = place.Present, OldBundle = oldBundle, AlreadyNamed = named,
        });
    }

    /// <summary>Stages <paramref name="localOrcPath"/> (hashed again: it must still be the file shown) and edits the config, keeping a backup.</summary>
    public Task<KmBundleChange> SetBundleAsync(BundleChangeRequest request, string localOrcPath, IHostEvents events, CancellationToken ct)
    {
        var (_, configPath) = LoadConfig(request);
        var staged = BundleStaging.Stage(configPath, FilePath(localOrcPath, "ORC path"), request.Digest);
        var edit = ConfigEditor.SetKmBundlePath(NodeConfig.Load(configPath), staged);
        var saved = edit.Changed ? ConfigEditor.Save(edit).BackupPath : null;
        return Task.FromResult(new KmBundleChange
        {
            Node = request.Name ?? configPath, ConfigPath = edit.Config.Path, RuntimeId = edit.Config.KmRuntimeId, OldBundle = edit.Entry.Value,
            NewBundle = edit.NewValue, NewVersion = edit.Bundle.Version.ToString(), Changed = edit.Changed, BackupPath = saved,
        });
    }

    public async Task<KmLifecycleResult> StopAsync(KmNode node, bool useControlApi, TimeSpan timeout, IHostEvents events, CancellationToken ct)
    {
        var sw = Timing.PollClock.StartTimer();
        if (useControlApi)
        {
            events.Warning($"{node.Name}: RequestShutdown deregisters the node first (up to about two epochs) and sets a forced-deregister flag; " +
                           "restarting it before that finishes needs 'oasis-node control clear-deregister'. Prefer the service manager.");
            await ControlClient.For(Address(node.Socket)).RequestShutdownAsync(false, TimeSpan.FromSeconds(10), ct).ConfigureAwait(false);
        }
        else await NodeLifecycle.RunAsync(node, "stop", timeout, events, ct).ConfigureAwait(false);
        await NodeLifecycle.WaitForSocketAsync(node, Address(node.Socket), wantAnswering: false, sw, timeout, events, ct).ConfigureAwait(false);
        return new KmLifecycleResult
        {
            Node = node.Name, Action = "Stop", Method = useControlApi ? NodeLifecycle.ControlApiMethod : NodeLifecycle.Method(node, "stop"),
            State = "Stopped", Duration = sw.Elapsed,
        };
    }

    public async Task<KmLifecycleResult> StartAsync(KmNode node, TimeSpan timeout, IHostEvents events, CancellationToken ct)
    {
        var sw = Timing.PollClock.StartTimer();
        await NodeLifecycle.RunAsync(node, "start", timeout, events, ct).ConfigureAwait(false);
        await NodeLifecycle.WaitForSocketAsync(node, Address(node.Socket), wantAnswering: true, sw, timeout, events, ct).ConfigureAwait(false);
        return new KmLifecycleResult { Node = node.Name, Action = "Start", Method = NodeLifecycle.Method(node, "start"), State = "Started", Duration = sw.Elapsed };
    }

    public Task<LogScan> ScanLogAsync(string path, string? name, int tail, CancellationToken ct) =>
        Task.FromResult(LogScanner.Scan(FilePath(path, "log path"), name, tail));

    private (LocalStatePath Path, SocketAddress Socket) Resolve(NodeStateRef node)
    {
        var path = LocalStatePath.Resolve(DataDir(node.DataDir), node.RuntimeId);
        var socket = string.IsNullOrWhiteSpace(node.Socket) ? null : Address(node.Socket).ToString();
        var config = string.IsNullOrWhiteSpace(node.ConfigPath) ? null : FilePath(node.ConfigPath, "config path");
        return (path, NodeControlSocket.Resolve(socket, path.DataDir, config, BaseDirectory ?? path.DataDir));
    }

    private (NodeConfig Config, string Path) LoadConfig(BundleChangeRequest request)
    {
        if (string.IsNullOrWhiteSpace(request.ConfigPath))
            throw new KmException(ConfigErrorIds.ConfigNotFound, KmErrorCategory.InvalidArgument, "The node has no ConfigPath; give -ConfigPath.", request.Name);
        var path = FilePath(request.ConfigPath, "config path");
        var config = NodeConfig.Load(path);
        if (request.RuntimeId is not null && KeyManagerRuntimeId.Validate(request.RuntimeId) != config.KmRuntimeId)
            throw new KmException(ConfigErrorIds.BundleRuntimeMismatch, KmErrorCategory.InvalidData,
                $"The inventory says runtime {request.RuntimeId} but {path} configures {config.KmRuntimeId}.", path);
        return (config, path);
    }

    /// <summary>A data dir as given: LocalStatePath refuses a relative one; on a node's machine reached remotely, saying why.</summary>
    private string DataDir(string dataDir)
    {
        if (string.IsNullOrEmpty(dataDir) || Path.IsPathRooted(dataDir) || BaseDirectory is not null) return dataDir;
        throw new KmException(LocalStateErrorIds.InvalidDataDir, KmErrorCategory.InvalidArgument,
            $"The data dir '{dataDir}' is not an absolute path: on the node's machine there is no current directory to resolve it against.", dataDir);
    }

    private string FilePath(string path, string what)
    {
        if (Path.IsPathRooted(path)) return Path.GetFullPath(path);
        if (BaseDirectory is not null) return Path.GetFullPath(path, BaseDirectory);
        throw new KmException(InventoryErrorIds.InvalidPath, KmErrorCategory.InvalidArgument, $"The {what} '{path}' must be absolute on the node's machine.", path);
    }
}
