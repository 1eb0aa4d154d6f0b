namespace KmPs.Orchestration;

/// <summary>
/// The stable ErrorIds of the pre-flight's refusals. The run stops with PreflightFailed; each
/// <see cref="PreflightProblem"/> in its error's TargetObject carries one of these.
/// </summary>
public static class PreflightErrorIds
{
    public const string PreflightFailed = nameof(PreflightFailed);
    public const string NoNodes = nameof(NoNodes);
    public const string DuplicateNodeName = nameof(DuplicateNodeName);
    public const string SharedSocket = nameof(SharedSocket);
    public const string SharedDataDir = nameof(SharedDataDir);
    public const string ReservedNodeName = nameof(ReservedNodeName);
    public const string SingleNode = nameof(SingleNode);
    public const string BundleUnusable = nameof(BundleUnusable);
    public const string RuntimeIdAmbiguous = nameof(RuntimeIdAmbiguous);
    public const string BundleNotKeyManager = nameof(BundleNotKeyManager);
    public const string BundleOtherRuntime = nameof(BundleOtherRuntime);
    public const string DataDirNotUsable = nameof(DataDirNotUsable);
    public const string NoLifecycle = nameof(NoLifecycle);
    public const string NoConfigPath = nameof(NoConfigPath);
    public const string ConfigUnusable = nameof(ConfigUnusable);
    public const string ConfigKmBundleCount = nameof(ConfigKmBundleCount);
    public const string StatusUnreadable = nameof(StatusUnreadable);
    public const string NodeNotReady = nameof(NodeNotReady);
    public const string NoInitResponse = nameof(NoInitResponse);
    public const string SameNodeTwice = nameof(SameNodeTwice);
    public const string ChecksumDisagreement = nameof(ChecksumDisagreement);
    public const string VersionNotDeployed = nameof(VersionNotDeployed);
    public const string DeploymentsUnreadable = nameof(DeploymentsUnreadable);
    /// <summary>The consensus key manager status (with the policy) cannot be read.</summary>
    public const string PolicyUnreadable = nameof(PolicyUnreadable);
    /// <summary>The key manager has no policy, and its enclaves are secure (they do not start without one).</summary>
    public const string PolicyMissing = nameof(PolicyMissing);
    /// <summary>The policy has no entry for the new bundle's enclave.</summary>
    public const string PolicyNoEntryForNewEnclave = nameof(PolicyNoEntryForNewEnclave);
    /// <summary>The current nodes' enclave does not list the new enclave in its may_replicate (or has no entry).</summary>
    public const string PolicyReplicationNotAllowed = nameof(PolicyReplicationNotAllowed);
    /// <summary>The policy in effect does not allow it, but the scheduled next policy does from the next epoch (25.6+): wait for it (-WaitForPolicy).</summary>
    public const string PolicyNotYetInEffect = nameof(PolicyNotYetInEffect);
    /// <summary>The policy in effect allows it, but the scheduled next policy no longer does.</summary>
    public const string PolicyRevokedNextEpoch = nameof(PolicyRevokedNextEpoch);
}
