using KmPs.Core.Sgx;
using KmPs.Core.Status;
using KmPs.Core.Wire;

namespace KmPs.Simulator.Shapes;

/// <summary>registry.Runtime ("v": 3) for the KM runtime, as Registry/GetRuntime answers.</summary>
public static class RegistryShapes
{
    /// <summary>
    /// Each deployment is a VersionInfo (go/registry/api runtime.go): version, valid_from, tee =
    /// CBOR(SGXConstraints version 1) with the allowed enclave (go/common/node/sgx.go), and
    /// bundle_checksum = the bundle's manifest hash only from 25.0 (23.0-24.x define the field but
    /// oasis-core set it nowhere).
    /// </summary>
    /// <param name="softwareVersion">The answering node's oasis-core version (what it puts in the shapes).</param>
    public static byte[] EncodeRuntime(string runtimeIdHex, IEnumerable<SimDeployment> deployments, string? softwareVersion = null)
    {
        var version = OasisVersion.TryParse(softwareVersion?.Split('-', '+')[0], out var v) ? v : new OasisVersion(24, 3, 2);
        var deps = deployments.Select(d =>
        {
            var b = new CborMapBuilder()
                .Add("version", OasisVersion.Parse(d.Version).ToCbor())
                .Add("valid_from", CborNode.UInt(d.ValidFrom));
            if (d.Identity is not null)
            {
                var constraints = new SgxConstraints { Version = 1, Enclaves = new[] { Identity(d.Identity) } };
                b.Add("tee", CborNode.Bytes(CborCodec.Encode(constraints.ToCbor())));
            }
            if (d.ManifestHash is not null && version >= new OasisVersion(25, 0, 0))
                b.Add("bundle_checksum", CborNode.Bytes(Convert.FromHexString(d.ManifestHash)));
            return (CborNode)b.Build();
        }).ToArray();
        var id = CborNode.Bytes(Convert.FromHexString(runtimeIdHex));
        return CborCodec.Encode(new CborMapBuilder()
            .Add("v", CborNode.UInt(3))
            .Add("id", id)
            .Add("entity_id", CborNode.Bytes(SimKeys.Derive("entity", "entity")))
            .Add("genesis", new CborMapBuilder().Add("state_root", CborNode.Bytes(new byte[32])).Add("round", CborNode.UInt(0)).Build())
            .Add("kind", CborNode.UInt(RegistryRuntime.KindKeyManager))
            .Add("tee_hardware", CborNode.UInt(1))
            .Add("admission_policy", new CborMapBuilder().Add("any_node", new CborMapBuilder().Build()).Build())
            .Add("governance_model", CborNode.UInt(1))
            .Add("deployments", new CborArray(deps))
            .Build());
    }

    /// <summary>
    /// An identity the chain names: MRENCLAVE‖MRSIGNER (128 hex), or, as hand-made test statuses give
    /// it, a bare MRENCLAVE (64 hex) with a fixed stand-in MRSIGNER.
    /// </summary>
    public static EnclaveIdentity Identity(string hex) =>
        hex.Length == 64 ? new EnclaveIdentity(Convert.FromHexString(hex), SimKeys.Derive("signer", "mr_signer")) : EnclaveIdentity.Parse(hex);

    /// <summary>Reads the id out of a GetRuntimeQuery{height, id}.</summary>
    public static string QueriedRuntimeId(byte[] request)
    {
        var m = CborCodec.Decode(request).RequireMap("GetRuntimeQuery");
        return Hex.Encode(m["id"].FixedBytes("GetRuntimeQuery.id", 32))
               ?? throw new CborDecodeException("GetRuntimeQuery.id is missing");
    }
}
