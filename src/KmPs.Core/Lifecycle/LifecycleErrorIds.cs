namespace KmPs.Core.Lifecycle;

/// <summary>The stable ErrorIds of stopping and starting a node (scripts match on these).</summary>
public static class LifecycleErrorIds
{
    public const string LifecycleScriptFailed = nameof(LifecycleScriptFailed);
    /// <summary>The node's socket did not answer within the start timeout.</summary>
    public const string StartTimeout = nameof(StartTimeout);
    /// <summary>The node's socket did not go silent within the stop timeout.</summary>
    public const string StopTimeout = nameof(StopTimeout);
    public const string SystemctlFailed = nameof(SystemctlFailed);
    public const string SystemctlTimeout = nameof(SystemctlTimeout);
    public const string SystemctlUnavailable = nameof(SystemctlUnavailable);
}
