using Grpc.Core;
using KmPs.Core.Control;
using KmPs.Core.Status;
using KmPs.Core.Wire;

namespace KmPs.Simulator.Shapes;

/// <summary>
/// The consensus key manager status (what KeyManager/GetStatus answers, and what 23.0's
/// <c>keymanager.global</c> and 24+'s <c>keymanager.secrets.status</c> hold) per oasis-core version:
/// 22.2.13 go/keymanager/api/api.go Status <c>{id, is_initialized, is_secure, checksum, nodes, policy}</c>;
/// 23.0 adds <c>generation</c> and <c>rotation_epoch</c> (omitempty) and <c>rsk</c> (omitempty pointer);
/// 24.0 moves it to go/keymanager/secrets/api.go; 25.6 adds <c>next_policy</c> (omitempty).
/// </summary>
public static class KeyManagerShapes
{
    /// <summary>25.1 renamed the service to oasis-core.KeyManager.Secrets and kept the old name as deprecated (secrets/grpc.go RegisterService).</summary>
    public static bool ServesSecretsName(SimNodeStatus s) => AtLeast(s, 25, 1);

    /// <summary>25.6 added Status.next_policy (secrets/api.go) and the scheduled policy update (apps/keymanager/secrets/txs.go).</summary>
    public static bool HasNextPolicy(SimNodeStatus s) => AtLeast(s, 25, 6);

    private static bool AtLeast(SimNodeStatus s, int major, int minor)
    {
        if (s.Generation < SchemaGeneration.V24) return false;
        var parts = s.EffectiveSoftwareVersion.Split('.', '-');
        var ma = int.TryParse(parts[0], out var a) ? a : 0;
        var mi = parts.Length > 1 && int.TryParse(parts[1], out var b) ? b : 0;
        return ma > major || (ma == major && mi >= minor);
    }

    public static CborMap Status(SimNodeStatus s)
    {
        var nodes = (s.CommitteeSeeds ?? Enumerable.Range(0, s.ConsensusNodes).Select(i => "node-" + i))
            .Select(seed => (CborNode)CborNode.Bytes(SimKeys.Derive(seed, "node"))).ToArray();
        var b = new CborMapBuilder()
            .Add("id", CborNode.Bytes(Convert.FromHexString(s.KmRuntimeId)))
            .Add("is_initialized", CborNode.Bool(s.ConsensusInitialized))
            .Add("is_secure", CborNode.True)
            .Add("checksum", s.ConsensusChecksumHex is null ? CborNode.Null : CborNode.Bytes(Convert.FromHexString(s.ConsensusChecksumHex)))
            .Add("nodes", new CborArray(nodes))
            .Add("policy", s.Policy is null ? CborNode.Null : s.Policy.ToCbor(s.KmRuntimeId));
        if (s.Generation >= SchemaGeneration.V23_0 && s.ConsensusInitialized)
            b.Add("rsk", CborNode.Bytes(SimKeys.Derive(s.KmRuntimeId, "rsk")));
        if (HasNextPolicy(s) && s.NextPolicy is not null)
            b.Add("next_policy", s.NextPolicy.ToCbor(s.KmRuntimeId));
        return b.Build();
    }

    /// <summary>
    /// GetStatus on one of the two service names: the NamespaceQuery's runtime must be this key
    /// manager ("keymanager: no such status", ErrNoSuchStatus, otherwise); a node before 25.1 does
    /// not know the new name (grpc-go: Unimplemented "unknown service").
    /// </summary>
    public static byte[] Answer(SimNodeStatus s, string service, byte[] request)
    {
        if (service == ControlMethods.KeyManagerSecrets && !ServesSecretsName(s))
            throw new RpcException(new Grpc.Core.Status(StatusCode.Unimplemented, $"unknown service {service}"));
        string? id;
        try { id = Hex.Encode(CborCodec.Decode(request).RequireMap("NamespaceQuery")["id"].FixedBytes("NamespaceQuery.id", 32)); }
        catch (CborDecodeException e) { throw new RpcException(new Grpc.Core.Status(StatusCode.Internal, "grpc: error unmarshalling request: " + e.Message)); }
        if (!string.Equals(id, s.KmRuntimeId, StringComparison.OrdinalIgnoreCase))
            throw new RpcException(new Grpc.Core.Status(StatusCode.Unknown, "keymanager: no such status"));
        return CborCodec.Encode(Status(s));
    }
}
