using Grpc.Core;
using KmPs.Core.Control;
using KmPs.Core.Sgx;
using KmPs.Core.Wire;
using KmPs.Simulator.Cluster;
using KmPs.Simulator.Shapes;

namespace KmPs.Simulator.Node;

/// <summary>
/// The simulator's stand-in for the key manager's attested P2P replication call: a unary gRPC method
/// on the node's P2P socket, request CBOR {node, identity}, answer CBOR {secret}.
/// </summary>
public static class ReplicationWire
{
    public const string Service = "kmsim.Replication";
    public const string Method = "Replicate";

    public static byte[] EncodeRequest(string node, EnclaveIdentity identity) => CborCodec.Encode(new CborMapBuilder()
        .Add("node", CborNode.Text(node)).Add("identity", CborNode.Text(identity.ToString())).Build());

    /// <summary>The requester's node name and enclave identity (hex); empty when missing.</summary>
    public static (string Node, string Identity) DecodeRequest(byte[] request)
    {
        var m = CborCodec.Decode(request).RequireMap("replicate");
        return (m["node"].Text("node") ?? "", m["identity"].Text("identity") ?? "");
    }

    public static byte[] EncodeAnswer(byte[] secret) => CborCodec.Encode(new CborMapBuilder().Add("secret", CborNode.Bytes(secret)).Build());

    public static byte[] DecodeAnswer(byte[] body) =>
        CborCodec.Decode(body).RequireMap("replication answer")["secret"].Bytes("secret") ?? throw new IOException("empty replication answer");
}

/// <summary>How a node asks a committee peer for the master secret.</summary>
public interface IReplicationClient
{
    /// <summary>The peer's secret; throws RpcException (the peer's refusal), IOException, HttpRequestException, ... when it does not hand it over.</summary>
    byte[] Request(ChainRegistration peer, string requester, EnclaveIdentity identity);
}

/// <summary>Over the peer's P2P socket as its registration names it (the control socket for registrations without one).</summary>
public sealed class GrpcReplicationClient : IReplicationClient
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(2);

    public byte[] Request(ChainRegistration peer, string requester, EnclaveIdentity identity)
    {
        var client = ControlClient.For(SocketAddress.Parse(peer.P2p is { Length: > 0 } p2p ? p2p : peer.Socket));
        var body = client.CallAsync(ReplicationWire.Service, ReplicationWire.Method, ReplicationWire.EncodeRequest(requester, identity), Timeout, CancellationToken.None)
            .GetAwaiter().GetResult();
        return ReplicationWire.DecodeAnswer(body);
    }
}

/// <summary>A source node's answer to a replication request: the refusal (gRPC status and text), or null to serve it.</summary>
public sealed record ReplicationRefusal(StatusCode Code, string Detail)
{
    public RpcException ToRpc() => new(new Grpc.Core.Status(Code, Detail));
}

/// <summary>
/// The source side of replication: whether a node hands its master secret to a requester, a pure
/// function of its state snapshot, its faults, the requester's registration and the policy in effect.
/// </summary>
public static class ReplicationSource
{
    public static readonly ReplicationRefusal Unreachable = new(StatusCode.Unavailable, "p2p: failed to dial peer");
    public static readonly ReplicationRefusal Refused = new(StatusCode.PermissionDenied, "keymanager: replication refused");
    public static readonly ReplicationRefusal NotInitialized = new(StatusCode.Unavailable, "keymanager: not initialized");
    public static readonly ReplicationRefusal NotInAccessList = new(StatusCode.PermissionDenied, "keymanager: peer not in access list");
    public static readonly ReplicationRefusal NotAuthorized = new(StatusCode.PermissionDenied, ReplicationRules.NotAuthorized);

    /// <summary>The faults that stop a request before it reaches the enclave (the P2P side down; a node set to refuse).</summary>
    public static ReplicationRefusal? Gate(Faults faults) =>
        faults.Unreachable ? Unreachable : faults.RefuseReplication ? Refused : null;

    /// <summary>
    /// In order: an enclave without its secret (or a worker not yet ready) serves nobody; the worker
    /// serves only nodes in its access list, i.e. registered, not deregistered nor expired, with the
    /// attested identity they ask with; the source enclave authorises the requester's identity under the
    /// policy in effect (runtime/secrets.rs authorize_secret_replication → cached.rs may_replicate_secret).
    /// </summary>
    public static ReplicationRefusal? Decide(SimNodeState self, EnclaveIdentity selfIdentity, ChainRegistration? requester,
        string requesterIdentity, SimPolicy policy, ulong epoch)
    {
        if (self.Secret is null || !self.IsReady) return NotInitialized;
        if (requester is null || requester.Deregistered || !string.Equals(requester.Identity, requesterIdentity, StringComparison.OrdinalIgnoreCase) || requester.Expiration < epoch)
            return NotInAccessList;
        if (!ReplicationRules.MayReplicateSecret(policy, selfIdentity.ToString(), requesterIdentity)) return NotAuthorized;
        return null;
    }
}
