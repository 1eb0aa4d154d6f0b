namespace KmPs.Core.Orchestration;

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
    /// <summary>The enclave the upgraded nodes run (the new bundle's, found in the new version's deployment).</summary>
    public Sgx.EnclaveIdentity? NewEnclave { get; set; }
    /// <summary>The enclaves the nodes ran before (their versions' deployments).</summary>
    public List<Sgx.EnclaveIdentity> OldEnclaves { get; set; } = new();
    public List<UpgradeNodeResult> Nodes { get; set; } = new();
    /// <summary>What the pre-flight found of the key manager policy: the serial, both enclaves, and whether it lets the new one replicate.</summary>
    public Policy.UpgradePolicyCheck? Policy { get; set; }
    /// <summary>What the plan was expected to wait, as printed with it.</summary>
    public UpgradeDuration? Estimate { get; set; }
    /// <summary>The time each phase ("first", "second", "final") took in this run, in step order.</summary>
    public List<UpgradePhaseTime> Phases { get; set; } = new();

    /// <summary>Adds a finished step's time to its phase.</summary>
    public void AddStepTime(string phase, TimeSpan took)
    {
        var i = Phases.FindIndex(p => p.Phase == phase);
        if (i < 0) Phases.Add(new UpgradePhaseTime(phase, took));
        else Phases[i] = Phases[i] with { Duration = Phases[i].Duration + took };
    }

    public override string ToString() => $"{(Success ? "upgraded" : WhatIf ? "planned" : "not upgraded")} to {NewVersion}: {string.Join(", ", Nodes.Select(n => $"{n.Name} {n.BeforeVersion}->{n.AfterVersion}"))}";
}

/// <summary>The wall time one phase of the run took.</summary>
public sealed record UpgradePhaseTime(string Phase, TimeSpan Duration)
{
    public override string ToString() => $"{Phase} {Timing.EpochEta.FormatDuration(Duration)}";
}
