namespace KmPs.Core.Lifecycle;

/// <summary>The stable ErrorIds of stopping and starting a node (scripts match on these).</summary>
public static class LifecycleErrorIds
{
    public const string LifecycleScriptFailed = nameof(LifecycleScriptFailed);
    public const string SystemctlFailed = nameof(SystemctlFailed);
    public const string SystemctlTimeout = nameof(SystemctlTimeout);
    public const string SystemctlUnavailable = nameof(SystemctlUnavailable);
}
