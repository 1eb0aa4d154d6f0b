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
}
