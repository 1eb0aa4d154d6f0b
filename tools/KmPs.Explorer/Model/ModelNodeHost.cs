using KmPs.Core.Bundles;
using KmPs.Core.Config;
using KmPs.Core.Control;
using KmPs.Core.Hosting;
using KmPs.Core.Inventory;
using KmPs.Core.Lifecycle;
using KmPs.Core.LocalState;
using KmPs.Simulator.Shapes;
using KmPs.Core.Status;
using KmPs.Core.Timing;
using KmPs.Core.Wire;
using KmPs.Core;

namespace KmPs.Explorer.Model;

/// <summary>What the explorer does around every host call: stop the pipeline, check the invariants.</summary>
public interface IHostCallWatcher
{
    /// <summary>Before a call: true to stop the pipeline here, the call not made.</summary>
    bool StopBefore(string op, ModelNode? node);

    /// <summary>After a call (done or failed): the checks; true to stop the pipeline now, its effect kept.</summary>
    bool After(string op, ModelNode? node, bool mutating, Exception? failure);

    /// <summary>A task that ends only once the pipeline was stopped (as Ctrl+C while the call returns).</summary>
    Task<T> StopPipeline<T>(T result);
}

/// <summary>
/// The in-memory cluster as this machine's node host (NodeHosts.UseForLocalNodes): every cmdlet and
/// Invoke-KmSafeUpgrade run unchanged against it. Each call does what LocalNodeHost does on a real
/// node, with the same checks in the same order and the same ErrorIds and texts where the module
/// reacts to them (SocketNotFound / ConnectionRefused from ControlClient, WipeGuard's stop check,
/// LocalStateWiper's MoveAside / NothingToWipe / Restore, BundleStaging's place, NodeLifecycle's
/// StartTimeout); statuses are the simulator's CBOR (StatusShapes, RegistryShapes), encoded and decoded.
/// </summary>
public sealed class ModelNodeHost(Func<ModelCluster> cluster, IHostCallWatcher watcher) : INodeHost
{
    private ModelCluster C => cluster();

    public string Machine => "";

    public SocketAddress Address(string socket) => SocketAddress.ParseAbsolute(socket);

    private Task<T> Call<T>(string op, ModelNode? node, bool mutating, Func<T> body)
    {
        if (watcher.StopBefore(op, node)) return watcher.StopPipeline<T>(default!);
        T result;
        try
        {
            using (Profile.Measure(Profile.Phase.Model)) result = body();
        }
        catch (KmException e)
        {
            watcher.After(op, node, mutating, e);
            return Task.FromException<T>(e);
        }
        return watcher.After(op, node, mutating, null) ? watcher.StopPipeline(result) : Task.FromResult(result);
    }

    private async Task<T> CallAsync<T>(string op, ModelNode? node, bool mutating, Func<Task<T>> body)
    {
        if (watcher.StopBefore(op, node)) return await watcher.StopPipeline<T>(default!).ConfigureAwait(false);
        T result;
        try { result = await body().ConfigureAwait(false); }
        catch (KmException e)
        {
            watcher.After(op, node, mutating, e);
            throw;
        }
        return watcher.After(op, node, mutating, null) ? await watcher.StopPipeline(result).ConfigureAwait(false) : result;
    }

    private ModelNode? NodeOfSocket(string socket) => C.BySocket(Address(socket).Path);

    /// <summary>What ControlClient throws for a socket nothing listens on.</summary>
    private KmException Silent(string path, ModelNode? n) => n is { StaleSocket: true }
        ? new KmException(ControlErrorIds.ConnectionRefused, KmErrorCategory.ConnectionError,
            $"Nothing accepts connections on {path}: the node is stopped or crashed and left its socket file behind.", path)
        : new KmException(ControlErrorIds.SocketNotFound, KmErrorCategory.ObjectNotFound,
            $"No control socket at {path}: the node is not running, or the path is not its data dir.", path)
        {
            RecommendedAction = "Check the node's data dir (common.data_dir / datadir in its config) and that the node is started.",
        };

    private ModelNode Answering(string socket)
    {
        var path = Address(socket).Path;
        var n = C.BySocket(path);
        if (n is null || !n.Answering(C.Now)) throw Silent(path, n);
        return n;
    }

    public Task<StatusRead> GetStatusCborAsync(string socket, TimeSpan timeout, CancellationToken ct) =>
        Call("GetStatus", NodeOfSocket(socket), false, () =>
        {
            var n = Answering(socket);
            // Real CBOR bytes in the node's status generation, decoded as ControlClient does (once per distinct status).
            return new StatusRead(C.StatusCbor(n), C.Time);
        });

    public Task<RegistryRuntime> GetRuntimeAsync(string socket, string runtimeId, TimeSpan timeout, CancellationToken ct) =>
        Call("GetRuntime", NodeOfSocket(socket), false, () =>
        {
            Answering(socket);
            if (KeyManagerRuntimeId.Validate(runtimeId) != ModelCluster.RuntimeId)
                throw new KmException(ControlErrorIds.GrpcError, KmErrorCategory.InvalidResult, "registry: no such runtime", socket);
            return RegistryRuntime.FromCbor(C.RuntimeCbor());
        });

    /// <summary>KeyManagerClient.GetStatusAnswerAsync: the consensus key manager status (KeyManagerShapes), with the epoch read before it.</summary>
    public Task<KmStatusAnswer> GetKeyManagerStatusAsync(string socket, string runtimeId, TimeSpan timeout, CancellationToken ct) =>
        Call("GetKeyManagerStatus", NodeOfSocket(socket), false, () =>
        {
            var n = Answering(socket);
            var snapshot = C.Snapshot(n);
            var service = KeyManagerShapes.ServesSecretsName(snapshot) ? ControlMethods.KeyManagerSecrets : ControlMethods.KeyManager;
            var request = KeyManagerClient.NamespaceQuery(Convert.FromHexString(KeyManagerRuntimeId.Validate(runtimeId)));
            return new KmStatusAnswer(KeyManagerShapes.Answer(snapshot, service, request), service, C.Epoch);
        });

    private ModelNode Config(string configPath) =>
        C.ByConfig(configPath) ?? throw new KmException(ConfigErrorIds.ConfigNotFound, KmErrorCategory.ObjectNotFound, $"No config file at {configPath}.", configPath);

    public Task<IReadOnlyList<string>> GetKmBundlesAsync(string configPath, CancellationToken ct) =>
        Call("GetKmBundles", C.ByConfig(configPath), false, () => (IReadOnlyList<string>)new[] { Config(configPath).Bundle });

    public Task<KmNode> CompleteNodeAsync(KmNode node, CancellationToken ct) =>
        Call("CompleteNode", C.ByConfig(node.ConfigPath ?? ""), false, () =>
        {
            // NodeConfigFill.Complete: the config's runtime id and data dir must be the inventory's.
            var n = Config(node.ConfigPath ?? "");
            if (node.RuntimeId is null) node.RuntimeId = ModelCluster.RuntimeId;
            else if (node.RuntimeId != ModelCluster.RuntimeId)
                throw new KmException(ConfigErrorIds.BundleRuntimeMismatch, KmErrorCategory.InvalidData, $"Node '{node.Name}': the inventory says runtime {node.RuntimeId} but {node.ConfigPath} configures {ModelCluster.RuntimeId}.", node.Name);
            if (node.DataDir != n.DataDir)
                throw new KmException(ConfigErrorIds.ConfigDataDirMismatch, KmErrorCategory.InvalidData, $"Node '{node.Name}': its config names the data dir {n.DataDir}, not {node.DataDir}.", node.Name);
            node.LogPath ??= n.LogPath;
            return node;
        });

    private ModelNode StateNode(NodeStateRef r)
    {
        var id = KeyManagerRuntimeId.Validate(r.RuntimeId);
        if (id != ModelCluster.RuntimeId)
            throw new KmException(LocalStateErrorIds.DataDirNotFound, KmErrorCategory.ObjectNotFound, $"No runtime {id} in '{r.DataDir}'.", r.DataDir);
        return C.ByDataDir(LocalStatePath.Normalize(r.DataDir))
               ?? throw new KmException(LocalStateErrorIds.DataDirNotFound, KmErrorCategory.ObjectNotFound, $"The data dir '{r.DataDir}' does not exist.", r.DataDir);
    }

    public Task<NodeStatePath> ResolveStateAsync(NodeStateRef node, CancellationToken ct) =>
        Call("ResolveState", C.ByDataDir(node.DataDir), false, () =>
        {
            var n = StateNode(node);
            return new NodeStatePath { DataDir = n.DataDir, StorageDir = C.StorageDir(n), Exists = n.State is not null, Socket = n.Socket, RuntimeId = ModelCluster.RuntimeId };
        });

    private LocalStateInfo Info(ModelNode n, string display) => new()
    {
        Node = display, DataDir = n.DataDir, RuntimeId = ModelCluster.RuntimeId, Path = C.StorageDir(n), Exists = n.State is not null,
        Backups = Ordered(n).Select(b => new LocalStateBackup(b.Path, b.Sequence, b.MovedAt, n.Name)).ToArray(),
    };

    /// <summary>LocalStatePath.BackupInfos' order: the one moved aside last first.</summary>
    private static IEnumerable<ModelBackup> Ordered(ModelNode n) => n.Backups.OrderByDescending(b => b.Sequence).ThenByDescending(b => b.MovedAt);

    public Task<LocalStateInfo> GetStateInfoAsync(NodeStateRef node, CancellationToken ct) =>
        Call("GetStateInfo", C.ByDataDir(node.DataDir), false, () => Info(StateNode(node), node.Display));

    /// <summary>WipeGuard.CheckStoppedAsync: the node is stopped when its socket is absent or refuses connections.</summary>
    private NodeStopCheck Stopped(string socket)
    {
        var path = Address(socket).Path;
        var n = C.BySocket(path);
        if (n is not null && n.Answering(C.Now))
            return new NodeStopCheck(false, "running (its control socket answers)", $"the node is running: {path} answers; stop it first (Stop-KmNode)");
        return new NodeStopCheck(true, n is { StaleSocket: true } ? "stopped (socket refuses connections)" : "stopped (no control socket)", null);
    }

    public Task<NodeStopCheck> CheckStoppedAsync(string socket, TimeSpan timeout, CancellationToken ct) =>
        Call("CheckStopped", NodeOfSocket(socket), false, () => Stopped(socket));

    private LocalStateRecord Record(ModelNode n, string display, string action, string? backup) => new()
    {
        Node = display, DataDir = n.DataDir, RuntimeId = ModelCluster.RuntimeId, Path = C.StorageDir(n), Action = action, BackupPath = backup, Time = C.Time,
    };

    /// <summary>Badger's directory lock (LocalStateWiper.LockState): held by the node's process once it opened its store.</summary>
    private void Lock(ModelNode n)
    {
        if (n.Answering(C.Now))
            throw new KmException(LocalStateErrorIds.LocalStateInUse, KmErrorCategory.ResourceUnavailable,
                $"{C.StorageDir(n)} is open in another process: the database is locked, so the node is still running, whatever its control socket says.", C.StorageDir(n));
    }

    /// <summary>LocalNodeHost.WipeAsync: ExpectAbsent proves there is nothing to wipe; else stopped, resolved again, moved aside (or deleted) under the lock.</summary>
    public Task<LocalStateRecord> WipeAsync(WipeRequest request, CancellationToken ct)
    {
        var target = C.ByDataDir(request.Node.DataDir);
        return Call("Wipe", target, true, () =>
        {
            var n = StateNode(request.Node);
            var display = request.Node.Display;
            if (request.ExpectAbsent) return NothingToWipe(n, display);
            var stop = Stopped(request.Node.Socket ?? n.Socket);
            if (!stop.Stopped)
            {
                // The host's own last check: the cmdlet's guard, just before, should never have let this through.
                C.WipesWhileRunning.Add($"{n.Name}: the wipe was asked while its socket answers (the host refused it)");
                throw new KmException(LocalStateErrorIds.WipeRefused, KmErrorCategory.InvalidOperation, $"Refusing to wipe: {stop.Problem}.", n.Socket);
            }
            if (n.State is null) return NothingToWipe(n, display);
            Lock(n);
            C.LastWipeMoved = n.Name;
            if (n.Running) C.WipesWhileRunning.Add($"{n.Name} wiped at {C.Now.TotalSeconds:0.0} s while its process ran (socket not yet open)");
            if (request.Delete)
            {
                C.Note($"{n.Name}: state deleted");
                n.State = null;
                return Record(n, display, "Deleted", null);
            }
            var name = LocalStateWiper.BackupName(C.Time);
            var backup = Path.Combine(C.RuntimeDir(n), name);
            for (var i = 1; n.Backups.Any(b => b.Path == backup); i++) backup = Path.Combine(C.RuntimeDir(n), name + "-" + i);
            var sequence = n.Backups.Select(b => b.Sequence).DefaultIfEmpty(0).Max() + 1;
            n.Backups.Add(new ModelBackup(backup, sequence, C.Time, n.State));
            C.Note($"{n.Name}: state ({C.EnclaveName(n.State.Enclave)}) moved aside to {Path.GetFileName(backup)}");
            n.State = null;
            return Record(n, display, "MovedAside", backup);
        });
    }

    private LocalStateRecord NothingToWipe(ModelNode n, string display)
    {
        if (n.State is not null)
            throw new KmException(LocalStateErrorIds.LocalStateAppeared, KmErrorCategory.InvalidOperation,
                $"{C.StorageDir(n)} appeared after it was found absent; nothing was wiped.", C.StorageDir(n));
        return Record(n, display, "NothingToWipe", null);
    }

    public Task<LocalStateRecord> RestoreAsync(RestoreRequest request, CancellationToken ct) =>
        Call("Restore", C.ByDataDir(request.Node.DataDir), true, () =>
        {
            var n = StateNode(request.Node);
            var stop = Stopped(request.Node.Socket ?? n.Socket);
            if (!stop.Stopped)
                throw new KmException(LocalStateErrorIds.NodeRunning, KmErrorCategory.InvalidOperation, $"Refusing to restore under a running node: {stop.State}.", n.Socket);
            if (n.State is not null)
                throw new KmException(LocalStateErrorIds.LocalStateExists, KmErrorCategory.ResourceExists, $"{C.StorageDir(n)} exists; restoring would replace it.", C.StorageDir(n));
            var backups = Ordered(n).ToList();
            if (backups.Count == 0)
                throw new KmException(LocalStateErrorIds.NoLocalStateBackup, KmErrorCategory.ObjectNotFound, $"No backup of the local state in {C.RuntimeDir(n)}.", C.RuntimeDir(n));
            var chosen = string.IsNullOrEmpty(request.Backup) ? backups[0]
                : backups.FirstOrDefault(b => b.Path == request.Backup || Path.GetFileName(b.Path) == request.Backup)
                  ?? throw new KmException(LocalStateErrorIds.NoLocalStateBackup, KmErrorCategory.ObjectNotFound, $"'{request.Backup}' is not a local state backup of {C.RuntimeDir(n)}.", request.Backup);
            n.Backups.Remove(chosen);
            n.State = chosen.Content;
            C.Note($"{n.Name}: {Path.GetFileName(chosen.Path)} restored");
            return Record(n, request.Node.Display, "Restored", chosen.Path);
        });

    /// <summary>BundleStaging.Place: beside the bundle the config names now; a file of that name with other bytes is never replaced.</summary>
    private (string Destination, bool Present) Place(ModelNode n, BundleChangeRequest request)
    {
        if (request.BundleRuntimeId != ModelCluster.RuntimeId)
            throw new KmException(ConfigErrorIds.BundleRuntimeMismatch, KmErrorCategory.InvalidData,
                $"{request.FileName} is a bundle of runtime {request.BundleRuntimeId}, but {n.ConfigPath} configures key manager {ModelCluster.RuntimeId}.", n.ConfigPath);
        var destination = Path.Combine(Path.GetDirectoryName(n.Bundle)!, request.FileName);
        if (!C.Files.TryGetValue(destination, out var f)) return (destination, false);
        if (f.Digest == request.Digest) return (destination, true);
        throw new KmException(BundleErrorIds.BundleConflict, KmErrorCategory.ResourceExists,
            $"{destination} already exists with other contents than the ORC to install (SHA-512/256 differs); it was left alone.", destination);
    }

    public Task<BundleChangePreview> PreviewBundleChangeAsync(BundleChangeRequest request, string? localOrcPath, CancellationToken ct) =>
        Call("PreviewBundle", C.ByConfig(request.ConfigPath), false, () =>
        {
            var n = Config(request.ConfigPath);
            var (destination, present) = Place(n, request);
            return new BundleChangePreview { ConfigPath = n.ConfigPath, Destination = destination, Present = present, OldBundle = n.Bundle, AlreadyNamed = n.Bundle == destination };
        });

    public Task<KmBundleChange> SetBundleAsync(BundleChangeRequest request, string localOrcPath, IHostEvents events, CancellationToken ct) =>
        Call("SetBundle", C.ByConfig(request.ConfigPath), true, () =>
        {
            var n = Config(request.ConfigPath);
            var (destination, present) = Place(n, request);
            if (!present)
            {
                // The digest the caller read is the one staged: the model knows the new ORC by its digest.
                var enclave = request.Digest == C.NewDigest ? C.NewEnclave : "unknown-" + request.Digest[..16];
                C.Files[destination] = new ModelFile(request.BundleVersion, enclave, request.Digest);
            }
            var old = n.Bundle;
            var changed = old != destination;
            if (changed)
            {
                n.Bundle = destination;
                n.ConfigBackups++;
                C.Note($"{n.Name}: config now names {Path.GetFileName(destination)}");
            }
            return new KmBundleChange
            {
                Node = request.Name ?? n.ConfigPath, ConfigPath = n.ConfigPath, RuntimeId = ModelCluster.RuntimeId, OldBundle = old, NewBundle = destination,
                NewVersion = request.BundleVersion, Changed = changed, BackupPath = changed ? $"{n.ConfigPath}.{n.ConfigBackups}.bak" : null,
            };
        });

    private ModelNode Lifecycle(KmNode node) =>
        C.BySocket(Address(node.Socket).Path) ?? throw new KmException(LifecycleErrorIds.LifecycleScriptFailed, KmErrorCategory.InvalidOperation, $"No node '{node.Name}' in the model.", node.Name);

    public Task<KmLifecycleResult> StopAsync(KmNode node, bool useControlApi, TimeSpan timeout, IHostEvents events, CancellationToken ct) =>
        Call("Stop", C.BySocket(Address(node.Socket).Path), true, () =>
        {
            var n = Lifecycle(node);
            // The stop script ends the process (a slow-starting one too); the socket is then silent at once.
            C.EndProcess(n, killed: false, "Stop-KmNode");
            n.StaleSocket = false;
            return new KmLifecycleResult
            {
                Node = node.Name, Action = "Stop", Method = useControlApi ? NodeLifecycle.ControlApiMethod : NodeLifecycle.Method(node, "stop"),
                State = "Stopped", Duration = TimeSpan.Zero,
            };
        });

    /// <summary>LocalNodeHost.StartAsync: the start script, then the socket polled (every 200 ms of model time) until it answers or the timeout passes.</summary>
    public Task<KmLifecycleResult> StartAsync(KmNode node, TimeSpan timeout, IHostEvents events, CancellationToken ct) =>
        CallAsync("Start", C.BySocket(Address(node.Socket).Path), true, async () =>
        {
            var n = Lifecycle(node);
            C.StartProcess(n, by: "Start-KmNode");
            var timer = PollClock.StartTimer();
            while (!n.Answering(C.Now))
            {
                if (timer.Elapsed > timeout)
                    throw new KmException(LifecycleErrorIds.StartTimeout, KmErrorCategory.OperationTimeout,
                        $"Node '{node.Name}' did not answer on {n.SocketPath} within {(int)timeout.TotalSeconds} s (last seen: no socket).", node.Name);
                await PollClock.PauseAsync(TimeSpan.FromMilliseconds(200), ct).ConfigureAwait(false);
                ct.ThrowIfCancellationRequested();
            }
            return new KmLifecycleResult { Node = node.Name, Action = "Start", Method = NodeLifecycle.Method(node, "start"), State = "Started", Duration = timer.Elapsed };
        });

    public Task<LogScan> ScanLogAsync(string path, string? name, int tail, CancellationToken ct) =>
        Call("ScanLog", null, false, () => new LogScan { Path = path, LinesRead = 0 });
}
