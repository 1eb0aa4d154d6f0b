using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using KmPs.Simulator.Cluster;
using KmPs.Simulator.Control;

namespace KmPs.Simulator.Node;

/// <summary>
/// One simulated key manager node: loads its state sealed to (enclave, CPU), replicates from ready
/// committee peers once its version's deployment is active and the policy allows, registers every
/// epoch, and serves the control API. The behaviour a real node shows at each step is in
/// spec/oasis-control-api.md §8 and spec/oasis-operations.md; differences are listed in README.
/// <para>
/// Its pieces share one <see cref="StateCell{T}"/> of <see cref="SimNodeState"/>: the loop
/// (<see cref="NodeTick"/>: <see cref="SecretAcquisition"/>, <see cref="RegistrationWorker"/>) and the
/// gRPC services (<see cref="NodeControlApi"/>, <see cref="ReplicationSource"/>). The clock and the
/// fault set come in through <see cref="SimNodePorts"/>, so the same pieces run in a unit test.
/// </para>
/// </summary>
public sealed class SimNode
{
    private readonly SimNodeContext _ctx;
    private readonly SimNodePorts _ports;
    private readonly StateCell<SimNodeState> _cell = new(SimNodeState.Initial);
    private readonly NodeTick _tick;
    private readonly TaskCompletionSource _exit = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public string Name => _ctx.Name;
    public NodeLog Log => _ports.Log;
    /// <summary>The current state snapshot.</summary>
    public SimNodeState State => _cell.Value;
    public Faults Faults => _cell.Value.Faults;
    public NodeControlApi Api { get; }
    public int ExitCode { get; private set; }

    /// <summary>A node of the cluster at <paramref name="layout"/> (its files, the system clock, faults/&lt;node&gt;.json, peers over gRPC).</summary>
    public SimNode(ClusterLayout layout, string name, NodeSetup setup)
        : this(SimNodeContext.Of(layout, ClusterSpec.Load(layout), name, setup), new SimNodePorts
        {
            Chain = new Chain(layout),
            Log = new NodeLog(setup.LogFile),
            Clock = EpochClock.Of(ClusterSpec.Load(layout)),
            Faults = () => AtomicFile.ReadJson<Faults>(layout.FaultFile(name)) ?? Faults.None,
            Peers = new GrpcReplicationClient(),
        })
    {
    }

    public SimNode(SimNodeContext ctx, SimNodePorts ports)
    {
        _ctx = ctx;
        _ports = ports;
        _tick = new NodeTick(ctx, ports, _cell);
        Api = new NodeControlApi(ctx, ports, _cell, _exit.Task);
    }

    /// <summary>Completes when the node has deregistered after a shutdown request.</summary>
    public Task Exited => _exit.Task;

    /// <summary>One turn of the loop (an exit outcome also completes <see cref="Exited"/>).</summary>
    public TickOutcome Tick()
    {
        var outcome = _tick.Run();
        if (outcome == TickOutcome.Exit) _exit.TrySetResult();
        return outcome;
    }

    /// <summary>Runs the node until shutdown; returns the process exit code.</summary>
    public async Task<int> RunAsync(CancellationToken stop)
    {
        var faults = _ports.Faults();
        _cell.Update(s => s with { Faults = faults });
        var setup = _ctx.Setup;
        Log.Info("node", "starting simulated oasis-node", ("node", Name), ("software_version", _ctx.SoftwareVersion),
            ("runtime_id", setup.KmRuntimeId), ("runtime_version", setup.Version.ToString()), ("enclave", setup.Identity.ToString()));
        if (faults.SlowStartMs > 0) await Task.Delay(TimeSpan.FromMilliseconds(faults.SlowStartMs), _ports.Time, stop).ConfigureAwait(false);
        // Like oasis-node opening its badger store (badger dir_unix.go acquireDirectoryLock): the
        // folder exists from start-up, the folder itself is flock'ed exclusively for as long as the
        // process runs, and LOCK is only a pid file, removed on close.
        // Like identity.LoadOrGenerate (go/common/identity/identity.go): the node's key is created in
        // the data dir at first start and kept; it is what marks a folder as a node's data dir.
        var identity = Path.Combine(setup.DataDir, KmPs.Core.LocalState.LocalStateWiper.NodeIdentityFile);
        if (!File.Exists(identity))
            File.WriteAllText(identity, "-----BEGIN ED25519 PRIVATE KEY-----\n" + Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes("node " + Name))) + "\n-----END ED25519 PRIVATE KEY-----\n");
        Directory.CreateDirectory(_ctx.StorageDir);
        using var dbLock = OpenDatabase();
        Directory.CreateDirectory(Path.GetDirectoryName(_ctx.P2pSocket)!);
        await using var server = await ControlServer.StartAsync(setup.Socket, _ctx.P2pSocket, Api, stop).ConfigureAwait(false);
        Log.Info("node", "control server listening", ("socket", server.SocketPath));
        var tick = TimeSpan.FromMilliseconds(Math.Clamp(_ports.Clock.IntervalMs / 5, 20, 250));
        while (!stop.IsCancellationRequested && !_exit.Task.IsCompleted)
        {
            try
            {
                if (Tick() == TickOutcome.Crash) Environment.Exit(SecretAcquisition.CrashExitCode);
            }
            catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
            {
                Log.Error("node", "tick failed", ("err", e.Message));
            }
            await Task.WhenAny(Task.Delay(tick, _ports.Time, stop), _exit.Task).ConfigureAwait(false);
        }
        Log.Info("node", "stopped", ("exit_code", ExitCode));
        return ExitCode;
    }

    /// <summary>Badger's Open: the directory lock, refused while another process holds it, then the pid file.</summary>
    private IDisposable OpenDatabase()
    {
        var dir = _ctx.StorageDir;
        if (!KmPs.Core.Files.DirectoryLock.TryAcquire(dir, out var held, out var pid))
            throw new IOException($"Cannot acquire directory lock on \"{dir}\".  Another process is using this Badger database. (pid {pid})");
        var pidFile = Path.Combine(dir, KmPs.Core.LocalState.LocalStateWiper.PidFileName);
        File.WriteAllText(pidFile, Environment.ProcessId + "\n");
        return new PidFileLock(held!, pidFile);
    }

    private sealed class PidFileLock(IDisposable held, string pidFile) : IDisposable
    {
        public void Dispose()
        {
            try { File.Delete(pidFile); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            held.Dispose();
        }
    }
}
