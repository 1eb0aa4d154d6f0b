using KmPs.Core.Control;
using KmPs.Core.Timing;
using KmPs.Core.Wire;
using KmPs.Core;

namespace KmPs.Core.Tests.Control;

/// <summary>The Beacon/Consensus timing calls' wire: exact request bytes and real-shaped answers decoded (the calls themselves: KmPs.Simulator.Tests).</summary>
public class ChainTimeWireTests
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
}
