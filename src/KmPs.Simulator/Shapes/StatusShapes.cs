using KmPs.Core.Status;
using KmPs.Core.Wire;

namespace KmPs.Simulator.Shapes;

/// <summary>
/// Encodes a <see cref="SimNodeStatus"/> as oasis-node's CBOR control.Status for one schema
/// generation, field for field as spec/oasis-control-api.md §2-§6 gives the Go structs: enums as
/// integers, ids/keys/hashes as byte strings, times as unix seconds or null, omitempty honoured.
/// </summary>
public static class StatusShapes
{
    public static byte[] Encode(SimNodeStatus s) => CborCodec.Encode(Build(s));

    public static CborMap Build(SimNodeStatus s)
    {
        var g = s.Generation;
        var b = new CborMapBuilder().Add("software_version", CborNode.Text(s.EffectiveSoftwareVersion));
        if (g >= SchemaGeneration.V24) b.Add("mode", CborNode.Text("keymanager"));
        b.Add("identity", Identity(s));
        b.Add("consensus", Consensus(s));
        b.Add("runtimes", new CborMapBuilder().Add(Ns(s.KmRuntimeId), RuntimeStatus(s)).Build());
        b.Add("registration", Registration(s));
        var km = Keymanager(s);
        if (km is not null) b.Add("keymanager", km);
        if (g >= SchemaGeneration.V23_0) b.Add("p2p", P2P(s));
        return b.Build();
    }

    private static CborBytes Key(SimNodeStatus s, string purpose) => CborNode.Bytes(SimKeys.Derive(s.NodeSeed, purpose));
    private static CborBytes Ns(string hex) => CborNode.Bytes(Convert.FromHexString(hex));
    private static CborNode Time(long? unix) => unix is null ? CborNode.Null : CborNode.Int(unix.Value);
    private static CborNode U(ulong v) => CborNode.UInt(v);

    /// <summary>p2p.Status (23.0+).</summary>
    private static CborMap P2P(SimNodeStatus s)
    {
        var pub = SimKeys.Derive(s.NodeSeed, "p2p");
        return new CborMapBuilder()
            .Add("pub_key", CborNode.Bytes(pub))
            .Add("peer_id", CborNode.Bytes(SimKeys.PeerId(pub)))
            .Add("addresses", new CborArray(new CborNode[] { Address(new byte[] { 127, 0, 0, 1 }, 9200) }))
            .Add("num_peers", CborNode.UInt(3))
            .Add("num_connections", CborNode.UInt(3))
            .Add("protocols", new CborMapBuilder().Add("/oasis/keymanager/1.0.0", CborNode.UInt(2)).Build())
            .Add("topics", new CborMapBuilder().Build())
            .Build();
    }

    private static CborMap Identity(SimNodeStatus s)
    {
        var b = new CborMapBuilder().Add("node", Key(s, "node")).Add("consensus", Key(s, "consensus"));
        if (s.Generation == SchemaGeneration.V22_2)
            b.Add("p2p", Key(s, "p2p")).Add("tls", new CborArray(new CborNode[] { Key(s, "tls"), Key(s, "tls-next") }));
        else
            b.Add("tls", Key(s, "tls"));
        return b.Build();
    }

    private static CborMap Consensus(SimNodeStatus s)
    {
        var b = new CborMapBuilder()
            .Add("status", U(s.ConsensusSyncing ? 1UL : 0UL))
            .Add("version", new OasisVersion(s.Generation == SchemaGeneration.V22_2 ? (ushort)5 : (ushort)7, 0, 0).ToCbor())
            .Add("backend", CborNode.Text("tendermint"));
        if (s.Generation == SchemaGeneration.V22_2)
            b.Add("mode", CborNode.Text("full")).Add("node_peers", new CborArray(new CborNode[] { CborNode.Text("a1b2c3@127.0.0.1:26656") }));
        b.Add("features", U(3))
            .Add("latest_height", CborNode.Int(s.Height))
            .Add("latest_hash", Key(s, "block-" + s.Height))
            .Add("latest_time", CborNode.Int(s.LatestTimeUnix ?? 1_700_000_000 + s.Height * 6))
            .Add("latest_epoch", U(s.Epoch))
            .Add("latest_state_root", new CborMapBuilder()
                .Add("ns", CborNode.Bytes(new byte[32])).Add("version", CborNode.Int(s.Height))
                .Add("root_type", U(1)).Add("hash", Key(s, "root-" + s.Height)).Build())
            .Add("genesis_height", CborNode.Int(1))
            .Add("genesis_hash", CborNode.Bytes(SimKeys.Derive("genesis", "hash")))
            .Add("last_retained_height", CborNode.Int(1))
            .Add("last_retained_hash", CborNode.Bytes(SimKeys.Derive("genesis", "hash")))
            .Add("chain_context", CborNode.Text(Convert.ToHexString(SimKeys.Derive("genesis", "chain")).ToLowerInvariant()))
            .Add("is_validator", CborNode.False);
        return b.Build();
    }

    /// <summary>A KM node's own runtime status: no active descriptor and zero rounds (spec §6 caveat).</summary>
    private static CborMap RuntimeStatus(SimNodeStatus s)
    {
        var zero = CborNode.Bytes(new byte[32]);
        var b = new CborMapBuilder()
            .Add("descriptor", CborNode.Null)
            .Add("latest_round", U(0)).Add("latest_hash", zero).Add("latest_time", U(0))
            .Add("latest_state_root", new CborMapBuilder().Add("ns", Ns(s.KmRuntimeId)).Add("version", U(0))
                .Add("root_type", U(1)).Add("hash", zero).Build())
            .Add("genesis_round", U(0)).Add("genesis_hash", zero)
            .Add("last_retained_round", U(0)).Add("last_retained_hash", zero)
            .Add("committee", CborNode.Null);
        if (s.Generation >= SchemaGeneration.V23_0) b.Add("provisioner", CborNode.Text("sandboxed"));
        return b.Build();
    }

    private static CborMap Registration(SimNodeStatus s)
    {
        var b = new CborMapBuilder();
        if (s.Generation >= SchemaGeneration.V23_0)
        {
            b.Add("last_attempt_successful", CborNode.Bool(s.LastAttemptSuccessful));
            if (!string.IsNullOrEmpty(s.LastAttemptError)) b.Add("last_attempt_error_message", CborNode.Text(s.LastAttemptError));
            b.Add("last_attempt", Time(s.LastAttemptUnix));
        }
        b.Add("last_registration", Time(s.Registered ? s.LastRegistrationUnix : null));
        if (s.Registered)
        {
            b.Add("descriptor", Descriptor(s));
            b.Add("node_status", new CborMapBuilder()
                .Add("expiration_processed", CborNode.False).Add("freeze_end_time", U(0))
                .Add("election_eligible_after", U(0)).Build());
        }
        return b.Build();
    }

    private static CborMap Address(byte[] ip, int port) =>
        new CborMapBuilder().Add("IP", CborNode.Bytes(ip)).Add("Port", CborNode.Int(port)).Add("Zone", CborNode.Text("")).Build();

    private static CborMap Descriptor(SimNodeStatus s)
    {
        var v22 = s.Generation == SchemaGeneration.V22_2;
        var ipv4Mapped = new byte[] { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1 };
        var tls = new CborMapBuilder().Add("pub_key", Key(s, "tls"));
        if (v22)
            tls.Add("next_pub_key", Key(s, "tls-next")).Add("addresses", new CborArray(new CborNode[]
            {
                new CborMapBuilder().Add("pub_key", Key(s, "tls")).Add("address", Address(ipv4Mapped, 9100)).Build(),
            }));
        var versions = s.RegisteredVersions ?? new[] { s.RuntimeVersion };
        var extra = s.ExtraInfoBase64 is null ? (CborNode)CborNode.Null : CborNode.Bytes(Convert.FromBase64String(s.ExtraInfoBase64));
        var runtimes = versions.Select((v, i) => (CborNode)new CborMapBuilder()
            .Add("id", Ns(s.KmRuntimeId))
            .Add("version", OasisVersion.Parse(v).ToCbor())
            .Add("capabilities", new CborMapBuilder().Add("tee", new CborMapBuilder()
                .Add("hardware", U(1)).Add("rak", Key(s, "rak-" + v))
                .Add("attestation", CborNode.Bytes(SimKeys.Derive(s.NodeSeed, "quote-" + v, 64))).Build()).Build())
            // Only the last (current) version carries the init response.
            .Add("extra_info", i == versions.Length - 1 ? extra : CborNode.Null)
            .Build()).ToArray();
        var b = new CborMapBuilder()
            .Add("v", U(v22 ? 2UL : 3UL))
            .Add("id", Key(s, "node"))
            .Add("entity_id", CborNode.Bytes(SimKeys.Derive(s.EntitySeed, "entity")))
            .Add("expiration", U(s.RegistrationExpiration ?? s.Epoch + 2))
            .Add("tls", tls.Build())
            .Add("p2p", new CborMapBuilder().Add("id", Key(s, "p2p"))
                .Add("addresses", new CborArray(new CborNode[] { Address(ipv4Mapped, 9200) })).Build())
            .Add("consensus", new CborMapBuilder().Add("id", Key(s, "consensus"))
                .Add("addresses", new CborArray(new CborNode[]
                {
                    new CborMapBuilder().Add("id", Key(s, "consensus")).Add("address", Address(ipv4Mapped, 26656)).Build(),
                })).Build())
            .Add("vrf", new CborMapBuilder().Add("id", Key(s, "vrf")).Build())
            .Add("runtimes", new CborArray(runtimes))
            .Add("roles", U(4))
            .Add("software_version", CborNode.Text(s.EffectiveSoftwareVersion));
        return b.Build();
    }

    private static CborNode? Keymanager(SimNodeStatus s)
    {
        if (s.KmStatus is null) return null;
        var status = U(KmStatusWords.ToWire(s.KmStatus));
        var clients = new CborArray(s.ClientRuntimes.Select(c => (CborNode)Ns(c)).ToArray());
        var accessList = new CborArray(new CborNode[]
        {
            new CborMapBuilder().Add("runtime_id", Ns(s.KmRuntimeId))
                .Add("peers", new CborArray(new CborNode[] { CborNode.Bytes(SimKeys.PeerId(SimKeys.Derive("peer", "p2p"))) })).Build(),
        });
        var privatePeers = new CborArray(Array.Empty<CborNode>());
        var version = OasisVersion.Parse(s.RuntimeVersion).ToCbor();
        switch (s.Generation)
        {
            case SchemaGeneration.V22_2:
                return new CborMapBuilder()
                    .Add("status", status).Add("may_generate", CborNode.Bool(s.MayGenerate))
                    .Add("runtime_id", Ns(s.KmRuntimeId)).Add("client_runtimes", clients)
                    .Add("access_list", accessList).Add("private_peers", privatePeers).Build();
            case SchemaGeneration.V23_0:
                return new CborMapBuilder()
                    .Add("global", Global(s))
                    .Add("worker", new CborMapBuilder()
                        .Add("status", status).Add("active_version", version)
                        .Add("may_generate", CborNode.Bool(s.MayGenerate)).Add("runtime_id", Ns(s.KmRuntimeId))
                        .Add("client_runtimes", clients).Add("access_list", accessList).Add("private_peers", privatePeers)
                        .Add("policy", Policy(s)).Add("policy_checksum", PolicyChecksum(s))
                        .Add("master_secrets", SecretStats("generation")).Add("ephemeral_secrets", SecretStats("epoch")).Build())
                    .Build();
            default:
                return new CborMapBuilder()
                    .Add("status", status).Add("active_version", version)
                    .Add("runtime_id", Ns(s.KmRuntimeId)).Add("client_runtimes", clients).Add("access_list", accessList)
                    .Add("secrets", new CborMapBuilder()
                        .Add("status", Global(s))
                        .Add("worker", new CborMapBuilder()
                            .Add("status", U(KmStatusWords.ToWire(s.SecretsWorkerStatus ?? s.KmStatus)))
                            .Add("last_registration", Time(s.Registered ? s.LastRegistrationUnix : null))
                            .Add("policy", Policy(s)).Add("policy_checksum", PolicyChecksum(s))
                            .Add("master_secrets", SecretStats("generation")).Add("ephemeral_secrets", SecretStats("epoch"))
                            .Add("private_peers", privatePeers).Build())
                        .Build())
                    .Add("churp", new CborMapBuilder().Build())
                    .Build();
        }
    }

    private static CborNode PolicyChecksum(SimNodeStatus s) =>
        s.PolicyChecksumHex is null ? CborNode.Null : CborNode.Bytes(Convert.FromHexString(s.PolicyChecksumHex));

    private static CborMap SecretStats(string unit) => new CborMapBuilder()
        .Add("num_loaded", U(1)).Add($"last_loaded_{unit}", U(0))
        .Add("num_generated", U(0)).Add($"last_generated_{unit}", U(0)).Build();

    /// <summary>Consensus KM status (23.0 <c>global</c>, 24+ <c>secrets.status</c>): the same struct KeyManager/GetStatus answers.</summary>
    private static CborMap Global(SimNodeStatus s) => KeyManagerShapes.Status(s);

    /// <summary>The worker's policy (23.0 worker.policy, 24+ secrets.worker.policy: *SignedPolicySGX), the one in effect.</summary>
    private static CborNode Policy(SimNodeStatus s) => s.Policy is null ? CborNode.Null : s.Policy.ToCbor(s.KmRuntimeId);
}
