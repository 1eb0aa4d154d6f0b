using KmPs.Core.Control;
using KmPs.Simulator.Cluster;
using KmPs.Simulator.Control;
using KmPs.Core.Status;
using KmPs.Core.Timing;
using KmPs.Core.Wire;
using KmPs.Core;
using KmPs.Tests.Harness;

namespace KmPs.Simulator.Tests.Control;

/// <summary>Beacon/Consensus timing calls against the simulator's control server in this process; their request and answer bytes: KmPs.Core.Tests.</summary>
public class ChainTimeClientTests
{

    /// <summary>Genesis at a whole second, 2 s epochs from epoch 1, and the clock frozen 40.3 s later (epoch 21, height 202).</summary>
    private static async Task<SnapshotNode> FrozenChainNodeAsync()
    {
        const long genesis = 1_750_000_000_000;
        var node = await SnapshotNode.StartAsync(Statuses.Ready(SchemaGeneration.V24));
        node.Backend.ChainTime = new ChainTimeBackend(new EpochClock(genesis, 2000, 1), () => SchemaGeneration.V24, () => genesis + 40_300);
        return node;
    }

    [Fact]
    public async Task Simulated_node_answers_every_timing_call_consistently()
    {
        await using var node = await FrozenChainNodeAsync();
        var c = ChainTimeClient.For(SocketAddress.Parse(node.Address));
        var latest = await c.GetBlockAsync();
        Assert.Equal(202, latest.Height);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1_750_000_040), latest.Time); // 40.2 s, whole seconds on the wire
        Assert.Equal(21ul, await c.GetEpochAsync());
        Assert.Equal(21ul, await c.GetEpochAsync(201));
        Assert.Equal(20ul, await c.GetEpochAsync(200));
        Assert.Equal(201, await c.GetEpochBlockAsync(21));
        Assert.Equal(1, await c.GetEpochBlockAsync(1));
        Assert.Equal(new ScheduledEpoch(22, 211), await c.GetFutureEpochAsync());
        Assert.Equal(new BeaconParameters("vrf", 10, false), await c.GetBeaconParametersAsync());

        var early = await Assert.ThrowsAsync<KmException>(() => c.GetEpochBlockAsync(0));
        Assert.Equal(TimingErrorIds.EpochBlockUnavailable, early.ErrorId);
        Assert.Contains("epoch predates base (base: 1 requested: 0)", early.Message);
        Assert.Equal(TimingErrorIds.EpochBlockUnavailable, (await Assert.ThrowsAsync<KmException>(() => c.GetEpochBlockAsync(22))).ErrorId);
    }

    [Fact]
    public async Task Reader_and_estimator_give_the_exact_time_on_a_steady_chain()
    {
        await using var node = await FrozenChainNodeAsync();
        var reader = new ChainTimingReader(ChainTimeClient.For(SocketAddress.Parse(node.Address)));
        var chain = await reader.ReadAsync();
        Assert.Equal(new ulong[] { 5, 13, 17, 19, 20, 21 }, chain.Starts.Select(s => s.Epoch)); // 16, 8, 4, 2, 1 back; 32 back would be before epoch 1
        Assert.Equal(10, chain.IntervalBlocks);
        Assert.Equal(211, chain.NextEpochHeight);
        var length = EpochEstimator.FromChain(chain);
        Assert.Equal(EpochTimingSource.Chain, length.Source);
        Assert.Equal(10, length.BlocksPerEpoch);
        // Epoch 5 began at 8.0 s and block 202 at 40.2 s, read as 8 and 40: 32 s over 161 blocks.
        Assert.InRange(length.EpochDuration!.Value.TotalSeconds, 1.9, 2.1);
        Assert.True(length.RelativeError < 0.04);
    }

    [Fact]
    public async Task A_node_without_the_services_says_not_served_and_the_clock_falls_back_to_observing()
    {
        await using var node = await SnapshotNode.StartAsync(Statuses.Ready(SchemaGeneration.V22_2));
        var address = SocketAddress.Parse(node.Address);
        var e = await Assert.ThrowsAsync<KmException>(() => ChainTimeClient.For(address).GetBlockAsync());
        Assert.Equal(TimingErrorIds.ChainTimeNotServed, e.ErrorId);
        Assert.Contains("/oasis-core.Consensus/GetBlock", e.Message);

        var clock = new EpochEtaClock(address);
        var now = DateTimeOffset.UtcNow;
        clock.Observe(98, now - TimeSpan.FromSeconds(20.1));
        clock.Observe(99, now - TimeSpan.FromSeconds(20));
        clock.Observe(99, now - TimeSpan.FromSeconds(0.1));
        var status = await ControlClient.For(address).GetStatusAsync();
        var eta = await clock.EstimateAsync(status.Epoch + 2);
        Assert.Equal(TimingErrorIds.ChainTimeNotServed, clock.ChainProblem?.ErrorId);
        Assert.Equal(2ul, eta.EpochsLeft);
        // 99 -> 100 (the snapshot's epoch), seen by EstimateAsync itself: two transitions about 20 s apart.
        Assert.Equal(EpochTimingSource.Observed, eta.Source);
        Assert.InRange(eta.Length.EpochDuration!.Value.TotalSeconds, 19, 21);
    }
}
