using KmPs.Core.Status;

namespace KmPs.Simulator.Shapes;

/// <summary>
/// Everything a simulated node reports through GetStatus, independent of the wire shape. The
/// <see cref="StatusShapes"/> encoder turns it into the 22.2, 23.0 or 24+ control.Status.
/// Serialisable as JSON so a snapshot node can be started from a file.
/// </summary>
public sealed class SimNodeStatus
{
    public SchemaGeneration Generation { get; set; } = SchemaGeneration.V24;
    /// <summary>Defaults per generation (22.2.13, 23.0.11, 24.3.2) when empty.</summary>
    public string? SoftwareVersion { get; set; }
    /// <summary>Seed for the node's deterministic keys (node id, p2p, consensus, TLS, RAK).</summary>
    public string NodeSeed { get; set; } = "node-0";
    public string EntitySeed { get; set; } = "entity";

    public string KmRuntimeId { get; set; } = "4000000000000000000000000000000000000000000000004a1a53dff2ae482d";
    public string[] ClientRuntimes { get; set; } = { "000000000000000000000000000000000000000000000000a6d1e3ebf60dff6c" };
    /// <summary>Key manager status word: ready, starting, stopped, disabled; null omits the keymanager object.</summary>
    public string? KmStatus { get; set; } = KmStatusWords.Ready;
    /// <summary>24+ secrets.worker.status; defaults to <see cref="KmStatus"/>.</summary>
    public string? SecretsWorkerStatus { get; set; }
    public bool MayGenerate { get; set; }
    public string RuntimeVersion { get; set; } = "0.5.0";

    public ulong Epoch { get; set; } = 100;
    /// <summary>consensus.status 1 "syncing" instead of 0 "ready".</summary>
    public bool ConsensusSyncing { get; set; }
    public long Height { get; set; } = 12_345;
    /// <summary>consensus.latest_time in unix seconds; null: a fixed 6 s per block from 1.7e9 (snapshots).</summary>
    public long? LatestTimeUnix { get; set; }
    public long? LastRegistrationUnix { get; set; } = 1_700_000_000;
    public long? LastAttemptUnix { get; set; } = 1_700_000_000;
    public bool LastAttemptSuccessful { get; set; } = true;
    public string? LastAttemptError { get; set; }
    /// <summary>Whether the node has a registered descriptor.</summary>
    public bool Registered { get; set; } = true;
    /// <summary>The registered descriptor's expiration epoch; null: two epochs after <see cref="Epoch"/> (a node that just registered).</summary>
    public ulong? RegistrationExpiration { get; set; }
    /// <summary>Registered versions of the KM runtime (several entries with the same id are legal).</summary>
    public string[]? RegisteredVersions { get; set; }
    /// <summary>extra_info of the registered runtime, base64; null means pre-registration (CBOR null).</summary>
    public string? ExtraInfoBase64 { get; set; }

    /// <summary>Consensus KM status (23.0 global / 24+ secrets.status).</summary>
    public string? ConsensusChecksumHex { get; set; }
    public bool ConsensusInitialized { get; set; } = true;
    public int ConsensusNodes { get; set; } = 2;
    public string? PolicyChecksumHex { get; set; }
    /// <summary>The consensus key manager policy in effect (null: none, as before a policy was ever set).</summary>
    public SimPolicy? Policy { get; set; }
    /// <summary>The policy scheduled for the next epoch transition; shown as <c>next_policy</c> by 25.6+ nodes only.</summary>
    public SimPolicy? NextPolicy { get; set; }
    /// <summary>Seeds of the nodes in the consensus committee (<c>nodes</c>); null: <see cref="ConsensusNodes"/> made-up ones.</summary>
    public string[]? CommitteeSeeds { get; set; }

    public SimDeployment[] Deployments { get; set; } = { new() { Version = "0.5.0", ValidFrom = 1 } };

    /// <summary>When set, GetStatus fails with gRPC Internal and this message (as when a sub-query fails).</summary>
    public string? GetStatusError { get; set; }

    public string EffectiveSoftwareVersion => SoftwareVersion ?? Generation switch
    {
        SchemaGeneration.V22_2 => "22.2.13",
        SchemaGeneration.V23_0 => "23.0.11",
        _ => "24.3.2",
    };
}

/// <summary>A deployment of the KM runtime as Registry/GetRuntime returns it.</summary>
public sealed class SimDeployment
{
    public string Version { get; set; } = "0.5.0";
    public ulong ValidFrom { get; set; }
    /// <summary>Enclave identity allowed for this version, for the TEE constraints: MRENCLAVE‖MRSIGNER hex (or a bare 64-hex MRENCLAVE, with a stand-in MRSIGNER).</summary>
    public string? Identity { get; set; }
    /// <summary>The bundle's manifest hash (hex): bundle_checksum on 25.0+ nodes.</summary>
    public string? ManifestHash { get; set; }
}
