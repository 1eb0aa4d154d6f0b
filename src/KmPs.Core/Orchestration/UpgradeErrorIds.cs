namespace KmPs.Core.Orchestration;

/// <summary>The stable ErrorIds of the safe upgrade's plan, journal and run (scripts match on these).</summary>
public static class UpgradeErrorIds
{
    public const string InvalidFirstHalf = nameof(InvalidFirstHalf);
    public const string InventoryIncomplete = nameof(InventoryIncomplete);
    public const string JournalChanged = nameof(JournalChanged);
    public const string JournalInUse = nameof(JournalInUse);
    public const string JournalInvalid = nameof(JournalInvalid);
    public const string JournalMismatch = nameof(JournalMismatch);
    public const string JournalUnusable = nameof(JournalUnusable);
    /// <summary>A node the run stopped answers again before the run started it: started outside the run, on the config it had then.</summary>
    public const string NodeStartedByHand = nameof(NodeStartedByHand);
    public const string PlanRefused = nameof(PlanRefused);
    public const string ResumeStateMismatch = nameof(ResumeStateMismatch);
    public const string SingleNodeRefused = nameof(SingleNodeRefused);
    public const string UpgradeDeclined = nameof(UpgradeDeclined);
    public const string UpgradeStopped = nameof(UpgradeStopped);
}
