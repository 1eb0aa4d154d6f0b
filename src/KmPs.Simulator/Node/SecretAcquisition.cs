using System.Security.Cryptography;
using Grpc.Core;
using KmPs.Core;
using KmPs.Core.Status;
using KmPs.Core.Wire;
using KmPs.Simulator.Cluster;

namespace KmPs.Simulator.Node;

/// <summary>
/// What one attempt to obtain the master secret gives, as a transition of the node's state: the
/// secret, a new unseal backoff, the epoch a refusal was logged in; or a crash (the process must exit
/// with <see cref="SecretAcquisition.CrashExitCode"/> without sealing anything).
/// </summary>
public sealed record SecretStep(byte[]? Secret = null, UnsealRetry? Unseal = null, ulong? RefusalLoggedEpoch = null, bool Crashed = false)
{
    public static readonly SecretStep Nothing = new();
    public static readonly SecretStep Crash = new(Crashed: true);

    public SimNodeState ApplyTo(SimNodeState s) => s with
    {
        Secret = Secret ?? s.Secret,
        Unseal = Unseal ?? s.Unseal,
        RefusalLoggedEpoch = RefusalLoggedEpoch ?? s.RefusalLoggedEpoch,
    };
}

/// <summary>
/// How a node without its secret gets one, in oasis-core's order: unseal the local state (a state
/// another enclave or CPU sealed panics the enclave, spec Q5); else, with no consensus status yet,
/// generate it if allowed; else replicate from a ready committee peer once the node's version is
/// active, obeying the policy, and seal what it got. Reads the node's state snapshot, acts on disk,
/// chain and peers through <see cref="SimNodePorts"/>, and returns the transition to commit.
/// </summary>
public sealed class SecretAcquisition(SimNodeContext ctx, SimNodePorts ports)
{
    /// <summary>The exit code of a node that crashed while replicating (EX_SOFTWARE).</summary>
    public const int CrashExitCode = 70;

    public const string RuntimePanicLine = "thread 'main' panicked at 'runtime execution failed: Enclave panicked.', runtime-loader/bin/main.rs:57:10";

    public SecretStep Next(SimNodeState s, ulong epoch)
    {
        if (Sealing.HasState(ctx.StorageDir)) return Unseal(s);
        var status = ports.Chain.KeyManagerStatus();
        if (status is null) return Generate(s, epoch);
        return Replicate(s, epoch, status);
    }

    private SecretStep Unseal(SimNodeState s)
    {
        var now = ports.Time.GetUtcNow();
        if (!s.Unseal.Due(now)) return SecretStep.Nothing;
        switch (Sealing.TryUnseal(ctx.StorageDir, ctx.Setup.Identity, ctx.Cpu, out var secret))
        {
            case Sealing.UnsealResult.Ok:
                return Got(secret, "loaded master secret from local storage");
            case Sealing.UnsealResult.OtherCpu:
                ports.Log.Warn("runtime", "DeoxysII unsealing failed: check if the CPU had changed; if yes, wipe 'worker-local-storage.badger.db' and resync/restart the node",
                    ("runtime_id", ctx.Setup.KmRuntimeId), ("runtime_name", "keymanager"));
                break;
        }
        // What the runtime loader prints when kdf.rs's load_master_secret panics (spec Q5).
        ports.Log.Warn("runtime", RuntimePanicLine, ("runtime_id", ctx.Setup.KmRuntimeId), ("runtime_name", "keymanager"));
        ports.Log.Error("runtime/host/sandbox", "runtime terminated, restarting with backoff", ("backoff_ms", (long)s.Unseal.Backoff.TotalMilliseconds));
        return new SecretStep(Unseal: s.Unseal.After(now));
    }

    /// <summary>
    /// The first master secret: 22.2/23.0 nodes with the may_generate flag, 24+ enclaves the policy
    /// lets generate (the simulator's stand-in). The consensus status is created exclusively: of two
    /// nodes generating at once, one wins and the other replicates from it.
    /// </summary>
    private SecretStep Generate(SimNodeState s, ulong epoch)
    {
        if (!MayGenerate(epoch)) return SecretStep.Nothing;
        var secret = RandomNumberGenerator.GetBytes(32);
        var won = ports.Chain.TryInitialize(new ChainKeyManagerStatus
        {
            IsInitialized = true, Checksum = Hex.Encode(Sealing.Checksum(secret))!, GeneratedBy = ctx.Name, GeneratedAtEpoch = epoch,
        });
        if (!won) return SecretStep.Nothing; // another node generated first: replicate from it
        return SealOrLog(s.Faults, secret) ? Got(secret, "generated master secret") : SecretStep.Nothing;
    }

    /// <summary>Whether this node may generate the first master secret at <paramref name="epoch"/>.</summary>
    public bool MayGenerate(ulong epoch) => ctx.Generation < SchemaGeneration.V24
        ? ctx.MayGenerateFlag
        : ports.Chain.Policy(epoch).MayGenerate.Contains(ctx.Setup.Identity.ToString());

    private SecretStep Replicate(SimNodeState s, ulong epoch, ChainKeyManagerStatus status)
    {
        var deployment = ports.Chain.Deployments().FirstOrDefault(d => d.Version == ctx.Setup.Version.ToString());
        if (deployment is null || deployment.ValidFrom > epoch) return SecretStep.Nothing; // replication only once our version is active
        if (!s.Registration.Registered) return SecretStep.Nothing; // peers only serve registered nodes (access list)
        // The enclave asks only the enclaves its policy lets it replicate from (the policy of the
        // consensus status it was initialised with).
        var mayReplicateFrom = ReplicationRules.MayReplicateFrom(ports.Chain.Policy(epoch), ctx.Setup.Identity.ToString());
        string? refusal = null;
        foreach (var peer in ports.Chain.Committee(epoch).Where(p => p.Node != ctx.Name))
        {
            if (peer.Identity is null || !mayReplicateFrom.Contains(peer.Identity))
            {
                // The RPC session to the peer's enclave checks its attested identity against the allowed
                // set and fails (runtime/src/enclave_rpc/session.rs SessionError::MismatchedEnclaveIdentity).
                refusal = ReplicationRules.MismatchedEnclaveIdentity;
                continue;
            }
            byte[] secret;
            try { secret = ports.Peers.Request(peer, ctx.Name, ctx.Setup.Identity); }
            catch (RpcException e) when (e.StatusCode == StatusCode.PermissionDenied && e.Status.Detail.Contains(ReplicationRules.NotAuthorized, StringComparison.Ordinal))
            {
                refusal = ReplicationRules.NotAuthorized;
                continue;
            }
            catch (Exception e) when (e is RpcException or KmException or IOException or HttpRequestException or CborDecodeException)
            {
                ports.Log.Warn("worker/keymanager", "replication from peer failed", ("peer", peer.Node), ("err", e.Message));
                continue;
            }
            if (Hex.Encode(Sealing.Checksum(secret)) != status.Checksum)
            {
                ports.Log.Error("worker/keymanager", "replicated secret checksum mismatch", ("peer", peer.Node));
                continue;
            }
            if (s.Faults.CrashWhileReplicating)
            {
                ports.Log.Error("runtime", "simulated crash while replicating", ("peer", peer.Node));
                return SecretStep.Crash;
            }
            return SealOrLog(s.Faults, secret) ? Got(secret, $"replicated master secret from {peer.Node}") : SecretStep.Nothing;
        }
        if (refusal is null || epoch == s.RefusalLoggedEpoch) return SecretStep.Nothing;
        // What the host logs when the enclave's init fails (go/worker/keymanager secrets.go initEnclave
        // in 24+, worker.go in 22.2: "failed to initialize enclave" with the enclave's error); once an epoch.
        ports.Log.Error("worker/keymanager", "failed to initialize enclave",
            ("err", $"worker/keymanager: failed to initialize enclave: failed to replicate master secret: {refusal}"),
            ("enclave", ctx.Setup.Identity.ToString()));
        return new SecretStep(RefusalLoggedEpoch: epoch);
    }

    private bool SealOrLog(Faults faults, byte[] secret)
    {
        try
        {
            if (faults.SealWriteError) throw new IOException("simulated write error: no space left on device");
            Sealing.Seal(ctx.StorageDir, ctx.Setup.Identity, ctx.Cpu, secret);
            return true;
        }
        catch (IOException e)
        {
            ports.Log.Error("worker/keymanager", "failed to persist master secret", ("err", e.Message));
            return false;
        }
    }

    private SecretStep Got(byte[] secret, string why)
    {
        ports.Log.Info("worker/keymanager", why, ("checksum", Hex.Encode(Sealing.Checksum(secret))));
        return new SecretStep(Secret: secret);
    }
}
