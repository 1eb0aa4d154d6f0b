using KmPs.Core.Wire;

namespace KmPs.Core.Control;

/// <summary>
/// consensus.Block (go/consensus/api/api.go, every tag v22.2.13..v26.1): height int64, hash bstr(32),
/// time as unix seconds (go/common/cbor TimeUnix, so whole seconds only), state_root, size (24.0+,
/// omitempty), meta (backend-specific CBOR, ignored here).
/// </summary>
public sealed record ConsensusBlock(long Height, byte[]? Hash, DateTimeOffset? Time, ulong Size)
{
    public static ConsensusBlock FromCbor(CborNode node)
    {
        var m = node.RequireMap("block");
        return new ConsensusBlock(
            m["height"].Int("block.height"),
            m["hash"].FixedBytes("block.hash", 32),
            m["time"].Time("block.time"),
            m["size"].UInt("block.size"));
    }
}

/// <summary>beacon.EpochTimeState {epoch uint64, height int64}: a scheduled epoch transition.</summary>
public sealed record ScheduledEpoch(ulong Epoch, long Height)
{
    public static ScheduledEpoch? FromCbor(CborNode node)
    {
        if (node.IsNull) return null; // nil *EpochTimeState: nothing scheduled
        var m = node.RequireMap("future_epoch");
        return new ScheduledEpoch(m["epoch"].UInt("future_epoch.epoch"), m["height"].Int("future_epoch.height"));
    }
}

/// <summary>
/// beacon.ConsensusParameters: backend "vrf" or "insecure", each with its own parameters map whose
/// <c>interval</c> (int64, omitempty) is the epoch length in blocks (ConsensusParameters.Interval()).
/// </summary>
public sealed record BeaconParameters(string Backend, long? IntervalBlocks, bool DebugMockBackend)
{
    public const string BackendVrf = "vrf", BackendInsecure = "insecure";

    public static BeaconParameters FromCbor(CborNode node)
    {
        var m = node.RequireMap("beacon parameters");
        var backend = m["backend"].Text("params.backend") ?? "";
        var sub = backend switch
        {
            BackendVrf => m["vrf_parameters"].Map("params.vrf_parameters"),
            BackendInsecure => m["insecure_parameters"].Map("params.insecure_parameters"),
            _ => null,
        };
        long? interval = sub is null ? null : sub["interval"].Int("params.interval");
        return new BeaconParameters(backend, interval is > 0 ? interval : null, m["debug_mock_backend"].Bool("params.debug_mock_backend"));
    }
}
