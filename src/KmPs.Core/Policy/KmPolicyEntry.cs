using KmPs.Core.Sgx;

namespace KmPs.Core.Policy;

/// <summary>
/// One enclave of a key manager policy, as Get-KmPolicy gives it: a row per enclave of the policy in
/// effect, and (25.6+) per enclave of the policy scheduled for the next epoch, each with the serial,
/// when it applies, whom it may replicate to and which runtimes may query it.
/// </summary>
public sealed class KmPolicyEntry
{
    public uint Serial { get; init; }
    /// <summary>"now", or "epoch N" for the next policy (in effect from the next epoch transition).</summary>
    public string Applies => AppliesAtEpoch is { } e ? $"epoch {e}" : "now";
    /// <summary>Null for the policy in effect; the epoch from which the next policy applies.</summary>
    public ulong? AppliesAtEpoch { get; init; }
    public bool IsNext => AppliesAtEpoch is not null;
    public required EnclaveIdentity Enclave { get; init; }
    public string MrEnclave => Enclave.MrEnclave;
    public string MrSigner => Enclave.MrSigner;
    /// <summary>The enclaves this one may give its secrets to (besides instances of itself).</summary>
    public IReadOnlyList<EnclaveIdentity> MayReplicate { get; init; } = System.Array.Empty<EnclaveIdentity>();
    /// <summary>Runtime id → the enclaves of that runtime that may query keys.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<EnclaveIdentity>> MayQuery { get; init; } = new Dictionary<string, IReadOnlyList<EnclaveIdentity>>();
    /// <summary>The runtimes whose enclaves may query keys.</summary>
    public string[] QueryRuntimes => MayQuery.Keys.ToArray();
    /// <summary>The enclaves this one may replicate from besides itself: those whose may_replicate lists it.</summary>
    public IReadOnlyList<EnclaveIdentity> MayReplicateFrom { get; init; } = System.Array.Empty<EnclaveIdentity>();
    public int SignerCount { get; init; }
    public string RuntimeId { get; init; } = "";
    /// <summary>The policy's checksum (SHA3-256 of the signed policy), as enclaves register it.</summary>
    public string PolicyChecksum { get; init; } = "";
    /// <summary>The node the policy was read from.</summary>
    public string Source { get; init; } = "";
    /// <summary>The whole policy this entry belongs to.</summary>
    public required KmPolicy Policy { get; init; }

    public override string ToString() => $"serial {Serial} ({Applies}): {Enclave.Short}";

    /// <summary>The rows of a status: the policy in effect, then the next one.</summary>
    public static IReadOnlyList<KmPolicyEntry> Of(KmPolicyStatus status)
    {
        var rows = new List<KmPolicyEntry>();
        void Add(KmPolicy? p, ulong? at)
        {
            if (p is null) return;
            rows.AddRange(p.Enclaves.Select(e => new KmPolicyEntry
            {
                Serial = p.Serial, AppliesAtEpoch = at, Enclave = e.Enclave, MayReplicate = e.MayReplicate, MayQuery = e.MayQuery,
                MayReplicateFrom = ReplicationPolicy.SourcesFor(p, e.Enclave).Where(x => x != e.Enclave).ToArray(),
                SignerCount = p.SignerCount, RuntimeId = p.RuntimeId, PolicyChecksum = p.Checksum, Source = status.Source, Policy = p,
            }));
        }
        Add(status.Policy, null);
        Add(status.NextPolicy, status.NextPolicyEpoch);
        return rows;
    }
}
