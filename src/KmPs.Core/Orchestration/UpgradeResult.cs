namespace KmPs.Orchestration;

/// <summary>One node's part of the upgrade result.</summary>
public sealed class UpgradeNodeResult
{
    public string Name { get; set; } = "";
    /// <summary>First, Second or Skipped (already on the new version).</summary>
    public string Half { get; set; } = "";
    public string? BeforeVersion { get; set; }
    public string? AfterVersion { get; set; }
    public string? Checksum { get; set; }
    public string? Status { get; set; }
    public string? BackupPath { get; set; }
    public TimeSpan Downtime { get; set; }
}

/// <summary>Output of Invoke-KmSafeUpgrade.</summary>
public sealed class UpgradeResult
{
    public bool Success { get; set; }
    public bool WhatIf { get; set; }
    public bool Resumed { get; set; }
    public string NewVersion { get; set; } = "";
    public ulong UpgradeEpoch { get; set; }
    public string? Checksum { get; set; }
    public TimeSpan Duration { get; set; }
    public string? JournalPath { get; set; }
    public UpgradePlan? Plan { get; set; }
    public List<UpgradeNodeResult> Nodes { get; set; } = new();
    public override string ToString() => $"{(Success ? "upgraded" : WhatIf ? "planned" : "not upgraded")} to {NewVersion}: {string.Join(", ", Nodes.Select(n => $"{n.Name} {n.BeforeVersion}->{n.AfterVersion}"))}";
}
