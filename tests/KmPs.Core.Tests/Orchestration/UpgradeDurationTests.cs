using KmPs.Core.Orchestration;
using KmPs.Core.Timing;

namespace KmPs.Core.Tests.Orchestration;

/// <summary>Issue 13: the printed plan ends with how long it waits, in epochs and in wall time.</summary>
public class UpgradeDurationTests
{
    private static UpgradePlan Plan(ulong upgradeEpoch, int verifyEpochs = 1) => new()
    {
        NewVersion = "0.6.0", UpgradeEpoch = upgradeEpoch, VerifyEpochs = verifyEpochs, FirstHalf = ["km1", "km2"], SecondHalf = ["km3", "km4"],
    };

    private static readonly EpochLengthEstimate Hour = new() { Source = EpochTimingSource.Chain, EpochDuration = TimeSpan.FromMinutes(61), Basis = "test" };

    [Fact]
    public void A_plan_waits_until_the_upgrade_epoch_then_one_epoch_per_replication_and_the_verification_gap()
    {
        var d = UpgradeDuration.Of(Plan(110), 100, Hour);
        Assert.Equal([10UL, 1UL, 1UL, 1UL], d.Phases.Select(p => p.Epochs));
        Assert.Equal(13UL, d.Epochs);
        Assert.Equal(TimeSpan.FromMinutes(61 * 13), d.WallTime);
        Assert.Equal("about 13 epochs ≈ 13 h 13 min (1 h 1 min per epoch, from the chain), plus node stops and starts", d.ToString());
    }

    [Fact]
    public void A_passed_upgrade_epoch_and_more_verify_epochs()
    {
        var d = UpgradeDuration.Of(Plan(90, verifyEpochs: 3), 100, Hour);
        Assert.Equal([0UL, 1UL, 3UL, 1UL], d.Phases.Select(p => p.Epochs));
    }

    [Fact]
    public void Without_an_epoch_length_it_says_epochs_and_why()
    {
        var d = UpgradeDuration.Of(Plan(103), 100, EpochLengthEstimate.Unknown("every node is on another machine"));
        Assert.Null(d.WallTime);
        Assert.Equal("about 6 epochs (epoch length unknown: every node is on another machine)", d.ToString());
    }

    [Fact]
    public void The_result_adds_each_steps_time_to_its_phase()
    {
        var r = new UpgradeResult();
        r.AddStepTime("first", TimeSpan.FromSeconds(2));
        r.AddStepTime("first", TimeSpan.FromSeconds(3));
        r.AddStepTime("second", TimeSpan.FromSeconds(4));
        Assert.Equal([new UpgradePhaseTime("first", TimeSpan.FromSeconds(5)), new UpgradePhaseTime("second", TimeSpan.FromSeconds(4))], r.Phases);
    }
}
