using KmPs.Core.Timing;

namespace KmPs.Core.Orchestration;

/// <summary>One phase's waiting in epochs, and its wall time when the epoch length is known.</summary>
public sealed record UpgradePhaseEstimate(string Phase, string Why, ulong Epochs, TimeSpan? WallTime);

/// <summary>
/// How long a plan waits (issue 13: "the printed plan ends with the estimated duration"). The
/// waiting is in epochs, the one unit the network guarantees: until the upgrade epoch, about one
/// for the first half to replicate (the new enclave registers, then replicates at the next epoch),
/// -VerifyEpochs between the two verifications, and about one for the second half. Node stops and
/// starts take seconds to minutes and are not counted. Wall time comes from the measured epoch length.
/// </summary>
public sealed record UpgradeDuration(IReadOnlyList<UpgradePhaseEstimate> Phases, EpochLengthEstimate Length)
{
    public ulong Epochs => (ulong)Phases.Sum(p => (long)p.Epochs);
    public TimeSpan? WallTime => Length.EpochDuration is { } d ? d * Epochs : null;

    public static UpgradeDuration Of(UpgradePlan plan, ulong currentEpoch, EpochLengthEstimate length)
    {
        TimeSpan? Wall(ulong epochs) => length.EpochDuration is { } d ? d * epochs : null;
        var phases = new List<UpgradePhaseEstimate>();
        void Add(string phase, string why, ulong epochs) => phases.Add(new(phase, why, epochs, Wall(epochs)));
        if (plan.FirstHalf.Count > 0)
        {
            var untilUpgrade = plan.UpgradeEpoch > currentEpoch ? plan.UpgradeEpoch - currentEpoch : 0;
            Add("first", $"until the upgrade epoch {plan.UpgradeEpoch}", untilUpgrade);
            Add("first", "the first half replicates", 1);
            Add("first", "between the two verifications", (ulong)plan.VerifyEpochs);
        }
        if (plan.SecondHalf.Count > 0) Add("second", "the second half replicates", 1);
        return new UpgradeDuration(phases, length);
    }

    /// <summary>"about 12 epochs ≈ 12 h 12 min (1 h 1 min per epoch, from the chain), ...", or in epochs alone when the length is unknown.</summary>
    public override string ToString()
    {
        var epochs = Epochs == 1 ? "1 epoch" : $"{Epochs} epochs";
        if (WallTime is not { } wall || Length.EpochDuration is not { } d) return $"about {epochs} (epoch length unknown: {Length.Basis})";
        var source = Length.Source == EpochTimingSource.Chain ? "from the chain" : "from observed epochs";
        return $"about {epochs} ≈ {EpochEta.FormatDuration(wall)} ({EpochEta.FormatDuration(d)} per epoch, {source}), plus node stops and starts";
    }
}
