namespace KmPs.Core.Status;

/// <summary>
/// A key manager node's control status, normalised across the 22.2, 23.0 and 24+ shapes.
/// Output of Get-KmStatus.
/// </summary>
public sealed class KmStatus
{
    /// <summary>Node name from the inventory, else the socket path.</summary>
    public string Name { get; set; } = "";
    public string Socket { get; set; } = "";
    public string? SoftwareVersion { get; init; }
    public SchemaGeneration SchemaGeneration { get; init; }
    /// <summary>Node mode (24.0+ only; null before).</summary>
    public string? Mode { get; init; }

    /// <summary>Key manager status word (ready, starting, stopped, disabled) or "absent".</summary>
    public string Status { get; init; } = KmStatusWords.Absent;
    /// <summary>The secrets worker's own status (23.0 worker.status, 24+ secrets.worker.status).</summary>
    public string? WorkerStatus { get; init; }
    public bool IsReady => Status == KmStatusWords.Ready;

    /// <summary>Key manager runtime id, 64 lower-case hex.</summary>
    public string? RuntimeId { get; init; }
    /// <summary>Version the KM worker runs (23.0+), else the registered version.</summary>
    public OasisVersion? ActiveVersion { get; init; }
    /// <summary>
    /// Whether <see cref="ActiveVersion"/> is the worker's own word (23.0+ active_version). When false it is the
    /// registered descriptor's version, which may still be the one registered before the node was wiped and restarted.
    /// </summary>
    public bool ActiveVersionReported { get; init; }
    /// <summary>Version of the KM runtime in the node's registered descriptor.</summary>
    public OasisVersion? RegisteredVersion { get; init; }
    public bool? MayGenerate { get; init; }
    public string[] ClientRuntimes { get; init; } = System.Array.Empty<string>();

    /// <summary>Decoded extra_info of the registered KM runtime; null before the enclave initialised.</summary>
    public KmInitResponse? InitResponse { get; init; }
    /// <summary>Why extra_info could not be decoded, when it was present but bad.</summary>
    public string? InitResponseError { get; init; }
    public string? Checksum => InitResponse?.Checksum;
    public string? PolicyChecksum => InitResponse?.PolicyChecksum;
    public bool? IsSecure => InitResponse?.IsSecure;

    /// <summary>Consensus key manager status as the node reports it (23.0+; null in 22.2).</summary>
    public string? ConsensusChecksum { get; init; }
    public bool? ConsensusInitialized { get; init; }
    /// <summary>Number of nodes in the consensus KM committee (23.0+).</summary>
    public int? ConsensusNodeCount { get; init; }

    public ulong Epoch { get; init; }
    public long Height { get; init; }
    public DateTimeOffset? LastRegistration { get; init; }
    /// <summary>Epoch at which the registered descriptor expires.</summary>
    public ulong? RegistrationExpiration { get; init; }
    /// <summary>Node id (public key, base64).</summary>
    public string? NodeId { get; init; }
    /// <summary>The node's identity public key (base64, <c>identity.node</c>): one per node whatever address it is reached by.</summary>
    public string? IdentityNode { get; init; }
    /// <summary>Whether the node's consensus is synced (<c>consensus.status</c> ready, not syncing); null when not reported.</summary>
    public bool? ConsensusSynced { get; init; }
    public string? Roles { get; init; }
    /// <summary>23.0+: whether the last registration attempt succeeded, and why not.</summary>
    public bool? LastAttemptSuccessful { get; init; }
    public string? LastAttemptError { get; init; }

    /// <summary>When this status was read (UTC).</summary>
    public DateTimeOffset RetrievedAt { get; set; } = DateTimeOffset.UtcNow;

    public override string ToString() => $"{Name}: {Status}";
}
