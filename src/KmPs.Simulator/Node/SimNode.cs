using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Grpc.Core;
using KmPs.Simulator.Cluster;
using KmPs.Simulator.Control;
using KmPs.Simulator.Shapes;
using KmPs.Core.Status;
using KmPs.Core.Wire;
using KmPs.Core;

namespace KmPs.Simulator.Node;

/// <summary>
/// One simulated key manager node: loads its state sealed to (enclave, CPU), replicates from ready
/// committee peers once its version's deployment is active and the policy allows, registers every
/// epoch, and serves the control API. The behaviour a real node shows at each step is in
/// spec/oasis-control-api.md §8 and spec/oasis-operations.md; differences are listed in README.
/// </summary>
public sealed class SimNode : IControlBackend
{
    private readonly ClusterLayout _layout;
    private readonly ClusterSpec _spec;
    private readonly Chain _chain;
    private readonly EpochClock _clock;
    private readonly NodeSetup _setup;
    private readonly byte[] _cpu;
    private readonly object _gate = new();
    private readonly TaskCompletionSource _exit = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private byte[]? _secret;
    private string _kmStatus = KmStatusWords.Starting;
    private ulong _registeredEpoch = ulong.MaxValue;
    private ulong? _registrationExpiration;
    private bool _registeredWithSecret;
    private long? _lastRegistration;
    private long? _lastAttempt;
    private bool _lastAttemptOk = true;
    private string? _lastAttemptError;
    private bool _registered;
    private DateTime _nextUnsealAttempt = DateTime.MinValue;
    private TimeSpan _unsealBackoff = TimeSpan.FromMilliseconds(250);
    private bool _deregisterRequested;
    private ulong _deregisterAtEpoch;
    private ulong _policyLoggedEpoch = ulong.MaxValue;

    public string Name { get; }
    public NodeLog Log { get; }
    public Faults Faults { get; private set; } = Faults.None;
    public int ExitCode { get; private set; }

    public SimNode(ClusterLayout layout, string name, NodeSetup setup)
    {
        _layout = layout;
        Name = name;
        _setup = setup;
        _spec = ClusterSpec.Load(layout);
        _chain = new Chain(layout);
        _clock = EpochClock.Of(_spec);
        _cpu = File.ReadAllBytes(layout.CpuFile(name));
        Log = new NodeLog(setup.LogFile);
    }

    private SchemaGeneration Generation => _spec.Node(Name).Generation ?? _spec.Generation;
    private string StorageDir => Path.Combine(_setup.DataDir, "runtimes", _setup.KmRuntimeId, ClusterLayout.LocalStorageName);

    /// <summary>Runs the node until shutdown; returns the process exit code.</summary>
    public async Task<int> RunAsync(CancellationToken stop)
    {
        Faults = LoadFaults();
        Log.Info("node", "starting simulated oasis-node", ("node", Name), ("software_version", SoftwareVersion),
            ("runtime_id", _setup.KmRuntimeId), ("runtime_version", _setup.Version.ToString()), ("enclave", _setup.Identity.ToString()));
        if (Faults.SlowStartMs > 0) await Task.Delay(Faults.SlowStartMs, stop).ConfigureAwait(false);
        // Like oasis-node opening its badger store (badger dir_unix.go acquireDirectoryLock): the
        // folder exists from start-up, the folder itself is flock'ed exclusively for as long as the
        // process runs, and LOCK is only a pid file, removed on close.
        // Like identity.LoadOrGenerate (go/common/identity/identity.go): the node's key is created in
        // the data dir at first start and kept; it is what marks a folder as a node's data dir.
        var identity = Path.Combine(_setup.DataDir, KmPs.Core.LocalState.LocalStateWiper.NodeIdentityFile);
        if (!File.Exists(identity))
            File.WriteAllText(identity, "-----BEGIN ED25519 PRIVATE KEY-----\n" + Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes("node " + Name))) + "\n-----END ED25519 PRIVATE KEY-----\n");
        Directory.CreateDirectory(StorageDir);
        using var dbLock = OpenDatabase();
        Directory.CreateDirectory(_layout.P2pDir);
        await using var server = await ControlServer.StartAsync(_setup.Socket, _layout.P2pSocket(Name), this, stop).ConfigureAwait(false);
        Log.Info("node", "control server listening", ("socket", server.SocketPath));
        var tick = TimeSpan.FromMilliseconds(Math.Clamp(_clock.IntervalMs / 5, 20, 250));
        while (!stop.IsCancellationRequested && !_exit.Task.IsCompleted)
        {
            try { Tick(); }
            catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
            {
                Log.Error("node", "tick failed", ("err", e.Message));
            }
            await Task.WhenAny(Task.Delay(tick, stop), _exit.Task).ConfigureAwait(false);
        }
        Log.Info("node", "stopped", ("exit_code", ExitCode));
        return ExitCode;
    }

    private string SoftwareVersion => Generation switch
    {
        SchemaGeneration.V22_2 => "22.2.13",
        SchemaGeneration.V23_0 => "23.0.11",
        _ => _spec.SoftwareVersion ?? "24.3.2",
    };

    /// <summary>Badger's Open: the directory lock, refused while another process holds it, then the pid file.</summary>
    private IDisposable OpenDatabase()
    {
        if (!KmPs.Core.Files.DirectoryLock.TryAcquire(StorageDir, out var held, out var pid))
            throw new IOException($"Cannot acquire directory lock on \"{StorageDir}\".  Another process is using this Badger database. (pid {pid})");
        var pidFile = Path.Combine(StorageDir, KmPs.Core.LocalState.LocalStateWiper.PidFileName);
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

    private Faults LoadFaults() => AtomicFile.ReadJson<Faults>(_layout.FaultFile(Name)) ?? Faults.None;

    internal void Tick()
    {
        Faults = LoadFaults();
        var epoch = _clock.Now;
        if (_deregisterRequested && epoch >= _deregisterAtEpoch)
        {
            var reg = _chain.Registration(Name);
            if (reg is not null) { reg.Deregistered = true; _chain.Register(reg); }
            Log.Info("worker/registration", "deregistered, shutting down");
            _exit.TrySetResult();
            return;
        }
        if (_secret is null)
        {
            ObtainSecret(epoch);
            // Replication may take a while (a slow peer, a loaded machine): register for the epoch it is
            // now, as oasis-node does, not the one the tick began in (that descriptor would be born stale).
            epoch = _clock.Now;
        }
        var wantSecretRegistration = _secret is not null && !_registeredWithSecret;
        if (!_deregisterRequested && (epoch != _registeredEpoch || wantSecretRegistration)) Register(epoch);
    }

    private void ObtainSecret(ulong epoch)
    {
        if (Sealing.HasState(StorageDir))
        {
            if (DateTime.UtcNow < _nextUnsealAttempt) return;
            switch (Sealing.TryUnseal(StorageDir, _setup.Identity, _cpu, out var secret))
            {
                case Sealing.UnsealResult.Ok:
                    SetSecret(secret, "loaded master secret from local storage");
                    return;
                case Sealing.UnsealResult.OtherCpu:
                    Log.Warn("runtime", "DeoxysII unsealing failed: check if the CPU had changed; if yes, wipe 'worker-local-storage.badger.db' and resync/restart the node",
                        ("runtime_id", _setup.KmRuntimeId), ("runtime_name", "keymanager"));
                    break;
            }
            // What the runtime loader prints when kdf.rs's load_master_secret panics (spec Q5).
            Log.Warn("runtime", "thread 'main' panicked at 'runtime execution failed: Enclave panicked.', runtime-loader/bin/main.rs:57:10",
                ("runtime_id", _setup.KmRuntimeId), ("runtime_name", "keymanager"));
            Log.Error("runtime/host/sandbox", "runtime terminated, restarting with backoff", ("backoff_ms", (long)_unsealBackoff.TotalMilliseconds));
            _nextUnsealAttempt = DateTime.UtcNow + _unsealBackoff;
            _unsealBackoff = TimeSpan.FromMilliseconds(Math.Min(_unsealBackoff.TotalMilliseconds * 2, 8000));
            return;
        }

        var status = _chain.KeyManagerStatus();
        if (status is null)
        {
            if (!MayGenerate()) return;
            var secret = RandomNumberGenerator.GetBytes(32);
            var won = _chain.TryInitialize(new ChainKeyManagerStatus
            {
                IsInitialized = true, Checksum = Hex.Encode(Sealing.Checksum(secret))!, GeneratedBy = Name, GeneratedAtEpoch = epoch,
            });
            if (!won) return; // another node generated first: replicate from it
            if (SealOrLog(secret)) SetSecret(secret, "generated master secret");
            return;
        }

        var deployment = _chain.Deployments().FirstOrDefault(d => d.Version == _setup.Version.ToString());
        if (deployment is null || deployment.ValidFrom > epoch) return; // replication only once our version is active
        if (!_registered) return; // peers only serve registered nodes (access list)
        // The enclave asks only the enclaves its policy lets it replicate from (the policy of the
        // consensus status it was initialised with).
        var mayReplicateFrom = MayReplicateFrom(_chain.Policy(epoch), _setup.Identity);
        string? refusal = null;
        foreach (var peer in _chain.Committee(epoch).Where(p => p.Node != Name))
        {
            if (peer.Identity is null || !mayReplicateFrom.Contains(peer.Identity))
            {
                // The RPC session to the peer's enclave checks its attested identity against the allowed
                // set and fails (runtime/src/enclave_rpc/session.rs SessionError::MismatchedEnclaveIdentity).
                refusal = "mismatched enclave identity";
                continue;
            }
            byte[] secret;
            try { secret = RequestReplication(peer); }
            catch (RpcException e) when (e.StatusCode == StatusCode.PermissionDenied && e.Status.Detail.Contains(NotAuthorized, StringComparison.Ordinal))
            {
                refusal = NotAuthorized;
                continue;
            }
            catch (Exception e) when (e is RpcException or KmException or IOException or HttpRequestException or CborDecodeException)
            {
                Log.Warn("worker/keymanager", "replication from peer failed", ("peer", peer.Node), ("err", e.Message));
                continue;
            }
            if (Hex.Encode(Sealing.Checksum(secret)) != status.Checksum)
            {
                Log.Error("worker/keymanager", "replicated secret checksum mismatch", ("peer", peer.Node));
                continue;
            }
            if (Faults.CrashWhileReplicating)
            {
                Log.Error("runtime", "simulated crash while replicating", ("peer", peer.Node));
                Environment.Exit(70);
            }
            if (SealOrLog(secret)) SetSecret(secret, $"replicated master secret from {peer.Node}");
            return;
        }
        if (refusal is not null && epoch != _policyLoggedEpoch)
        {
            // What the host logs when the enclave's init fails (go/worker/keymanager secrets.go initEnclave
            // in 24+, worker.go in 22.2: "failed to initialize enclave" with the enclave's error); once an epoch.
            _policyLoggedEpoch = epoch;
            Log.Error("worker/keymanager", "failed to initialize enclave",
                ("err", $"worker/keymanager: failed to initialize enclave: failed to replicate master secret: {refusal}"),
                ("enclave", _setup.Identity.ToString()));
        }
    }

    /// <summary>KeyManagerError::NotAuthorized (keymanager/src/api/errors.rs): a source enclave refusing a requester.</summary>
    public const string NotAuthorized = "client is not authorized";

    /// <summary>
    /// The enclaves a requester may replicate from (keymanager/src/policy/cached.rs may_replicate_from):
    /// itself, and when the policy has an entry for it (CachedPolicy::parse fills the sets only from the
    /// entry of the enclave's own identity), every enclave whose entry lists it in may_replicate.
    /// </summary>
    internal static HashSet<string> MayReplicateFrom(SimPolicy policy, KmPs.Core.Sgx.EnclaveIdentity self)
    {
        var from = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { self.ToString() };
        if (policy.EntryFor(self) is null) return from;
        foreach (var e in policy.Enclaves)
            if (e.MayReplicate.Any(x => SimPolicy.Same(x, self))) from.Add(e.Enclave);
        return from;
    }

    /// <summary>
    /// Whether a source enclave serves a requester (cached.rs may_replicate_secret): always itself
    /// (another instance of the same enclave), else only enclaves its own entry lists in may_replicate.
    /// </summary>
    internal static bool MayReplicateSecret(SimPolicy policy, KmPs.Core.Sgx.EnclaveIdentity self, string requester) =>
        SimPolicy.Same(requester, self) ||
        (policy.EntryFor(self)?.MayReplicate.Any(x => string.Equals(x, requester, StringComparison.OrdinalIgnoreCase)) ?? false);

    private bool MayGenerate()
    {
        if (Generation < SchemaGeneration.V24) return _spec.Node(Name).MayGenerate;
        return _chain.Policy(_clock.Now).MayGenerate.Contains(_setup.Identity.ToString());
    }

    private bool SealOrLog(byte[] secret)
    {
        try
        {
            if (Faults.SealWriteError) throw new IOException("simulated write error: no space left on device");
            Sealing.Seal(StorageDir, _setup.Identity, _cpu, secret);
            return true;
        }
        catch (IOException e)
        {
            Log.Error("worker/keymanager", "failed to persist master secret", ("err", e.Message));
            return false;
        }
    }

    private void SetSecret(byte[] secret, string why)
    {
        lock (_gate) _secret = secret;
        Log.Info("worker/keymanager", why, ("checksum", Hex.Encode(Sealing.Checksum(secret))));
    }

    private byte[] RequestReplication(ChainRegistration peer)
    {
        var client = KmPs.Core.Control.ControlClient.For(KmPs.Core.Control.SocketAddress.Parse(peer.P2p is { Length: > 0 } p2p ? p2p : peer.Socket));
        var request = CborCodec.Encode(new CborMapBuilder()
            .Add("node", CborNode.Text(Name)).Add("identity", CborNode.Text(_setup.Identity.ToString())).Build());
        var body = client.CallAsync(ReplicationService, ReplicateMethod, request, TimeSpan.FromSeconds(2), CancellationToken.None)
            .GetAwaiter().GetResult();
        return CborCodec.Decode(body).RequireMap("replication answer")["secret"].Bytes("secret")
               ?? throw new IOException("empty replication answer");
    }

    private void Register(ulong epoch)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        _lastAttempt = now;
        if (Faults.RegistrationFails)
        {
            Fail("registration: failed to register node: simulated registration failure");
            return;
        }
        // The registry checks the node's attested identity against its version's TEE constraints (tee.enclaves).
        if (!_chain.Deployments().Any(d => d.Version == _setup.Version.ToString() && SimPolicy.Same(d.Identity ?? "", _setup.Identity)))
        {
            Fail("registration: failed to register node: node running unknown enclave version");
            return;
        }
        byte[]? secret;
        lock (_gate) secret = _secret;
        _chain.Register(new ChainRegistration
        {
            Node = Name,
            Socket = _setup.Socket,
            P2p = "unix:" + _layout.P2pSocket(Name),
            Version = _setup.Version.ToString(),
            Identity = _setup.Identity.ToString(),
            Checksum = secret is null ? null : Hex.Encode(Sealing.Checksum(secret)),
            Epoch = epoch,
            Expiration = epoch + 2,
            UnixTime = now,
        });
        _registered = true;
        _registeredEpoch = epoch;
        _registrationExpiration = epoch + 2;
        _lastRegistration = now;
        _lastAttemptOk = true;
        _lastAttemptError = null;
        if (secret is not null)
        {
            if (!_registeredWithSecret) Log.Info("worker/keymanager", "registered with init response, key manager ready");
            _registeredWithSecret = true;
            _kmStatus = KmStatusWords.Ready;
        }
    }

    private void Fail(string error)
    {
        if (_lastAttemptError != error) Log.Error("worker/registration", "failed to register node", ("err", error));
        _lastAttemptOk = false;
        _lastAttemptError = error;
    }

    // ---- control API ----

    public const string ReplicationService = "kmsim.Replication";
    public const string ReplicateMethod = "Replicate";

    public byte[] GetStatus() => StatusShapes.Encode(Snapshot());

    private ChainTimeBackend? _chainTime;

    /// <summary>Beacon and consensus timing from the cluster's clock (every generation serves them).</summary>
    public IChainTimeBackend ChainTime => _chainTime ??= new ChainTimeBackend(_clock, () => Generation);

    internal SimNodeStatus Snapshot()
    {
        byte[]? secret;
        lock (_gate) secret = _secret;
        var epoch = _clock.Now;
        var height = _clock.Height;
        var status = _chain.KeyManagerStatus();
        var policies = _chain.PolicyState();
        var policy = policies.At(epoch);
        var generation = Generation;
        var pending = generation >= SchemaGeneration.V24 ? policies.PendingAt(epoch) : null;
        var probe = new SimNodeStatus { Generation = generation, SoftwareVersion = SoftwareVersion };
        if (!KeyManagerShapes.HasNextPolicy(probe)) pending = null;
        // The enclave registers the checksum of the policy it was given, or from 25.6 of the scheduled
        // next policy when there is one (keymanager/src/policy/cached.rs Policy::init).
        var policyChecksum = (pending ?? policy).Checksum(_setup.KmRuntimeId);
        var committee = _chain.Committee(epoch);
        string? extraInfo = null;
        if (secret is not null && _registeredWithSecret)
            extraInfo = Convert.ToBase64String(KmInitResponse.Encode(true, Sealing.Checksum(secret), policyChecksum,
                SimKeys.Derive(Name, "rak-signature-" + epoch, 64)));
        return new SimNodeStatus
        {
            Generation = generation,
            SoftwareVersion = SoftwareVersion,
            NodeSeed = Name,
            KmRuntimeId = _setup.KmRuntimeId,
            KmStatus = _deregisterRequested ? KmStatusWords.Stopped : _kmStatus,
            RuntimeVersion = _setup.Version.ToString(),
            MayGenerate = Generation < SchemaGeneration.V24 && _spec.Node(Name).MayGenerate,
            Epoch = epoch,
            Height = height,
            // The latest block's time, as GetBlock reports it (whole seconds).
            LatestTimeUnix = _clock.BlockUnixMs(height) / 1000,
            Registered = _registered,
            // The descriptor the node last registered, with its own expiration (a node that stops
            // registering shows it running out, as control status does: RegistrationStatus.Descriptor).
            RegistrationExpiration = _registrationExpiration,
            LastRegistrationUnix = _lastRegistration,
            LastAttemptUnix = _lastAttempt,
            LastAttemptSuccessful = _lastAttemptOk,
            LastAttemptError = _lastAttemptError,
            ExtraInfoBase64 = extraInfo,
            ConsensusChecksumHex = status?.Checksum,
            ConsensusInitialized = status?.IsInitialized ?? false,
            ConsensusNodes = committee.Count,
            CommitteeSeeds = committee.Select(r => r.Node).ToArray(),
            PolicyChecksumHex = Convert.ToHexString(policyChecksum).ToLowerInvariant(),
            Policy = policy,
            NextPolicy = pending,
            Deployments = _chain.Deployments().Select(d => new SimDeployment { Version = d.Version, ValidFrom = d.ValidFrom, Identity = d.Identity, ManifestHash = d.ManifestHash }).ToArray(),
        };
    }

    public bool IsReady() => _kmStatus == KmStatusWords.Ready;
    public bool IsSynced() => true;

    public async Task WaitReadyAsync(CancellationToken ct)
    {
        while (!IsReady()) await Task.Delay(50, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Like oasis-node: a registered node deregisters first (here at the next epoch transition)
    /// and then exits; wait=true returns once that has happened.
    /// </summary>
    public async Task RequestShutdownAsync(bool wait, CancellationToken ct)
    {
        if (!_deregisterRequested)
        {
            _deregisterRequested = true;
            _deregisterAtEpoch = _registered ? _clock.Now + 1 : 0;
            Log.Info("node", "shutdown requested, deregistering", ("wait", wait));
        }
        if (wait) await _exit.Task.WaitAsync(ct).ConfigureAwait(false);
    }

    /// <summary>The consensus key manager status, in this node's version's shape and service names.</summary>
    public byte[] GetKeyManagerStatus(string service, byte[] request) => KeyManagerShapes.Answer(Snapshot(), service, request);

    public byte[] GetRuntime(byte[] request)
    {
        var id = RegistryShapes.QueriedRuntimeId(request);
        if (id != _setup.KmRuntimeId) throw new RpcException(new Grpc.Core.Status(StatusCode.NotFound, "registry: no such runtime"));
        return RegistryShapes.EncodeRuntime(id, Snapshot().Deployments, SoftwareVersion);
    }

    /// <summary>A peer asks for the master secret (stands in for the attested P2P replication call).</summary>
    public byte[] Replicate(byte[] request)
    {
        var faults = LoadFaults();
        if (faults.Unreachable) throw new RpcException(new Grpc.Core.Status(StatusCode.Unavailable, "p2p: failed to dial peer"));
        if (faults.RefuseReplication) throw new RpcException(new Grpc.Core.Status(StatusCode.PermissionDenied, "keymanager: replication refused"));
        var m = CborCodec.Decode(request).RequireMap("replicate");
        var node = m["node"].Text("node") ?? "";
        var identity = m["identity"].Text("identity") ?? "";
        byte[]? secret;
        lock (_gate) secret = _secret;
        if (secret is null || !IsReady()) throw new RpcException(new Grpc.Core.Status(StatusCode.Unavailable, "keymanager: not initialized"));
        var reg = _chain.Registration(node);
        if (reg is null || reg.Deregistered || !string.Equals(reg.Identity, identity, StringComparison.OrdinalIgnoreCase) || reg.Expiration < _clock.Now)
            throw new RpcException(new Grpc.Core.Status(StatusCode.PermissionDenied, "keymanager: peer not in access list"));
        // The source enclave authorises the requester's attested identity (runtime/secrets.rs
        // authorize_secret_replication → cached.rs may_replicate_secret) under the policy in effect.
        if (!MayReplicateSecret(_chain.Policy(_clock.Now), _setup.Identity, identity))
        {
            Log.Warn("worker/keymanager", "refused to replicate master secret to peer", ("peer", node), ("err", NotAuthorized));
            throw new RpcException(new Grpc.Core.Status(StatusCode.PermissionDenied, NotAuthorized));
        }
        Log.Info("worker/keymanager", "replicating master secret to peer", ("peer", node));
        return CborCodec.Encode(new CborMapBuilder().Add("secret", CborNode.Bytes(secret)).Build());
    }
}
