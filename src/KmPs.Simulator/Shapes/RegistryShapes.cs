using KmPs.Status;
using KmPs.Wire;

namespace KmPs.Simulator.Shapes;

/// <summary>registry.Runtime ("v": 3) for the KM runtime, as Registry/GetRuntime answers.</summary>
public static class RegistryShapes
{
    public static byte[] EncodeRuntime(string runtimeIdHex, IEnumerable<SimDeployment> deployments)
    {
        var deps = deployments.Select(d =>
        {
            var b = new CborMapBuilder()
                .Add("version", OasisVersion.Parse(d.Version).ToCbor())
                .Add("valid_from", CborNode.UInt(d.ValidFrom));
            if (d.Enclave is not null || d.Identity is not null)
            {
                // CBOR(SGXConstraints v1) with the one allowed enclave identity.
                var identity = d.Identity is not null
                    ? KmPs.Sgx.EnclaveIdentity.Parse(d.Identity).ToCbor()
                    : new CborMapBuilder().Add("mr_enclave", CborNode.Bytes(Convert.FromHexString(d.Enclave!)))
                        .Add("mr_signer", CborNode.Bytes(SimKeys.Derive("signer", "mr_signer"))).Build();
                var tee = new CborMapBuilder().Add("v", CborNode.UInt(1)).Add("enclaves", new CborArray(new CborNode[] { identity })).Build();
                b.Add("tee", CborNode.Bytes(CborCodec.Encode(tee)));
            }
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

    /// <summary>Reads the id out of a GetRuntimeQuery{height, id}.</summary>
    public static string QueriedRuntimeId(byte[] request)
    {
        var m = CborCodec.Decode(request).RequireMap("GetRuntimeQuery");
        return Hex.Encode(m["id"].FixedBytes("GetRuntimeQuery.id", 32))
               ?? throw new CborDecodeException("GetRuntimeQuery.id is missing");
    }
}
