using KmPs.Core.Control;
using KmPs.Simulator.Cluster;
using KmPs.Simulator.Control;
using KmPs.Core.Status;
using KmPs.Core.Timing;
using KmPs.Core.Wire;
using KmPs.Core;
using KmPs.Tests.Harness;

namespace KmPs.Simulator.Tests.Control;

/// <summary>Beacon/Consensus timing calls: exact request bytes, real-shaped answers, and the in-process server.</summary>
public class ChainTimeClientTests
{
    [Theory]
    [InlineData(0L, "00")]            // consensus.HeightLatest
    [InlineData(23L, "17")]
    [InlineData(600L, "190258")]
    [InlineData(16_000_000L, "1a00f42400")]
    public void Height_requests_are_a_bare_cbor_int64(long height, string hex) =>
        Assert.Equal(hex, Convert.ToHexString(ChainTimeClient.HeightRequest(height)).ToLowerInvariant());

    [Theory]
    [InlineData(12_345ul, "193039")]
    [InlineData(ulong.MaxValue, "1bffffffffffffffff")] // beacon.EpochInvalid
    public void Epoch_requests_are_a_bare_cbor_uint64(ulong epoch, string hex) =>
        Assert.Equal(hex, Convert.ToHexString(ChainTimeClient.EpochRequest(epoch)).ToLowerInvariant());

    [Fact]
    public void Negative_height_is_refused_before_sending() =>
        Assert.Equal(TimingErrorIds.EpochTimingInvalidInput, Assert.Throws<KmException>(() => ChainTimeClient.HeightRequest(-1)).ErrorId);

    /// <summary>A v24.2+ consensus.Block as fxamacker encodes it: canonical key order, time as unix seconds.</summary>
    [Fact]
    public void Block_decodes_height_time_and_size_and_ignores_meta()
    {
        var bytes = CborCodec.Encode(new CborMapBuilder()
            .Add("hash", CborNode.Bytes(new byte[32]))
            .Add("meta", new CborMapBuilder().Add("header", CborNode.Bytes(new byte[] { 1 })).Add("last_commit", CborNode.Bytes(new byte[] { 2 })).Build())
            .Add("size", CborNode.UInt(4321))
            .Add("time", CborNode.Int(1_750_000_123))
            .Add("height", CborNode.Int(25_000_000))
            .Add("state_root", new CborMapBuilder().Add("ns", CborNode.Bytes(new byte[32])).Add("version", CborNode.UInt(24_999_999))
                .Add("root_type", CborNode.UInt(1)).Add("hash", CborNode.Bytes(new byte[32])).Build())
            .Build());
        Assert.Equal("a6", Convert.ToHexString(bytes[..1]).ToLowerInvariant());
        var b = ConsensusBlock.FromCbor(CborCodec.Decode(bytes));
        Assert.Equal(25_000_000, b.Height);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1_750_000_123), b.Time);
        Assert.Equal(4321ul, b.Size);

        var pre242 = CborCodec.Decode(CborCodec.Encode(new CborMapBuilder().Add("height", CborNode.Int(7)).Add("time", CborNode.Int(1)).Add("meta", CborNode.Null).Build()));
        Assert.Equal(0ul, ConsensusBlock.FromCbor(pre242).Size);
    }

    [Fact]
    public void Beacon_parameters_take_the_interval_of_their_backend()
    {
        static BeaconParameters Parse(CborMap m) => BeaconParameters.FromCbor(CborCodec.Decode(CborCodec.Encode(m)));
        var vrf = Parse(new CborMapBuilder().Add("backend", CborNode.Text("vrf"))
            .Add("vrf_parameters", new CborMapBuilder().Add("alpha_hq_threshold", CborNode.UInt(20)).Add("interval", CborNode.Int(600)).Add("proof_delay", CborNode.Int(400)).Build()).Build());
        Assert.Equal(new BeaconParameters("vrf", 600, false), vrf);
        var insecure = Parse(new CborMapBuilder().Add("backend", CborNode.Text("insecure")).Add("debug_mock_backend", CborNode.True)
            .Add("insecure_parameters", new CborMapBuilder().Add("interval", CborNode.Int(30)).Build()).Build());
        Assert.Equal(new BeaconParameters("insecure", 30, true), insecure);
        Assert.Null(Parse(new CborMapBuilder().Add("backend", CborNode.Text("vrf")).Build()).IntervalBlocks);
    }

    [Fact]
    public void Future_epoch_is_null_when_nothing_is_scheduled()
    {
        Assert.Null(ScheduledEpoch.FromCbor(CborNode.Null));
        Assert.Equal(new ScheduledEpoch(8, 71), ScheduledEpoch.FromCbor(CborCodec.Decode(Convert.FromHexString("a26565706f636808666865696768741847"))));
    }

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
