using KmPs.Core.Sgx;
using KmPs.Core.Wire;

namespace KmPs.Simulator.Shapes;

/// <summary>
/// A key manager policy as the simulator keeps it (JSON: the cluster's chain/policy.json and snapshot
/// node files), field for field oasis-core's PolicySGX (go/keymanager/secrets/policy_sgx.go; 22.2.13
/// go/keymanager/api/policy_sgx.go). Enclave identities are MRENCLAVE‖MRSIGNER in hex (128 digits).
/// </summary>
public sealed class SimPolicy
{
    public uint Serial { get; set; } = 1;
    public List<SimEnclavePolicy> Enclaves { get; set; } = new();
    /// <summary>23.0+ master_secret_rotation_interval (omitempty; 0 leaves it out).</summary>
    public ulong MasterSecretRotationInterval { get; set; }
    /// <summary>How many signatures the signed policy carries (the policy signers' keys are derived).</summary>
    public int Signers { get; set; } = 1;
    /// <summary>
    /// The simulator's stand-in for who may generate the first master secret on 24+ (enclave file
    /// digests as NodeSetup.Enclave has them); not part of PolicySGX and not encoded.
    /// </summary>
    public List<string> MayGenerate { get; set; } = new();

    public SimEnclavePolicy? EntryFor(EnclaveIdentity id) => EntryFor(id.ToString());

    /// <summary>The entry of an enclave given as MRENCLAVE‖MRSIGNER hex (any case).</summary>
    public SimEnclavePolicy? EntryFor(string enclave) => Enclaves.FirstOrDefault(e => string.Equals(e.Enclave, enclave, StringComparison.OrdinalIgnoreCase));

    internal static bool Same(string hex, EnclaveIdentity id) => string.Equals(hex, id.ToString(), StringComparison.OrdinalIgnoreCase);

    public SimPolicy Clone() => new()
    {
        Serial = Serial,
        Enclaves = Enclaves.Select(e => new SimEnclavePolicy
        {
            Enclave = e.Enclave, MayReplicate = e.MayReplicate.ToList(),
            MayQuery = e.MayQuery.ToDictionary(q => q.Key, q => q.Value.ToList()),
        }).ToList(),
        MasterSecretRotationInterval = MasterSecretRotationInterval,
        Signers = Signers,
        MayGenerate = MayGenerate.ToList(),
    };

    /// <summary>
    /// SignedPolicySGX{policy, signatures} in CBOR: enclaves keyed by the EnclaveIdentity map itself;
    /// 22.2 has no rotation fields (they are omitempty from 23.0, so a zero leaves them out in any case).
    /// </summary>
    public CborMap ToCbor(string runtimeIdHex)
    {
        var enclaves = new CborMapBuilder();
        foreach (var e in Enclaves)
        {
            var query = new CborMapBuilder();
            foreach (var (rt, ids) in e.MayQuery)
                query.Add(CborNode.Bytes(Convert.FromHexString(rt)), Identities(ids));
            enclaves.Add(EnclaveIdentity.Parse(e.Enclave).ToCbor(), new CborMapBuilder()
                .Add("may_query", query.Build())
                .Add("may_replicate", Identities(e.MayReplicate))
                .Build());
        }
        var policy = new CborMapBuilder()
            .Add("serial", CborNode.UInt(Serial))
            .Add("id", CborNode.Bytes(Convert.FromHexString(runtimeIdHex)))
            .Add("enclaves", enclaves.Build());
        if (MasterSecretRotationInterval != 0) policy.Add("master_secret_rotation_interval", CborNode.UInt(MasterSecretRotationInterval));
        // Signatures over the policy with the context "oasis-core/keymanager: policy" (PolicySGXSignatureContext);
        // the simulator's are stand-ins: enclaves here do not verify them.
        var signatures = Enumerable.Range(0, Signers).Select(i => (CborNode)new CborMapBuilder()
            .Add("public_key", CborNode.Bytes(SimKeys.Derive("policy-signer-" + i, "key")))
            .Add("signature", CborNode.Bytes(SimKeys.Derive("policy-signer-" + i, $"signature-{Serial}", 64)))
            .Build()).ToArray();
        return new CborMapBuilder().Add("policy", policy.Build()).Add("signatures", new CborArray(signatures)).Build();
    }

    /// <summary>SHA3-256 of the CBOR signed policy: the policy_checksum an enclave registers (keymanager/src/policy/cached.rs).</summary>
    public byte[] Checksum(string runtimeIdHex) => Convert.FromHexString(KmPs.Core.Policy.KmPolicy.ChecksumOf(ToCbor(runtimeIdHex)));

    private static CborArray Identities(IEnumerable<string> ids) =>
        new(ids.Select(i => (CborNode)EnclaveIdentity.Parse(i).ToCbor()).ToArray());
}

/// <summary>One enclave's entry (EnclavePolicySGX): whom it may give its secrets to, and which runtimes' enclaves may query it.</summary>
public sealed class SimEnclavePolicy
{
    public string Enclave { get; set; } = "";
    public List<string> MayReplicate { get; set; } = new();
    /// <summary>Runtime id (64 hex) → enclave identities of that runtime that may query keys.</summary>
    public Dictionary<string, List<string>> MayQuery { get; set; } = new();
}
