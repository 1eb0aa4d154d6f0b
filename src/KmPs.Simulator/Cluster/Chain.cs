using System.Text.Json;

namespace KmPs.Simulator.Cluster;

/// <summary>A deployment of the KM runtime: version, upgrade epoch, the enclave it allows and its bundle's manifest hash.</summary>
public sealed class ChainDeployment
{
    public string Version { get; set; } = "";
    public ulong ValidFrom { get; set; }
    /// <summary>Enclave identity the registry accepts for this version: MRENCLAVE‖MRSIGNER hex (EnclaveIdentity.ToString()).</summary>
    public string Enclave { get; set; } = "";
    /// <summary>The deployed bundle's manifest hash (oasis-core Manifest.Hash), hex: 25.0+ nodes show it as bundle_checksum.</summary>
    public string? ManifestHash { get; set; }
}

/// <summary>The KM policy: which enclaves exist, which may replicate to which, which may generate.</summary>
public sealed class ChainPolicy
{
    public uint Serial { get; set; } = 1;
    /// <summary>enclave → enclaves it may replicate its secrets to (its own identity is implied).</summary>
    public Dictionary<string, List<string>> MayReplicate { get; set; } = new();
    /// <summary>Enclaves allowed to generate the first master secret of a new cluster.</summary>
    public List<string> MayGenerate { get; set; } = new();

    public bool Allows(string sourceEnclave, string targetEnclave) =>
        sourceEnclave == targetEnclave ||
        (MayReplicate.TryGetValue(sourceEnclave, out var to) && to.Contains(targetEnclave) && MayReplicate.ContainsKey(targetEnclave));
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
    public string Enclave { get; set; } = "";
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

    public ChainPolicy Policy() => AtomicFile.ReadJson<ChainPolicy>(Layout.PolicyFile) ?? new();
    public void SavePolicy(ChainPolicy p) => Write(Layout.PolicyFile, p);

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
    public IReadOnlyList<ChainRegistration> Committee(ulong epoch)
    {
        var status = KeyManagerStatus();
        if (status is null) return Array.Empty<ChainRegistration>();
        var versions = Deployments().Select(d => d.Version).ToHashSet();
        return Registrations()
            .Where(r => !r.Deregistered && r.Expiration >= epoch && r.Checksum == status.Checksum && versions.Contains(r.Version))
            .ToList();
    }

    private static void Write<T>(string path, T value)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        AtomicFile.WriteAllText(path, JsonSerializer.Serialize(value, ClusterSpec.Json));
    }
}
