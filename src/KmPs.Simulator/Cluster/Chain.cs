using System.Text.Json;
using KmPs.Simulator.Shapes;

namespace KmPs.Simulator.Cluster;

/// <summary>A deployment of the KM runtime: version, upgrade epoch, the enclave it allows and its bundle's manifest hash.</summary>
public sealed class ChainDeployment
{
    public string Version { get; set; } = "";
    public ulong ValidFrom { get; set; }
    /// <summary>
    /// The enclave identity the registry accepts for this version (its TEE constraints' enclaves):
    /// MRENCLAVE‖MRSIGNER hex, the deployed bundle's (OrcBundle.EnclaveIdentity).
    /// </summary>
    public string? Identity { get; set; }
    /// <summary>The deployed bundle's manifest hash (oasis-core Manifest.Hash), hex: 25.0+ nodes show it as bundle_checksum.</summary>
    public string? ManifestHash { get; set; }
}

/// <summary>
/// The chain's key manager policy (chain/policy.json): the one in effect, and an update scheduled for
/// an epoch. In oasis-core a policy update (UpdatePolicy tx) takes effect at once before 25.6; from 25.6
/// it is stored as the status's next_policy and becomes the policy at the next epoch transition
/// (apps/keymanager/secrets/txs.go updatePolicy; status.go generateStatus). Here a scenario schedules it
/// for an epoch: in effect from <see cref="ScheduledPolicy.AppliesAt"/>, and shown as next_policy (25.6+)
/// from <see cref="ScheduledPolicy.VisibleFrom"/>, by default the epoch before, as on a real network; a
/// scenario may show it earlier, so that a test can look at a pending policy for longer than one epoch.
/// </summary>
public sealed class ChainPolicyState
{
    public SimPolicy Current { get; set; } = new();
    public ScheduledPolicy? Next { get; set; }

    /// <summary>The policy in effect at an epoch.</summary>
    public SimPolicy At(ulong epoch) => Next is not null && epoch >= Next.AppliesAt ? Next.Policy : Current;

    /// <summary>The scheduled policy a 25.6+ node shows as next_policy at an epoch, or null.</summary>
    public SimPolicy? PendingAt(ulong epoch) =>
        Next is not null && epoch < Next.AppliesAt && epoch >= (Next.VisibleFrom ?? Next.AppliesAt - 1) ? Next.Policy : null;
}

/// <summary>A policy update and the epoch from which it is in effect.</summary>
public sealed class ScheduledPolicy
{
    public SimPolicy Policy { get; set; } = new();
    public ulong AppliesAt { get; set; }
    /// <summary>From when 25.6+ nodes show it as next_policy; null: the epoch before <see cref="AppliesAt"/>.</summary>
    public ulong? VisibleFrom { get; set; }
}

/// <summary>The consensus key manager status: set once, by the node that generated the master secret.</summary>
public sealed class ChainKeyManagerStatus
{
    public bool IsInitialized { get; set; }
    public string Checksum { get; set; } = "";
    public string GeneratedBy { get; set; } = "";
    public ulong GeneratedAtEpoch { get; set; }
}

/// <summary>A node's registration, written by the node each epoch.</summary>
public sealed class ChainRegistration
{
    public string Node { get; set; } = "";
    public string Socket { get; set; } = "";
    /// <summary>The node's replication endpoint (empty in registrations of older simulators: the control socket serves then).</summary>
    public string P2p { get; set; } = "";
    public string Version { get; set; } = "";
    /// <summary>The enclave identity (MRENCLAVE‖MRSIGNER hex) its attestation proves; what a peer's enclave checks against its policy.</summary>
    public string? Identity { get; set; }
    /// <summary>Checksum from the registered init response; null = pre-registration (extra_info null).</summary>
    public string? Checksum { get; set; }
    public ulong Epoch { get; set; }
    public ulong Expiration { get; set; }
    public long UnixTime { get; set; }
    public bool Deregistered { get; set; }
}

/// <summary>File-backed shared chain state of a simulated cluster (see <see cref="ClusterLayout"/>).</summary>
public sealed class Chain(ClusterLayout layout)
{
    public ClusterLayout Layout { get; } = layout;

    public List<ChainDeployment> Deployments() => AtomicFile.ReadJson<List<ChainDeployment>>(Layout.DeploymentsFile) ?? new();
    public void SaveDeployments(List<ChainDeployment> d) => Write(Layout.DeploymentsFile, d);

    public ChainPolicyState PolicyState() => AtomicFile.ReadJson<ChainPolicyState>(Layout.PolicyFile) ?? new();
    /// <summary>The policy in effect at an epoch.</summary>
    public SimPolicy Policy(ulong epoch) => PolicyState().At(epoch);
    public void SavePolicy(ChainPolicyState p) => Write(Layout.PolicyFile, p);

    public ChainKeyManagerStatus? KeyManagerStatus() => AtomicFile.ReadJson<ChainKeyManagerStatus>(Layout.KeyManagerStatusFile);

    /// <summary>
    /// Records the first master secret's checksum. Exclusive create: when two nodes generate at
    /// once, exactly one wins and the others must replicate.
    /// </summary>
    public bool TryInitialize(ChainKeyManagerStatus status)
    {
        Directory.CreateDirectory(Layout.ChainDir);
        try
        {
            using var f = new FileStream(Layout.KeyManagerStatusFile, FileMode.CreateNew, FileAccess.Write);
            JsonSerializer.Serialize(f, status, ClusterSpec.Json);
            return true;
        }
        catch (IOException) when (File.Exists(Layout.KeyManagerStatusFile))
        {
            return false;
        }
    }

    public IReadOnlyList<ChainRegistration> Registrations()
    {
        if (!Directory.Exists(Layout.RegistryDir)) return Array.Empty<ChainRegistration>();
        return Directory.EnumerateFiles(Layout.RegistryDir, "*.json")
            .Select(f => AtomicFile.ReadJson<ChainRegistration>(f))
            .Where(r => r is not null)
            .Select(r => r!)
            .OrderBy(r => r.Node, StringComparer.Ordinal)
            .ToList();
    }

    public ChainRegistration? Registration(string node) => AtomicFile.ReadJson<ChainRegistration>(Layout.RegistrationFile(node));

    public void Register(ChainRegistration r) => Write(Layout.RegistrationFile(r.Node), r);

    /// <summary>
    /// The KM committee at an epoch: registered, not expired, with an init response whose checksum
    /// is the consensus one and a version that has a deployment.
    /// </summary>
    public IReadOnlyList<ChainRegistration> Committee(ulong epoch) => CommitteeOf(KeyManagerStatus(), Deployments(), Registrations(), epoch);

    /// <summary>The committee rule of <see cref="Committee"/> over chain state already read (one consistent read).</summary>
    public static IReadOnlyList<ChainRegistration> CommitteeOf(ChainKeyManagerStatus? status, IEnumerable<ChainDeployment> deployments,
        IEnumerable<ChainRegistration> registrations, ulong epoch)
    {
        if (status is null) return Array.Empty<ChainRegistration>();
        var versions = deployments.Select(d => d.Version).ToHashSet();
        return registrations
            .Where(r => !r.Deregistered && r.Expiration >= epoch && r.Checksum == status.Checksum && versions.Contains(r.Version))
            .ToList();
    }

    private static void Write<T>(string path, T value)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        AtomicFile.WriteAllText(path, JsonSerializer.Serialize(value, ClusterSpec.Json));
    }
}
