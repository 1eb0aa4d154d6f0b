namespace KmPs.Core.Config;

/// <summary>What Set-KmRuntimeBundle changed.</summary>
public sealed class KmBundleChange
{
    public string Node { get; init; } = "";
    public string ConfigPath { get; init; } = "";
    public string RuntimeId { get; init; } = "";
    public string OldBundle { get; init; } = "";
    public string NewBundle { get; init; } = "";
    public string NewVersion { get; init; } = "";
    public bool Changed { get; init; }
    public string? BackupPath { get; init; }
}
