namespace KmPs.Core.Control;

/// <summary>gRPC method paths served on a node's internal.sock (spec: oasis-control-api.md §1-§2, §6).</summary>
public static class ControlMethods
{
    public const string NodeController = "oasis-core.NodeController";
    public const string Registry = "oasis-core.Registry";
    /// <summary>go/beacon/api/grpc.go serviceName (docs/spec-epoch-timing.md).</summary>
    public const string Beacon = "oasis-core.Beacon";
    /// <summary>go/consensus/api/grpc.go serviceName (docs/spec-epoch-timing.md).</summary>
    public const string Consensus = "oasis-core.Consensus";
    /// <summary>The key manager backend up to 25.0, and its deprecated name from 25.1 (go/keymanager/secrets/grpc_deprecated.go).</summary>
    public const string KeyManager = "oasis-core.KeyManager";
    /// <summary>The key manager secrets backend from 25.1 (go/keymanager/secrets/grpc.go serviceName).</summary>
    public const string KeyManagerSecrets = "oasis-core.KeyManager.Secrets";

    public const string GetStatus = "GetStatus";
    public const string IsReady = "IsReady";
    public const string IsSynced = "IsSynced";
    public const string WaitReady = "WaitReady";
    public const string WaitSync = "WaitSync";
    public const string RequestShutdown = "RequestShutdown";
    public const string GetRuntime = "GetRuntime";
    // KeyManager / KeyManager.Secrets: request NamespaceQuery{height, id}, answer the consensus key manager status.

    // Beacon: request int64 height (GetEpoch, GetFutureEpoch, ConsensusParameters) or uint64 epoch (GetEpochBlock).
    public const string GetEpoch = "GetEpoch";
    public const string GetEpochBlock = "GetEpochBlock";
    public const string GetFutureEpoch = "GetFutureEpoch";
    public const string ConsensusParameters = "ConsensusParameters";
    // Consensus: request int64 height, 0 = latest.
    public const string GetBlock = "GetBlock";
}
