namespace KmPs.Core.Timing;

/// <summary>Where an epoch length came from, best first.</summary>
public enum EpochTimingSource
{
    /// <summary>Nothing to go on yet: no chain history and fewer than two transitions seen.</summary>
    Unknown,
    /// <summary>The node's own record: epoch start heights (Beacon/GetEpochBlock) and block times (Consensus/GetBlock).</summary>
    Chain,
    /// <summary>Epoch changes a poller saw, timed by the local clock.</summary>
    Observed,
}

/// <summary>The first block of an epoch: its height and its consensus time.</summary>
public sealed record EpochStart(ulong Epoch, long Height, DateTimeOffset Time);

/// <summary>
/// What the chain said at one moment: the current epoch, the latest block, and the starts of the
/// current and some earlier epochs (oldest first, the current one last).
/// </summary>
public sealed record ChainTiming
{
    /// <summary>oasis-core encodes time.Time as whole unix seconds (go/common/cbor TimeUnix).</summary>
    public static readonly TimeSpan ChainTimeResolution = TimeSpan.FromSeconds(1);

    public required ulong CurrentEpoch { get; init; }
    public required long LatestHeight { get; init; }
    public required DateTimeOffset LatestTime { get; init; }
    public required IReadOnlyList<EpochStart> Starts { get; init; }
    /// <summary>The beacon's epoch interval in blocks (Beacon/ConsensusParameters), when known.</summary>
    public long? IntervalBlocks { get; init; }
    /// <summary>The height at which <see cref="CurrentEpoch"/>+1 is scheduled (Beacon/GetFutureEpoch), when known.</summary>
    public long? NextEpochHeight { get; init; }
    /// <summary>Local clock when the chain was read: the moment the estimate is "as of".</summary>
    public required DateTimeOffset ReadAt { get; init; }
    public TimeSpan TimeResolution { get; init; } = ChainTimeResolution;
}

/// <summary>
/// An epoch change seen by a poller: <see cref="Epoch"/> was first seen at <see cref="SeenAt"/>, and
/// an earlier epoch was last seen at <see cref="LastSeenBefore"/>, so the epoch began in between.
/// </summary>
public sealed record EpochTransition(ulong Epoch, DateTimeOffset SeenAt, DateTimeOffset? LastSeenBefore)
{
    /// <summary>Best guess of the transition: the middle of the window it happened in.</summary>
    public DateTimeOffset Midpoint => LastSeenBefore is { } b ? b + (SeenAt - b) / 2 : SeenAt;

    /// <summary>How wide that window is (zero when the earlier sighting is unknown).</summary>
    public TimeSpan Window => LastSeenBefore is { } b ? SeenAt - b : TimeSpan.Zero;
}
