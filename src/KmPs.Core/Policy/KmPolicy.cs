using KmPs.Core.Sgx;
using KmPs.Core.Status;
using KmPs.Core.Wire;
using Org.BouncyCastle.Crypto.Digests;

namespace KmPs.Core.Policy;

/// <summary>
/// One enclave's entry in the key manager policy (oasis-core EnclavePolicySGX: go/keymanager/api/policy_sgx.go
/// in 22.2.13 and 23.0, go/keymanager/secrets/policy_sgx.go in 24.0 to 26.1; the same fields in all).
/// </summary>
public sealed class KmEnclavePolicy
{
    /// <summary>The enclave this entry is for (the map key).</summary>
    public required EnclaveIdentity Enclave { get; init; }

    /// <summary>
    /// <c>may_replicate</c>: the enclaves this one may give its secrets to (besides instances of itself).
    /// </summary>
    public IReadOnlyList<EnclaveIdentity> MayReplicate { get; init; } = System.Array.Empty<EnclaveIdentity>();

    /// <summary><c>may_query</c>: runtime id (64 hex) → the enclaves of that runtime that may query keys.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<EnclaveIdentity>> MayQuery { get; init; } =
        new Dictionary<string, IReadOnlyList<EnclaveIdentity>>();

    public override string ToString() => $"{Enclave.Short} → {(MayReplicate.Count == 0 ? "(none)" : string.Join(", ", MayReplicate.Select(e => e.Short)))}";
}

/// <summary>
/// A signed key manager policy (oasis-core SignedPolicySGX{policy: PolicySGX, signatures}). PolicySGX is
/// <c>{serial uint32, id Namespace, enclaves map[EnclaveIdentity]*EnclavePolicySGX}</c>, and from 23.0
/// also <c>master_secret_rotation_interval</c> and <c>max_ephemeral_secret_age</c> (both omitempty).
/// The enclaves map is keyed by the identity struct itself, so each CBOR key is a map.
/// </summary>
public sealed class KmPolicy
{
    /// <summary>The monotonically increasing serial: a new policy must have a greater one (SanityCheckSignedPolicySGX).</summary>
    public uint Serial { get; init; }
    /// <summary>The key manager runtime the policy is for, 64 hex.</summary>
    public string RuntimeId { get; init; } = "";
    public IReadOnlyList<KmEnclavePolicy> Enclaves { get; init; } = System.Array.Empty<KmEnclavePolicy>();
    /// <summary>23.0+: epochs between master secret rotations (0: none).</summary>
    public ulong MasterSecretRotationInterval { get; init; }
    /// <summary>23.0+: the maximum age of an ephemeral secret in epochs.</summary>
    public ulong MaxEphemeralSecretAge { get; init; }
    /// <summary>The signers' public keys (base64, as oasis-node prints them).</summary>
    public IReadOnlyList<string> Signers { get; init; } = System.Array.Empty<string>();
    public int SignerCount => Signers.Count;

    /// <summary>
    /// SHA3-256 of the CBOR-encoded signed policy (hex): what an enclave reports as its
    /// <c>policy_checksum</c> (keymanager/src/policy/cached.rs checksum_policy) and what the consensus
    /// layer compares it with (apps/keymanager generateStatus: sha3.Sum256(cbor.Marshal(status.Policy))).
    /// Compare it with a node's <see cref="KmStatus.PolicyChecksum"/>.
    /// </summary>
    public string Checksum { get; init; } = "";

    /// <summary>The entry of an enclave, or null when the policy has none.</summary>
    public KmEnclavePolicy? EntryFor(EnclaveIdentity enclave) => Enclaves.FirstOrDefault(e => e.Enclave == enclave);

    public override string ToString() => $"policy serial {Serial} ({Enclaves.Count} enclave(s), {SignerCount} signature(s))";

    /// <exception cref="CborDecodeException">Not a SignedPolicySGX.</exception>
    public static KmPolicy FromCbor(CborNode node, string what = "policy")
    {
        var signed = node.RequireMap(what);
        var p = signed["policy"].RequireMap($"{what}.policy");
        var enclaves = new List<KmEnclavePolicy>();
        foreach (var (key, value) in (p["enclaves"].Map($"{what}.policy.enclaves")?.Entries ?? System.Array.Empty<KeyValuePair<CborNode, CborNode>>())
                 .Select(e => (e.Key, e.Value)))
        {
            var id = EnclaveIdentity.FromCbor(key, $"{what}.policy.enclaves key");
            var entry = value.Map($"{what}.policy.enclaves[{id.Short}]");
            var query = new Dictionary<string, IReadOnlyList<EnclaveIdentity>>();
            foreach (var q in entry?["may_query"].Map($"{what}.policy.enclaves[{id.Short}].may_query")?.Entries ?? System.Array.Empty<KeyValuePair<CborNode, CborNode>>())
            {
                var rt = Hex.Encode(q.Key.FixedBytes($"{what}.policy.enclaves[{id.Short}].may_query key", 32))
                         ?? throw new CborDecodeException($"{what}.policy.enclaves[{id.Short}].may_query: a null runtime id");
                query[rt] = Identities(q.Value, $"{what}.policy.enclaves[{id.Short}].may_query[{rt[..8]}]");
            }
            enclaves.Add(new KmEnclavePolicy
            {
                Enclave = id,
                MayReplicate = Identities(entry?["may_replicate"], $"{what}.policy.enclaves[{id.Short}].may_replicate"),
                MayQuery = query,
            });
        }
        var signers = signed["signatures"].Array($"{what}.signatures").Select((s, i) =>
                Convert.ToBase64String(s.RequireMap($"{what}.signatures[{i}]")["public_key"].FixedBytes($"{what}.signatures[{i}].public_key", 32)
                                       ?? throw new CborDecodeException($"{what}.signatures[{i}]: no public_key")))
            .ToArray();
        return new KmPolicy
        {
            Serial = p["serial"].UInt($"{what}.policy.serial") is var serial && serial <= uint.MaxValue
                ? (uint)serial : throw new CborDecodeException($"{what}.policy.serial: {serial} does not fit in uint32"),
            RuntimeId = Hex.Encode(p["id"].FixedBytes($"{what}.policy.id", 32)) ?? "",
            Enclaves = enclaves,
            MasterSecretRotationInterval = p["master_secret_rotation_interval"].UInt($"{what}.policy.master_secret_rotation_interval"),
            MaxEphemeralSecretAge = p["max_ephemeral_secret_age"].UInt($"{what}.policy.max_ephemeral_secret_age"),
            Signers = signers,
            Checksum = ChecksumOf(node),
        };
    }

    /// <summary>SHA3-256 of the canonical CBOR of a signed policy (the node sends it canonically, so re-encoding gives its bytes).</summary>
    public static string ChecksumOf(CborNode signedPolicy)
    {
        var raw = CborCodec.Encode(signedPolicy);
        var sha3 = new Sha3Digest(256);
        sha3.BlockUpdate(raw, 0, raw.Length);
        var sum = new byte[32];
        sha3.DoFinal(sum, 0);
        return Hex.Encode(sum)!;
    }

    private static IReadOnlyList<EnclaveIdentity> Identities(CborNode? node, string what) =>
        node.Array(what).Select((e, i) => EnclaveIdentity.FromCbor(e, $"{what}[{i}]")).ToArray();
}

/// <summary>
/// The consensus key manager status, as <c>oasis-core.KeyManager/GetStatus</c> (and from 25.1
/// <c>oasis-core.KeyManager.Secrets/GetStatus</c>) answers it: go/keymanager/api/api.go Status in
/// 22.2.13 <c>{id, is_initialized, is_secure, checksum, nodes, policy}</c>; 23.0 adds
/// <c>generation</c>, <c>rotation_epoch</c> (omitempty) and <c>rsk</c> (omitempty); 24.0+ moves it to
/// go/keymanager/secrets/api.go unchanged; 25.6 adds <c>next_policy</c> (omitempty): the policy that
/// takes effect at the next epoch transition (apps/keymanager/secrets/status.go generateStatus).
/// </summary>
public sealed class KmPolicyStatus
{
    /// <summary>The key manager runtime id, 64 hex.</summary>
    public string RuntimeId { get; init; } = "";
    public bool IsInitialized { get; init; }
    public bool IsSecure { get; init; }
    /// <summary>23.0+: the generation of the latest master secret.</summary>
    public ulong Generation { get; init; }
    /// <summary>23.0+: the epoch of the last master secret rotation.</summary>
    public ulong RotationEpoch { get; init; }
    /// <summary>The master secret checksum (hex); null before the first secret.</summary>
    public string? Checksum { get; init; }
    /// <summary>The key manager committee: node ids (base64 public keys, like <see cref="KmStatus.IdentityNode"/>).</summary>
    public IReadOnlyList<string> Nodes { get; init; } = System.Array.Empty<string>();
    /// <summary>The policy in effect; null when none was ever set (only insecure builds run without one).</summary>
    public KmPolicy? Policy { get; init; }
    /// <summary>25.6+: the policy scheduled to take effect at the next epoch transition.</summary>
    public KmPolicy? NextPolicy { get; init; }
    /// <summary>23.0+: the key manager's runtime signing key (base64).</summary>
    public string? Rsk { get; init; }

    /// <summary>The epoch when this status was read (Beacon/GetEpoch on the same node).</summary>
    public ulong Epoch { get; init; }
    /// <summary>The epoch at which <see cref="NextPolicy"/> takes effect: the next epoch transition.</summary>
    public ulong? NextPolicyEpoch => NextPolicy is null ? null : Epoch + 1;
    /// <summary>The gRPC service that answered (<c>oasis-core.KeyManager.Secrets</c> on 25.1+, else <c>oasis-core.KeyManager</c>).</summary>
    public string Service { get; init; } = "";
    /// <summary>The node read.</summary>
    public string Source { get; init; } = "";

    /// <summary>The policy that will be in effect at an epoch, as far as this status says.</summary>
    public KmPolicy? PolicyAt(ulong epoch) => NextPolicy is not null && epoch >= Epoch + 1 ? NextPolicy : Policy;

    /// <exception cref="CborDecodeException">Not a key manager status.</exception>
    public static KmPolicyStatus FromCbor(CborNode node, ulong epoch = 0, string service = "", string source = "")
    {
        var m = node.RequireMap("status");
        return new KmPolicyStatus
        {
            RuntimeId = Hex.Encode(m["id"].FixedBytes("status.id", 32)) ?? "",
            IsInitialized = m["is_initialized"].Bool("status.is_initialized"),
            IsSecure = m["is_secure"].Bool("status.is_secure"),
            Generation = m["generation"].UInt("status.generation"),
            RotationEpoch = m["rotation_epoch"].UInt("status.rotation_epoch"),
            Checksum = m["checksum"].Bytes("status.checksum") is { Length: > 0 } c ? Hex.Encode(c) : null,
            Nodes = m["nodes"].Array("status.nodes").Select((n, i) => Convert.ToBase64String(n.FixedBytes($"status.nodes[{i}]", 32) ?? System.Array.Empty<byte>())).ToArray(),
            Policy = m["policy"] is { IsNull: false } p ? KmPolicy.FromCbor(p, "policy") : null,
            NextPolicy = m["next_policy"] is { IsNull: false } np ? KmPolicy.FromCbor(np, "next_policy") : null,
            Rsk = m["rsk"].FixedBytes("status.rsk", 32) is { } rsk ? Convert.ToBase64String(rsk) : null,
            Epoch = epoch,
            Service = service,
            Source = source,
        };
    }
}
