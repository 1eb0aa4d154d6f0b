namespace KmPs.Simulator.Control;

/// <summary>
/// What the control server asks of a node. Handlers return CBOR bodies; throwing
/// Grpc.Core.RpcException sends that gRPC status (with grpc-message) like oasis-node does.
/// </summary>
public interface IControlBackend
{
    byte[] GetStatus();
    bool IsReady();
    bool IsSynced();
    Task WaitReadyAsync(CancellationToken ct);
    /// <summary>Returns when the shutdown was accepted (wait=false) or done (wait=true).</summary>
    Task RequestShutdownAsync(bool wait, CancellationToken ct);
    /// <summary>Registry/GetRuntime: request is CBOR GetRuntimeQuery, answer CBOR registry.Runtime.</summary>
    byte[] GetRuntime(byte[] request);

    /// <summary>
    /// oasis-core.Beacon and oasis-core.Consensus (epoch timing); null answers Unimplemented, like a
    /// server without those services registered.
    /// </summary>
    IChainTimeBackend? ChainTime => null;

    /// <summary>
    /// KeyManager/GetStatus or (25.1+) KeyManager.Secrets/GetStatus: request CBOR NamespaceQuery, answer
    /// the consensus key manager status. The default answers Unimplemented, like a node without it.
    /// </summary>
    byte[] GetKeyManagerStatus(string service, byte[] request) =>
        throw new Grpc.Core.RpcException(new Grpc.Core.Status(Grpc.Core.StatusCode.Unimplemented, $"unknown service {service}"));

    /// <summary>Simulator-only: a peer's replication request (stands in for the KM P2P protocol).</summary>
    byte[] Replicate(byte[] request) =>
        throw new Grpc.Core.RpcException(new Grpc.Core.Status(Grpc.Core.StatusCode.Unimplemented, "replication is not served here"));
}
