namespace KmPs.Control;

/// <summary>gRPC method paths served on a node's internal.sock (spec: oasis-control-api.md §1-§2, §6).</summary>
public static class ControlMethods
{
    public const string NodeController = "oasis-core.NodeController";
    public const string Registry = "oasis-core.Registry";

    public const string GetStatus = "GetStatus";
    public const string IsReady = "IsReady";
    public const string IsSynced = "IsSynced";
    public const string WaitReady = "WaitReady";
    public const string WaitSync = "WaitSync";
    public const string RequestShutdown = "RequestShutdown";
    public const string GetRuntime = "GetRuntime";
}
