using System.Security.Cryptography;
using System.Text;
using KmPs.Simulator.Cluster;
using KmPs.Simulator.Node;
using KmPs.Simulator.Shapes;
using KmPs.Core.Status;
using KmPs.Core.Wire;
using KmPs.Tools;

namespace KmPs.Explorer.Model;

/// <summary>What a state folder holds: the master secret's checksum, sealed by one enclave (on the node's one CPU).</summary>
public sealed record SealedState(string Enclave, string Checksum);

/// <summary>A moved-aside state folder (LocalStateWiper.MoveAside) and what it holds.</summary>
public sealed record ModelBackup(string Path, long Sequence, DateTimeOffset MovedAt, SealedState? Content);

/// <summary>A staged ORC copy beside a node's bundle: which version and enclave it is.</summary>
public sealed record ModelFile(string Version, string Enclave, string Digest);

/// <summary>
/// One key manager node of the in-memory cluster: its files (config's bundle, sealed state, backups),
/// its process (running, the enclave it runs, what it holds in memory, its registration attempts) and
/// its faults. Process fields are reset on every start, as a new process starts from nothing.
/// </summary>
public sealed class ModelNode
{
    public required string Name { get; init; }
    public required string DataDir { get; init; }
    public required string SocketPath { get; init; }
    public string Socket => "unix:" + SocketPath;
    public required string ConfigPath { get; init; }
    public required string LogPath { get; init; }
    public required string BundleDir { get; init; }

    // ---- files
    /// <summary>The key manager bundle the config names.</summary>
    public string Bundle { get; set; } = "";
    public SealedState? State { get; set; }
    public List<ModelBackup> Backups { get; set; } = new();
    /// <summary>Config backups Set-KmRuntimeBundle kept.</summary>
    public int ConfigBackups { get; set; }

    // ---- process
    public bool Running { get; set; }
    /// <summary>Model time from which the control socket answers (a slow start opens it late).</summary>
    public TimeSpan AnswersAt { get; set; }
    /// <summary>The process died (killed, crashed) and left its socket file: connections are refused.</summary>
    public bool StaleSocket { get; set; }
    public string? RunEnclave { get; set; }
    public string? RunVersion { get; set; }
    public bool HasSecret { get; set; }
    public bool Registered { get; set; }
    public ulong RegisteredEpoch { get; set; } = ulong.MaxValue;
    public ulong? RegistrationExpiration { get; set; }
    public bool RegisteredWithSecret { get; set; }
    public string KmStatus { get; set; } = KmStatusWords.Starting;
    public long? LastRegistrationUnix { get; set; }
    public long? LastAttemptUnix { get; set; }
    public bool LastAttemptOk { get; set; } = true;
    public string? LastAttemptError { get; set; }
    /// <summary>Its state was sealed by another enclave: the runtime panics on every load ("Enclave panicked").</summary>
    public bool Panicking { get; set; }

    // ---- faults (the simulator's Faults): CrashWhileReplicating, ReplicationRefused, PeerUnreachable,
    // RegistrationFails, SealWriteError, SlowStart. The model's rules read them only through
    // ModelCluster.Has, which notes each read of a set fault (see ModelCluster.Consulted).
    internal ulong FaultBits;

    /// <summary>The faults set on this node, for the world's key (reading them here is not the model consulting them).</summary>
    public string Faults => string.Join(",", Enum.GetValues<FaultKind>().Where(k => (FaultBits & (1UL << (int)k)) != 0));

    public bool Answering(TimeSpan now) => Running && now >= AnswersAt;

    public ModelNode Clone()
    {
        var c = (ModelNode)MemberwiseClone();
        c.Backups = new List<ModelBackup>(Backups);
        return c;
    }
}

/// <summary>
/// An in-memory key manager cluster with the simulator's rules (src/KmPs.Simulator/Node: NodeTick,
/// SecretAcquisition, ReplicationSource/ReplicationRules, RegistrationWorker; Cluster/Chain.cs): a node started with no state replicates from a ready committee peer once its
/// version's deployment is active, the peer finds it registered with its enclave, and the policy lets
/// the peer's enclave replicate to it; a node whose state another enclave sealed never unseals it
/// (oasis-core's runtime panics, spec Q5); a running node registers every epoch (expiring two epochs
/// later) and is ready once registered with its secret. Time is model time: it advances only when a
/// wait pauses (PollClock), and an epoch lasts <see cref="EpochLength"/>.
/// </summary>
public sealed class ModelCluster
{
    public const string OldVersion = "0.5.0";
    public const string NewVersion = "0.6.0";
    public const string RuntimeId = "4000000000000000000000000000000000000000000000004a1a53dff2ae482d";
    public static readonly DateTimeOffset Genesis = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public required SchemaGeneration Generation { get; init; }
    public required string OldEnclave { get; init; }
    public required string NewEnclave { get; init; }
    /// <summary>The new ORC's SHA-512/256 (what Set-KmRuntimeBundle pins).</summary>
    public required string NewDigest { get; init; }
    public TimeSpan EpochLength { get; init; } = TimeSpan.FromSeconds(2);
    public ulong FirstEpoch { get; init; } = 1;
    public ulong UpgradeEpoch { get; set; }

    public TimeSpan Now { get; private set; }
    public ulong Epoch => FirstEpoch + (ulong)(Now.Ticks / EpochLength.Ticks);
    public DateTimeOffset Time => Genesis + Now;
    public long UnixNow => Time.ToUnixTimeSeconds();
    public long Height => Now.Ticks * 10 / EpochLength.Ticks + 1;

    /// <summary>The consensus key manager status's checksum (the master secret every holder has).</summary>
    public string Checksum { get; init; } = Convert.ToHexString(SHA256.HashData("explorer master secret"u8)).ToLowerInvariant();
    /// <summary>The key manager policy in effect (the simulator's SimPolicy; enclaves are MRENCLAVE‖MRSIGNER hex).</summary>
    public SimPolicy Policy
    {
        get => _policy;
        set { _policy = value; _policyChecksum = null; }
    }
    private SimPolicy _policy = new();
    private byte[]? _policyChecksum;
    /// <summary>
    /// The nodes' registrations on the chain (the simulator's own type), by node; one is kept after its process
    /// ends until it expires (a node stopped by its service manager does not deregister). Never changed once
    /// stored: a registration replaces it.
    /// </summary>
    public Dictionary<string, ChainRegistration> Registry { get; set; } = new();
    public List<ModelNode> Nodes { get; set; } = new();
    /// <summary>Files beside the nodes' bundles: path → what it is (the old bundles and the staged copies).</summary>
    public Dictionary<string, ModelFile> Files { get; set; } = new();
    /// <summary>What happened, in order (for a violation's replay).</summary>
    [NotState]
    public List<string> Events { get; set; } = new();
    /// <summary>Wipes done while the node's process ran (invariant 1 as the model sees it).</summary>
    public List<string> WipesWhileRunning { get; set; } = new();
    /// <summary>The node whose state the last wipe moved aside or deleted (for the explorer's check of its staying peers).</summary>
    public string? LastWipeMoved { get; set; }

    public IEnumerable<(string Version, ulong ValidFrom, string Enclave)> Deployments =>
        new[] { (OldVersion, FirstEpoch, OldEnclave), (NewVersion, UpgradeEpoch, NewEnclave) };

    /// <summary>The deployments as the simulator's registry shapes take them (tee.enclaves: the enclave identity).</summary>
    public SimDeployment[] SimDeployments => Deployments.Select(d => new SimDeployment { Version = d.Version, ValidFrom = d.ValidFrom, Identity = d.Enclave }).ToArray();

    public ModelNode Node(string name) => Nodes.First(n => n.Name == name);

    public ModelNode? BySocket(string socketPath) => Nodes.FirstOrDefault(n => n.SocketPath == socketPath);

    public ModelNode? ByDataDir(string dataDir) => Nodes.FirstOrDefault(n => n.DataDir == dataDir.TrimEnd('/'));

    public ModelNode? ByConfig(string configPath) => Nodes.FirstOrDefault(n => n.ConfigPath == configPath);

    public string StorageDir(ModelNode n) => Path.Combine(n.DataDir, "runtimes", RuntimeId, KmPs.Core.LocalState.LocalStatePath.StorageName);

    public string RuntimeDir(ModelNode n) => Path.Combine(n.DataDir, "runtimes", RuntimeId);

    public void Note(string text) => Events.Add($"[{Now.TotalSeconds,7:0.0}s e{Epoch}] {text}");

    /// <summary>A cluster of <paramref name="count"/> ready nodes on the old version, sealed by the old enclave, at epoch 10.</summary>
    public static ModelCluster Create(int count, SchemaGeneration generation, string oldEnclave, string newEnclave, string newDigest, int upgradeInEpochs)
    {
        var c = new ModelCluster { Generation = generation, OldEnclave = oldEnclave, NewEnclave = newEnclave, NewDigest = newDigest };
        c.Now = TimeSpan.FromTicks(c.EpochLength.Ticks * 9) + TimeSpan.FromMilliseconds(100);
        c.UpgradeEpoch = c.Epoch + (ulong)upgradeInEpochs;
        c.Policy = c.AllowingPolicy(1);
        for (var i = 1; i <= count; i++)
        {
            var root = $"/kmmodel/km{i}";
            var n = new ModelNode
            {
                Name = $"km{i}", DataDir = root + "/data", SocketPath = root + "/data/internal.sock", ConfigPath = root + "/config.yml",
                LogPath = root + "/data/node.log", BundleDir = root + "/bundles",
            };
            n.Bundle = Path.Combine(n.BundleDir, $"keymanager-{OldVersion}.orc");
            c.Files[n.Bundle] = new ModelFile(OldVersion, oldEnclave, "old");
            n.State = new SealedState(oldEnclave, c.Checksum);
            c.Nodes.Add(n);
            c.StartProcess(n, by: "setup");
        }
        // Settle: every node registered with its secret (two ticks).
        c.TickAll();
        c.TickAll();
        c.Events.Clear();
        return c;
    }

    public ModelCluster Clone()
    {
        var c = (ModelCluster)MemberwiseClone();
        c.Nodes = Nodes.Select(n => n.Clone()).ToList();
        c.Registry = new Dictionary<string, ChainRegistration>(Registry);
        c.Files = new Dictionary<string, ModelFile>(Files);
        c.Policy = Policy.Clone();
        c.Events = new List<string>(Events);
        c.WipesWhileRunning = new List<string>(WipesWhileRunning);
        c.Consulted = new HashSet<(string, FaultKind)>(Consulted);
        return c;
    }

    // ---- time

    /// <summary>A wait's pause: model time moves on and every node's loop runs (NodeTick).</summary>
    public void Advance(TimeSpan dt)
    {
        if (dt <= TimeSpan.Zero) return;
        var before = Epoch;
        Now += dt;
        if (Epoch != before) Note($"epoch {Epoch}");
        TickAll();
    }

    private void TickAll()
    {
        foreach (var n in Nodes)
            if (n.Answering(Now)) Tick(n);
    }

    // ---- processes

    /// <summary>A process starts on the bundle its config names (a slow start opens the socket late).</summary>
    public void StartProcess(ModelNode n, string by)
    {
        if (n.Running) return;
        var file = Files.TryGetValue(n.Bundle, out var f) ? f : null;
        n.Running = true;
        n.StaleSocket = false;
        var slow = Has(n, FaultKind.SlowStart) ? SlowStartDelay : TimeSpan.Zero;
        n.AnswersAt = Now + slow;
        n.RunEnclave = file?.Enclave;
        n.RunVersion = file?.Version;
        n.HasSecret = false;
        n.Registered = false;
        n.RegisteredEpoch = ulong.MaxValue;
        n.RegistrationExpiration = null;
        n.RegisteredWithSecret = false;
        n.KmStatus = KmStatusWords.Starting;
        n.LastRegistrationUnix = null;
        n.LastAttemptUnix = null;
        n.LastAttemptOk = true;
        n.LastAttemptError = null;
        n.Panicking = false;
        Note($"{n.Name} started ({by}) on {Path.GetFileName(n.Bundle)}" + (slow > TimeSpan.Zero ? $", socket after {slow.TotalSeconds:0} s" : ""));
        // The node's loop runs as soon as its control server listens (SimNode.RunAsync).
        if (n.Answering(Now)) Tick(n);
    }

    /// <summary>The process ends: stopped cleanly (its socket removed), or killed/crashed (its socket file left behind).</summary>
    public void EndProcess(ModelNode n, bool killed, string why)
    {
        if (!n.Running) return;
        n.Running = false;
        n.StaleSocket = killed;
        n.HasSecret = false;
        n.KmStatus = KmStatusWords.Stopped;
        Note($"{n.Name} {(killed ? "died" : "stopped")}: {why}");
    }

    // ---- the node's loop (NodeTick: SecretAcquisition, then RegistrationWorker)

    private void Tick(ModelNode n)
    {
        var epoch = Epoch;
        if (!n.HasSecret)
        {
            ObtainSecret(n, epoch);
            if (!n.Running) return; // crashed while replicating
        }
        var wantSecretRegistration = n.HasSecret && !n.RegisteredWithSecret;
        if (epoch != n.RegisteredEpoch || wantSecretRegistration) Register(n, epoch);
    }

    private void ObtainSecret(ModelNode n, ulong epoch)
    {
        if (n.State is { } state)
        {
            if (state.Enclave == n.RunEnclave)
            {
                n.HasSecret = true;
                Note($"{n.Name} loaded the master secret from local storage");
            }
            else if (!n.Panicking)
            {
                n.Panicking = true;
                Note($"{n.Name}: Enclave panicked (its state was sealed by another enclave)");
            }
            return;
        }
        var deployment = Deployments.FirstOrDefault(d => d.Version == n.RunVersion);
        if (deployment.Version is null || deployment.ValidFrom > epoch) return; // replication only once its version is active
        if (!n.Registered) return; // peers serve registered nodes only (access list)
        foreach (var peerName in Committee(epoch).Select(p => p.Node).Where(p => p != n.Name))
        {
            var refusal = Replicate(Node(peerName), n, epoch);
            if (refusal is not null) continue;
            if (Has(n, FaultKind.CrashWhileReplicating))
            {
                Note($"{n.Name} crashed while replicating from {peerName}");
                EndProcess(n, killed: true, "crash while replicating");
                return;
            }
            if (Has(n, FaultKind.SealWriteError))
            {
                Note($"{n.Name}: failed to persist the master secret replicated from {peerName} (write error)");
                return;
            }
            n.State = new SealedState(n.RunEnclave!, Checksum);
            n.HasSecret = true;
            Note($"{n.Name} replicated the master secret from {peerName} and sealed it ({EnclaveName(n.RunEnclave)})");
            return;
        }
    }

    /// <summary>The peer's answer to a replication request (ReplicationSource.Gate, then Decide): null when it hands the secret over.</summary>
    private string? Replicate(ModelNode peer, ModelNode to, ulong epoch)
    {
        if (!peer.Answering(Now)) return "peer down";
        if (Has(peer, FaultKind.PeerUnreachable)) return ReplicationSource.Unreachable.Detail;
        if (Has(peer, FaultKind.ReplicationRefused)) return ReplicationSource.Refused.Detail;
        if (!peer.HasSecret || peer.KmStatus != KmStatusWords.Ready) return ReplicationSource.NotInitialized.Detail;
        if (!Registry.TryGetValue(to.Name, out var reg) || reg.Identity != to.RunEnclave || reg.Expiration < epoch) return ReplicationSource.NotInAccessList.Detail;
        // The requester's enclave asks only enclaves its policy lets it replicate from; the source's enclave
        // serves only enclaves its own entry lists: the simulator's rules (Node/ReplicationRules.cs).
        if (!ReplicationRules.MayReplicateFrom(Policy, to.RunEnclave!).Contains(peer.RunEnclave!)) return ReplicationRules.MismatchedEnclaveIdentity;
        if (!ReplicationRules.MayReplicateSecret(Policy, peer.RunEnclave!, to.RunEnclave!)) return ReplicationRules.NotAuthorized;
        return null;
    }

    /// <summary>The policy ClusterBuilder writes: the old enclave may replicate to the new one, which has its own entry.</summary>
    public SimPolicy AllowingPolicy(uint serial) => new()
    {
        Serial = serial,
        Enclaves = { ClusterBuilder.PolicyEntry(OldEnclave, new[] { NewEnclave }), ClusterBuilder.PolicyEntry(NewEnclave, Array.Empty<string>()) },
    };

    /// <summary>A policy not (or no longer) updated for the new enclave (ClusterOptions.PolicyAllowsUpgrade = false).</summary>
    public SimPolicy DenyingPolicy(uint serial) => new() { Serial = serial, Enclaves = { ClusterBuilder.PolicyEntry(OldEnclave, Array.Empty<string>()) } };

    private void Register(ModelNode n, ulong epoch)
    {
        n.LastAttemptUnix = UnixNow;
        string? failure = null;
        if (Has(n, FaultKind.RegistrationFails)) failure = RegistrationWorker.SimulatedFailure;
        else if (!Deployments.Any(d => d.Version == n.RunVersion && d.Enclave == n.RunEnclave))
            failure = RegistrationWorker.UnknownEnclaveVersion;
        if (failure is not null)
        {
            n.LastAttemptOk = false;
            n.LastAttemptError = failure;
            return;
        }
        Registry[n.Name] = new ChainRegistration
        {
            Node = n.Name, Version = n.RunVersion!, Identity = n.RunEnclave!, Checksum = n.HasSecret ? Checksum : null,
            Epoch = epoch, Expiration = epoch + RegistrationWorker.Lifetime, UnixTime = UnixNow,
        };
        n.Registered = true;
        n.RegisteredEpoch = epoch;
        n.RegistrationExpiration = epoch + RegistrationWorker.Lifetime;
        n.LastRegistrationUnix = UnixNow;
        n.LastAttemptOk = true;
        n.LastAttemptError = null;
        if (n.HasSecret)
        {
            if (!n.RegisteredWithSecret) Note($"{n.Name} registered with its init response ({n.RunVersion}): ready");
            n.RegisteredWithSecret = true;
            n.KmStatus = KmStatusWords.Ready;
        }
    }

    /// <summary>
    /// The committee at an epoch, by node name: the simulator's rule (Chain.CommitteeOf: registered, not expired,
    /// with the consensus checksum and a deployed version) over the model's registry.
    /// </summary>
    public IEnumerable<ChainRegistration> Committee(ulong epoch) =>
        Chain.CommitteeOf(ConsensusStatus, ChainDeployments, Registry.Values, epoch).OrderBy(r => r.Node, StringComparer.Ordinal);

    /// <summary>The consensus key manager status: initialised, with the master secret's checksum.</summary>
    private ChainKeyManagerStatus ConsensusStatus => _consensus ??= new ChainKeyManagerStatus { IsInitialized = true, Checksum = Checksum };
    private ChainKeyManagerStatus? _consensus;

    /// <summary>The deployments as the chain holds them (built again only when the upgrade epoch changes).</summary>
    private ChainDeployment[] ChainDeployments
    {
        get
        {
            if (_chainDeployments is null || _chainDeploymentsFor != UpgradeEpoch)
            {
                _chainDeployments = Deployments.Select(d => new ChainDeployment { Version = d.Version, ValidFrom = d.ValidFrom, Identity = d.Enclave }).ToArray();
                _chainDeploymentsFor = UpgradeEpoch;
            }
            return _chainDeployments;
        }
    }
    private ChainDeployment[]? _chainDeployments;
    private ulong _chainDeploymentsFor;

    public string EnclaveName(string? enclave) => enclave == OldEnclave ? "old enclave" : enclave == NewEnclave ? "new enclave" : enclave ?? "none";

    // ---- status (NodeStatusView.Build)

    /// <summary>The checksum of the policy in effect, which an enclave registers (SimPolicy.Checksum: SHA3-256 of its CBOR).</summary>
    public byte[] PolicyChecksum => _policyChecksum ??= Policy.Checksum(RuntimeId);

    /// <summary>
    /// The status CBOR a node answers (StatusShapes of <see cref="Snapshot"/>), encoded and decoded as
    /// ControlClient decodes it; memoized on <see cref="StatusKey"/>.
    /// </summary>
    public CborNode StatusCbor(ModelNode n) => ShapeCache.Get(StatusKey(n), () => CborCodec.Decode(StatusShapes.Encode(Snapshot(n))));

    /// <summary>Everything <see cref="Snapshot"/> reads (keep the two together): the cluster's constants, the node's process fields, the epoch, the height, the committee, the policy, the deployments.</summary>
    private string StatusKey(ModelNode n) => string.Join('|', "status", Generation, OldEnclave, NewEnclave, Checksum, EpochLength.Ticks, UpgradeEpoch,
        n.Name, n.KmStatus, n.RunVersion ?? "-", n.HasSecret && n.RegisteredWithSecret, n.Registered, n.RegistrationExpiration, n.LastRegistrationUnix,
        n.LastAttemptUnix, n.LastAttemptOk, n.LastAttemptError ?? "-", Epoch, Height, string.Join(',', Committee(Epoch).Select(c => c.Node)),
        Convert.ToHexString(PolicyChecksum));

    /// <summary>The registry's runtime descriptor (RegistryShapes), memoized on the deployments.</summary>
    public CborNode RuntimeCbor() => ShapeCache.Get(string.Join('|', "runtime", OldEnclave, NewEnclave, FirstEpoch, UpgradeEpoch),
        () => CborCodec.Decode(RegistryShapes.EncodeRuntime(RuntimeId, SimDeployments)));

    public SimNodeStatus Snapshot(ModelNode n)
    {
        var epoch = Epoch;
        var policyChecksum = PolicyChecksum;
        string? extraInfo = null;
        if (n.HasSecret && n.RegisteredWithSecret)
            extraInfo = Convert.ToBase64String(KmInitResponse.Encode(true, Convert.FromHexString(Checksum), policyChecksum,
                SimKeys.Derive(n.Name, "rak-signature-" + epoch, 64)));
        return new SimNodeStatus
        {
            Generation = Generation,
            NodeSeed = n.Name,
            KmRuntimeId = RuntimeId,
            KmStatus = n.KmStatus,
            RuntimeVersion = n.RunVersion ?? OldVersion,
            Epoch = epoch,
            Height = Height,
            LatestTimeUnix = (Genesis + TimeSpan.FromTicks((Height - 1) * EpochLength.Ticks / 10)).ToUnixTimeSeconds(),
            Registered = n.Registered,
            RegistrationExpiration = n.RegistrationExpiration,
            LastRegistrationUnix = n.LastRegistrationUnix,
            LastAttemptUnix = n.LastAttemptUnix,
            LastAttemptSuccessful = n.LastAttemptOk,
            LastAttemptError = n.LastAttemptError,
            ExtraInfoBase64 = extraInfo,
            ConsensusChecksumHex = Checksum,
            ConsensusInitialized = true,
            ConsensusNodes = Committee(epoch).Count(),
            CommitteeSeeds = Committee(epoch).Select(c => c.Node).ToArray(),
            PolicyChecksumHex = Convert.ToHexString(policyChecksum).ToLowerInvariant(),
            Policy = Policy,
            Deployments = SimDeployments,
        };
    }

    // ---- faults

    /// <summary>Applies a fault now; false when it has nothing to act on (no stopped node to restart by hand).</summary>
    public bool Inject(FaultKind kind, ModelNode? target)
    {
        switch (kind)
        {
            // A start slower than the run's -NodeTimeoutSec (SlowStartDelay): it times out, and the node answers later.
            case FaultKind.CrashWhileReplicating or FaultKind.ReplicationRefused or FaultKind.PeerUnreachable
                or FaultKind.RegistrationFails or FaultKind.SealWriteError or FaultKind.SlowStart:
                target!.FaultBits |= 1UL << (int)kind;
                break;
            case FaultKind.KillNode:
                if (!target!.Running) return false;
                EndProcess(target, killed: true, "killed");
                break;
            case FaultKind.RestartedByHand:
                if (target!.Running) return false;
                StartProcess(target, by: "hand");
                break;
            case FaultKind.PolicyDenies:
                // A policy update that drops the new enclave, in effect at once (before 25.6).
                Policy = DenyingPolicy(Policy.Serial + 1);
                break;
            default: throw new ArgumentException($"{kind} is not a fault of the model's nodes", nameof(kind));
        }
        Note($"FAULT {kind}" + (target is null ? "" : $" on {target.Name}"));
        return true;
    }

    public static readonly TimeSpan SlowStartDelay = TimeSpan.FromSeconds(15);

    /// <summary>The node faults that only set a flag the model's rules read later (the others act at once).</summary>
    public static bool IsLatent(FaultKind kind) => kind is FaultKind.CrashWhileReplicating or FaultKind.ReplicationRefused or FaultKind.PeerUnreachable
        or FaultKind.RegistrationFails or FaultKind.SealWriteError or FaultKind.SlowStart;

    /// <summary>
    /// Whether node <paramref name="n"/> has fault <paramref name="kind"/>: the only way the model's rules
    /// read a fault. A set fault read here is noted in <see cref="Consulted"/>: until then the cluster
    /// behaves exactly as if it were not set.
    /// </summary>
    private bool Has(ModelNode n, FaultKind kind)
    {
        if ((n.FaultBits & (1UL << (int)kind)) == 0) return false;
        Consulted.Add((n.Name, kind));
        return true;
    }

    /// <summary>The set faults the model's rules have read (node, kind): a record of what happened, not state.</summary>
    [NotState]
    public HashSet<(string Node, FaultKind Kind)> Consulted { get; set; } = new();

    /// <summary>What an operator does before running the command again: faults removed, the policy back, dead nodes the run did not stop restarted.</summary>
    public void ClearFaults()
    {
        foreach (var n in Nodes) n.FaultBits = 0;
        if (Policy.EntryFor(NewEnclave) is null) Policy = AllowingPolicy(Policy.Serial + 1);
        Note("faults cleared");
    }
}
