using KmPs.Core.Timing;
using KmPs.Core;

namespace KmPs.Core.Tests.Timing;

/// <summary>The estimator's arithmetic, without processes or sockets.</summary>
public class EpochEstimatorTests
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.FromUnixTimeSeconds(1_750_000_000);

    /// <summary>A Mainnet-like chain: 600 blocks an epoch, a block every 6 s, epoch 100 began at height 60_001.</summary>
    private static ChainTiming Mainnet(long blocksIntoEpoch, int lookback = 8, long? interval = 600, long? nextHeight = null, double secondsSinceLatest = 3)
    {
        var starts = Enumerable.Range(0, lookback + 1)
            .Select(i => (ulong)(100 - lookback + i))
            .Select(e => new EpochStart(e, 60_001 + ((long)e - 100) * 600, T0 + TimeSpan.FromSeconds(((long)e - 100) * 3600)))
            .ToList();
        var latest = T0 + TimeSpan.FromSeconds(blocksIntoEpoch * 6);
        return new ChainTiming
        {
            CurrentEpoch = 100, LatestHeight = 60_001 + blocksIntoEpoch, LatestTime = latest, Starts = starts,
            IntervalBlocks = interval, NextEpochHeight = nextHeight, ReadAt = latest + TimeSpan.FromSeconds(secondsSinceLatest),
        };
    }

    [Fact]
    public void Mainnet_epoch_is_an_hour_and_the_eta_counts_the_blocks_left()
    {
        var chain = Mainnet(blocksIntoEpoch: 150);
        var length = EpochEstimator.FromChain(chain);
        Assert.Equal(EpochTimingSource.Chain, length.Source);
        Assert.Equal(TimeSpan.FromHours(1), length.EpochDuration);
        Assert.Equal(TimeSpan.FromSeconds(6), length.BlockDuration);
        Assert.Equal(600, length.BlocksPerEpoch);
        Assert.True(length.RelativeError < 0.0001, $"{length.RelativeError}");

        var eta = EpochEstimator.EtaFromChain(chain, 103);
        Assert.Equal(3ul, eta.EpochsLeft);
        // 3 epochs from the start of epoch 100, less 150 blocks and the 3 s since the latest block.
        Assert.Equal(TimeSpan.FromHours(3) - TimeSpan.FromSeconds(150 * 6 + 3), eta.Remaining);
        Assert.Equal("3 epochs left (epoch 100 of 103), about 2 h 44 min; 1 h 0 min per epoch, from the chain", eta.ToString());
    }

    [Fact]
    public void A_scheduled_transition_height_beats_the_average()
    {
        var eta = EpochEstimator.EtaFromChain(Mainnet(blocksIntoEpoch: 0, nextHeight: 60_001 + 610, secondsSinceLatest: 0), 101);
        Assert.Equal(TimeSpan.FromSeconds(610 * 6), eta.Remaining);
    }

    [Fact]
    public void Only_the_current_epoch_uses_the_beacon_interval_and_the_blocks_since_its_start()
    {
        var chain = Mainnet(blocksIntoEpoch: 100, lookback: 0);
        var length = EpochEstimator.FromChain(chain);
        Assert.Equal(TimeSpan.FromHours(1), length.EpochDuration);
        Assert.Equal(0.01 / 6, length.RelativeError!.Value, 6);
        Assert.False(EpochEstimator.FromChain(chain with { IntervalBlocks = null }).IsKnown);
    }

    [Fact]
    public void Fresh_chain_without_history_is_unknown_not_a_guess()
    {
        var chain = Mainnet(blocksIntoEpoch: 0, lookback: 0, secondsSinceLatest: 0);
        var eta = EpochEstimator.EtaFromChain(chain, 101);
        Assert.Equal(EpochTimingSource.Unknown, eta.Source);
        Assert.Null(eta.Remaining);
        Assert.StartsWith("1 epoch left (epoch 100 of 101), time unknown (chain history too short", eta.ToString());
    }

    [Fact]
    public void Sub_second_blocks_assume_half_a_block_since_the_latest()
    {
        // 10 blocks of 50 ms an epoch (the simulator at 500 ms epochs); times in whole seconds.
        var g = T0;
        var starts = Enumerable.Range(0, 33).Select(i => new EpochStart((ulong)(1 + i), 1 + i * 10L, Floor(g + TimeSpan.FromMilliseconds(i * 500)))).ToList();
        var latestHeight = 1 + 32 * 10 + 4L;
        var chain = new ChainTiming
        {
            CurrentEpoch = 33, LatestHeight = latestHeight, LatestTime = Floor(g + TimeSpan.FromMilliseconds((latestHeight - 1) * 50)),
            Starts = starts, IntervalBlocks = 10, ReadAt = g + TimeSpan.FromMilliseconds((latestHeight - 1) * 50 + 25),
        };
        var eta = EpochEstimator.EtaFromChain(chain, 35);
        var actual = g + TimeSpan.FromMilliseconds(34 * 500) - chain.ReadAt;
        var error = Math.Abs((eta.Remaining!.Value - actual).TotalMilliseconds) / actual.TotalMilliseconds;
        Assert.True(error < 0.1, $"estimated {eta.Remaining}, actual {actual}");
        Assert.True(eta.Length.RelativeError < 0.07);
    }

    private static DateTimeOffset Floor(DateTimeOffset t) => DateTimeOffset.FromUnixTimeSeconds(t.ToUnixTimeSeconds());

    [Fact]
    public void Reached_and_overdue_targets_are_zero()
    {
        var chain = Mainnet(blocksIntoEpoch: 599, nextHeight: 60_601, secondsSinceLatest: 30);
        Assert.Equal(TimeSpan.Zero, EpochEstimator.EtaFromChain(chain, 100).Remaining);
        Assert.Equal("epoch 99 reached", EpochEstimator.EtaFromChain(chain, 99).ToString());
        Assert.Equal(TimeSpan.Zero, EpochEstimator.EtaFromChain(chain, 101).Remaining); // overdue: any moment
    }

    [Fact]
    public void Samples_that_go_backwards_are_refused_with_a_stable_id()
    {
        var chain = Mainnet(blocksIntoEpoch: 10);
        var swapped = chain with { Starts = chain.Starts.Reverse().ToList() };
        var e = Assert.Throws<KmException>(() => EpochEstimator.FromChain(swapped));
        Assert.Equal(TimingErrorIds.EpochTimingInvalidInput, e.ErrorId);
        Assert.Equal(KmErrorCategory.InvalidArgument, e.Category);
        Assert.Throws<KmException>(() => EpochEstimator.FromChain(chain with { CurrentEpoch = 101 }));
        Assert.Throws<KmException>(() => EpochEstimator.FromChain(chain with { LatestHeight = 1 }));
        Assert.Throws<KmException>(() => EpochEstimator.FromChain(chain with { Starts = Array.Empty<EpochStart>() }));
    }

    [Fact]
    public void Observed_transitions_time_the_epoch_from_the_midpoints()
    {
        var log = new EpochTransitionLog();
        // Polled every 100 ms, epochs of 2 s starting at T0 + 2 s * k.
        for (var ms = 50; ms <= 6_350; ms += 100) log.Observe(5 + (ulong)(ms / 2000), T0 + TimeSpan.FromMilliseconds(ms));
        var seen = log.Transitions;
        Assert.Equal(new ulong[] { 6, 7, 8 }, seen.Select(t => t.Epoch));
        Assert.Equal(T0 + TimeSpan.FromMilliseconds(2000), seen[0].Midpoint);
        Assert.Equal(TimeSpan.FromMilliseconds(100), seen[0].Window);

        var length = EpochEstimator.FromTransitions(seen);
        Assert.Equal(EpochTimingSource.Observed, length.Source);
        Assert.Equal(TimeSpan.FromSeconds(2), length.EpochDuration);
        Assert.Equal(0.025, length.RelativeError!.Value, 6);

        var now = T0 + TimeSpan.FromMilliseconds(6_400);
        var eta = EpochEstimator.EtaFromTransitions(seen, 8, 11, now);
        Assert.Equal(TimeSpan.FromMilliseconds(12_000 - 6_400), eta.Remaining);
        Assert.Contains("from observed transitions", eta.ToString());
    }

    [Fact]
    public void One_transition_is_not_enough_and_says_so()
    {
        var one = new[] { new EpochTransition(6, T0, T0 - TimeSpan.FromMilliseconds(100)) };
        var eta = EpochEstimator.EtaFromTransitions(one, 6, 8, T0);
        Assert.Equal(EpochTimingSource.Unknown, eta.Source);
        Assert.Contains("one epoch transition seen; two are needed", eta.ToString());
        Assert.Equal(2ul, eta.EpochsLeft);
    }

    [Fact]
    public void Missed_transitions_are_extrapolated()
    {
        var seen = new[] { new EpochTransition(6, T0, T0), new EpochTransition(7, T0 + TimeSpan.FromSeconds(2), T0 + TimeSpan.FromSeconds(2)) };
        var eta = EpochEstimator.EtaFromTransitions(seen, 9, 10, T0 + TimeSpan.FromSeconds(7));
        Assert.Equal(TimeSpan.FromSeconds(1), eta.Remaining);
        Assert.Throws<KmException>(() => EpochEstimator.EtaFromTransitions(seen, 6, 10, T0));
    }

    [Fact]
    public void Log_starts_over_when_the_epoch_goes_back_and_ignores_late_readings()
    {
        var log = new EpochTransitionLog();
        log.Observe(5, T0);
        log.Observe(6, T0 + TimeSpan.FromSeconds(1));
        Assert.Single(log.Transitions);
        log.Observe(4, T0 + TimeSpan.FromSeconds(2));
        Assert.Empty(log.Transitions);
        Assert.Equal(4ul, log.LastEpoch);
        log.Observe(5, T0 + TimeSpan.FromSeconds(3));
        log.Observe(6, T0); // a late reading from another poller
        Assert.Single(log.Transitions);
        Assert.Equal(5ul, log.LastEpoch);
    }

    [Fact]
    public void Best_takes_the_smaller_error_bound_and_prefers_the_chain_on_a_tie()
    {
        var chain = EpochEstimator.EtaFromChain(Mainnet(blocksIntoEpoch: 150), 101);
        var observed = new EpochEta
        {
            CurrentEpoch = 100, TargetEpoch = 101, AsOf = T0, Arrival = T0,
            Length = new EpochLengthEstimate { Source = EpochTimingSource.Observed, EpochDuration = TimeSpan.FromHours(1), RelativeError = 0.5 },
        };
        Assert.Same(chain, EpochEstimator.Best(observed, chain));
        var unknown = new EpochEta { CurrentEpoch = 100, TargetEpoch = 101 };
        Assert.Same(observed, EpochEstimator.Best(unknown, observed));
        Assert.Same(unknown, EpochEstimator.Best(unknown));
        Assert.Equal(TimingErrorIds.EpochTimingInvalidInput, Assert.Throws<KmException>(() => EpochEstimator.Best()).ErrorId);
    }

    [Theory]
    [InlineData(0.4, "400 ms")]
    [InlineData(4.21, "4.2 s")]
    [InlineData(42, "42 s")]
    [InlineData(250, "4 min 10 s")]
    [InlineData(10_620, "2 h 57 min")]
    public void Durations_read_like_a_person_would_say_them(double seconds, string text) =>
        Assert.Equal(text, EpochEta.FormatDuration(TimeSpan.FromSeconds(seconds)));
}
