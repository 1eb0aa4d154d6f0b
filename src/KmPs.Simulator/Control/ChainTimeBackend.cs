using System.Security.Cryptography;
using System.Text;
using Grpc.Core;
using KmPs.Simulator.Cluster;
using KmPs.Core.Status;
using KmPs.Core.Wire;

namespace KmPs.Simulator.Control;

/// <summary>The beacon and consensus calls that time epochs: CBOR request in, CBOR answer out.</summary>
public interface IChainTimeBackend
{
    byte[] GetEpoch(byte[] request);
    byte[] GetEpochBlock(byte[] request);
    byte[] GetFutureEpoch(byte[] request);
    byte[] BeaconParameters(byte[] request);
    byte[] GetBlock(byte[] request);
}

/// <summary>
/// oasis-core.Beacon and oasis-core.Consensus as a simulated node answers them, from the cluster's
/// shared clock: epoch e starts at a known height and time, ten blocks an epoch. Shapes and error
/// texts follow oasis-core v26.1 (docs/spec-epoch-timing.md); the same shapes in v22.2.13..v25.x
/// except Block.size, which exists from v24.2.
/// </summary>
public sealed class ChainTimeBackend(EpochClock clock, Func<SchemaGeneration> generation, Func<long>? now = null) : IChainTimeBackend
{
    private readonly Func<long> _nowMs = now ?? (() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());

    private long Latest => clock.HeightAt(_nowMs());
    private ulong CurrentEpoch => clock.EpochAtHeight(Latest);

    /// <summary>
    /// Like go/beacon/api/grpc.go handlers: dec(&amp;height) into an int64; an empty message is the zero
    /// value (go/common/cbor UnmarshalRPC), i.e. consensus.HeightLatest.
    /// </summary>
    private long Height(byte[] request)
    {
        var node = Decode(request);
        if (node.IsNull) return Latest;
        if (node is not CborInteger i) throw Invalid($"cbor: cannot unmarshal {node.Kind} into Go value of type int64");
        var h = i.ToInt64();
        if (h == 0) return Latest;
        // The querier refuses heights the node does not have yet; the exact text is the simulator's own.
        if (h < 0 || h > Latest) throw Failed($"height {h} must be less than or equal to the current blockchain height {Latest}");
        return h;
    }

    public byte[] GetEpoch(byte[] request) => Encode(CborNode.UInt(clock.EpochAtHeight(Height(request))));

    /// <summary>
    /// go/consensus/cometbft/beacon/beacon.go GetEpochBlock: the current epoch's start height, the
    /// base block for the base epoch, "epoch predates base" before it, a bisection over retained
    /// history otherwise (which cannot find a future epoch: "failed to find historic epoch").
    /// </summary>
    public byte[] GetEpochBlock(byte[] request)
    {
        var node = Decode(request);
        if (!node.IsNull && node is not CborInteger { IsNegative: false })
            throw Invalid($"cbor: cannot unmarshal {node.Kind} into Go value of type api.EpochTime");
        var epoch = node.IsNull ? 0 : ((CborInteger)node).Magnitude;
        if (epoch < clock.FirstEpoch) throw Failed($"epoch predates base (base: {clock.FirstEpoch} requested: {epoch})");
        if (epoch > CurrentEpoch) throw Failed("failed to find historic epoch");
        return Encode(CborNode.Int(clock.StartHeight(epoch)));
    }

    /// <summary>
    /// EpochTimeState {epoch, height} of the scheduled transition: the VRF backend schedules the next
    /// one at each transition (backend_vrf.go scheduleEpochTransitionBlock), so one is always pending.
    /// </summary>
    public byte[] GetFutureEpoch(byte[] request)
    {
        var next = clock.EpochAtHeight(Height(request)) + 1;
        return Encode(new CborMapBuilder().Add("epoch", CborNode.UInt(next)).Add("height", CborNode.Int(clock.StartHeight(next))).Build());
    }

    /// <summary>beacon.ConsensusParameters of a VRF network (go/beacon/api/api.go, vrf.go); omitempty fields left out.</summary>
    public byte[] BeaconParameters(byte[] request)
    {
        Height(request);
        return Encode(new CborMapBuilder()
            .Add("backend", CborNode.Text("vrf"))
            .Add("vrf_parameters", new CborMapBuilder()
                .Add("alpha_hq_threshold", CborNode.UInt(3))
                .Add("interval", CborNode.Int(EpochClock.BlocksPerEpoch))
                .Add("proof_delay", CborNode.Int(EpochClock.BlocksPerEpoch / 2))
                .Build())
            .Build());
    }

    /// <summary>
    /// consensus.Block as go/consensus/cometbft/api/api.go NewBlock builds it: time truncated to the
    /// second (and CBOR TimeUnix carries seconds anyway), state root version height-1 of type state
    /// (1), size from v24.2, meta = CBOR {header, last_commit} of protobuf bytes.
    /// </summary>
    public byte[] GetBlock(byte[] request)
    {
        var h = Height(request);
        var b = new CborMapBuilder()
            .Add("height", CborNode.Int(h))
            .Add("hash", Hash("block", h))
            .Add("time", CborNode.Int(clock.BlockUnixMs(h) / 1000))
            .Add("state_root", new CborMapBuilder()
                .Add("ns", CborNode.Bytes(new byte[32]))
                .Add("version", CborNode.UInt((ulong)(h - 1)))
                .Add("root_type", CborNode.UInt(1))
                .Add("hash", Hash("root", h))
                .Build());
        if (generation() == SchemaGeneration.V24) b.Add("size", CborNode.UInt(1024));
        b.Add("meta", new CborMapBuilder()
            .Add("header", CborNode.Bytes(Encoding.ASCII.GetBytes($"header {h}")))
            .Add("last_commit", CborNode.Bytes(Encoding.ASCII.GetBytes($"commit {h - 1}")))
            .Build());
        return Encode(b.Build());
    }

    private static CborNode Hash(string what, long height) =>
        CborNode.Bytes(SHA256.HashData(Encoding.ASCII.GetBytes($"{what} {height}")));

    private static byte[] Encode(CborNode node) => CborCodec.Encode(node);

    private static CborNode Decode(byte[] request)
    {
        try { return CborCodec.Decode(request); }
        catch (CborDecodeException e) { throw Invalid(e.Message); }
    }

    // grpc-go turns a codec failure into codes.Internal ("grpc: error unmarshalling request").
    private static RpcException Invalid(string detail) =>
        new(new Grpc.Core.Status(StatusCode.Internal, "grpc: error unmarshalling request: " + detail));

    // Backend errors without a registered module come back as codes.Unknown with err.Error().
    private static RpcException Failed(string detail) => new(new Grpc.Core.Status(StatusCode.Unknown, detail));
}
