using KmPs.Core.Bundles;

namespace KmPs.Core.Orchestration;

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
    public const string VersionNotDeployed = DeploymentErrorIds.VersionNotDeployed;
    /// <summary>The new bundle is of the other network's key manager (a Testnet ORC for Mainnet nodes, or the reverse).</summary>
    public const string BundleOtherNetwork = DeploymentErrorIds.BundleOtherNetwork;
    /// <summary>The new bundle's enclave identity is not in its version's deployment (tee.enclaves): another build.</summary>
    public const string EnclaveNotDeployed = DeploymentErrorIds.EnclaveNotDeployed;
    /// <summary>The new version's deployment names another bundle (its 25.0+ bundle_checksum is not this manifest hash).</summary>
    public const string BundleChecksumMismatch = DeploymentErrorIds.BundleChecksumMismatch;
    /// <summary>The new bundle has no enclave identity to check against the deployment.</summary>
    public const string BundleIdentityUnknown = DeploymentErrorIds.BundleIdentityUnknown;
    /// <summary>The new version's deployment has TEE constraints that do not decode.</summary>
    public const string DeploymentTeeUnreadable = DeploymentErrorIds.DeploymentTeeUnreadable;
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
