using KmPs.Core.Timing;

namespace KmPs.Core.Tests.Timing;

/// <summary>Issue 13: the bar of a wait for an epoch says how long, from the network's epoch length, and starts at 0 %.</summary>
public class EpochWaitProgressTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 2, 1, 0, 0, TimeSpan.Zero);
    private static readonly EpochLengthEstimate Hourly = new() { Source = EpochTimingSource.Chain, EpochDuration = TimeSpan.FromHours(1), RelativeError = 0.01, Basis = "test" };

    private static EpochEta Eta(ulong current, ulong target, TimeSpan untilArrival, EpochLengthEstimate? length = null) =>
        new() { CurrentEpoch = current, TargetEpoch = target, AsOf = T0, Arrival = T0 + untilArrival, Length = length ?? Hourly };

    [Fact]
    public void Fourteen_epochs_of_an_hour_are_shown_as_hours_not_as_the_timeout()
    {
        var v = EpochWaitProgress.At(Eta(1009, 1023, TimeSpan.FromHours(13.9)), T0, T0, T0.AddDays(2));
        Assert.Equal("14 epochs left, about 13 h 54 min", v.Status);
        Assert.Equal((int)TimeSpan.FromHours(13.9).TotalSeconds, v.SecondsRemaining);
        Assert.Equal(0, v.PercentComplete);
    }

    [Fact]
    public void The_bar_runs_from_zero_at_the_start_of_the_wait_by_time()
    {
        var eta = Eta(10, 12, TimeSpan.FromMinutes(20));
        Assert.Equal(0, EpochWaitProgress.At(eta, T0, T0, T0.AddHours(2)).PercentComplete);
        Assert.Equal(50, EpochWaitProgress.At(eta, T0, T0.AddMinutes(10), T0.AddHours(2)).PercentComplete);
        Assert.Equal(99, EpochWaitProgress.At(eta, T0, T0.AddMinutes(30), T0.AddHours(2)).PercentComplete);
    }

    [Fact]
    public void The_timeout_shows_only_when_it_comes_first()
    {
        var v = EpochWaitProgress.At(Eta(10, 20, TimeSpan.FromHours(10)), T0, T0, T0.AddHours(2));
        Assert.Equal("10 epochs left, about 10 h 0 min; timeout 2 h 0 min", v.Status);
    }

    [Fact]
    public void An_unknown_epoch_length_says_so_and_shows_the_timeout()
    {
        var unknown = new EpochEta { CurrentEpoch = 5, TargetEpoch = 7, AsOf = T0, Length = EpochLengthEstimate.Unknown("no transition seen yet") };
        var v = EpochWaitProgress.At(unknown, T0, T0, T0.AddMinutes(10));
        Assert.Equal("2 epochs left, time unknown; timeout 10 min 0 s", v.Status);
        Assert.Equal(-1, v.SecondsRemaining);
        Assert.Equal(-1, v.PercentComplete);
    }

    [Fact]
    public void The_status_fits_an_80_column_bar_beside_its_activity()
    {
        var v = EpochWaitProgress.At(Eta(100_000, 100_014, TimeSpan.FromHours(14)), T0, T0, T0.AddHours(1));
        Assert.True(("Waiting for epoch 100014 [" + v.Status + "]").Length <= 80, v.Status);
    }
}
