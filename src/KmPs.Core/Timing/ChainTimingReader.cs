using KmPs.Core.Control;

namespace KmPs.Core.Timing;

/// <summary>
/// Reads a <see cref="ChainTiming"/> from a node: the latest block (Consensus/GetBlock 0), the epoch
/// at that height (Beacon/GetEpoch, so both describe the same block), the current epoch's start,
/// the starts of epochs 1, 2, 4 ... <see cref="MaxLookback"/> back (a long span in few calls), the
/// scheduled next transition and the beacon interval. Past starts never change, so they are cached.
/// </summary>
public sealed class ChainTimingReader(ChainTimeClient client, int maxLookback = 32)
{
    private readonly Dictionary<ulong, EpochStart> _starts = new();
    private readonly HashSet<ulong> _unavailable = new();
    private long? _interval;
    private bool _intervalRead;

    public ChainTimeClient Client { get; } = client;
    public int MaxLookback { get; } = maxLookback > 0 ? maxLookback : throw TimingErrors.InvalidInput($"The lookback must be at least 1 epoch, not {maxLookback}.");

    /// <summary>One reading; throws ChainTimeNotServed when the node has no beacon/consensus service.</summary>
    public async Task<ChainTiming> ReadAsync(TimeSpan? timeout = null, CancellationToken ct = default)
    {
        var latest = await Client.GetBlockAsync(0, timeout, ct).ConfigureAwait(false);
        var readAt = DateTimeOffset.UtcNow;
        if (latest.Time is not { } latestTime)
            throw TimingErrors.ShapeUnknown(Client.Control.Address.Path, ControlMethods.GetBlock, new Wire.CborDecodeException("block.time: the latest block has no time"));
        var epoch = await Client.GetEpochAsync(latest.Height, timeout, ct).ConfigureAwait(false);
        var current = await StartAsync(epoch, timeout, ct, cache: false).ConfigureAwait(false)
            ?? throw TimingErrors.EpochBlockUnavailable(Client.Control.Address.Path, epoch, "no start for the current epoch", new InvalidOperationException());
        var starts = new List<EpochStart> { current };
        for (ulong back = 1; back <= (ulong)MaxLookback && back <= epoch; back *= 2)
        {
            var s = await StartAsync(epoch - back, timeout, ct, cache: true).ConfigureAwait(false);
            if (s is null) break; // before the base epoch or pruned: older ones are not there either
            starts.Insert(0, s);
        }
        ScheduledEpoch? next = null;
        try { next = await Client.GetFutureEpochAsync(latest.Height, timeout, ct).ConfigureAwait(false); }
        catch (KmException e) when (e.ErrorId is not TimingErrorIds.ChainTimeNotServed) { /* optional refinement */ }
        return new ChainTiming
        {
            CurrentEpoch = epoch,
            LatestHeight = latest.Height,
            LatestTime = latestTime,
            Starts = starts,
            IntervalBlocks = await IntervalAsync(timeout, ct).ConfigureAwait(false),
            NextEpochHeight = next is { } n && n.Epoch == epoch + 1 ? n.Height : null,
            ReadAt = readAt,
        };
    }

    private async Task<EpochStart?> StartAsync(ulong epoch, TimeSpan? timeout, CancellationToken ct, bool cache)
    {
        if (_starts.TryGetValue(epoch, out var known)) return known;
        if (_unavailable.Contains(epoch)) return null;
        try
        {
            var height = await Client.GetEpochBlockAsync(epoch, timeout, ct).ConfigureAwait(false);
            var block = await Client.GetBlockAsync(height, timeout, ct).ConfigureAwait(false);
            if (block.Time is not { } time) return null;
            var s = new EpochStart(epoch, height, time);
            if (cache) _starts[epoch] = s;
            return s;
        }
        catch (KmException e) when (cache && e.ErrorId is TimingErrorIds.EpochBlockUnavailable or "GrpcError")
        {
            // History before the base epoch never appears; pruned history never comes back.
            _unavailable.Add(epoch);
            return null;
        }
    }

    private async Task<long?> IntervalAsync(TimeSpan? timeout, CancellationToken ct)
    {
        if (_intervalRead) return _interval;
        try { _interval = (await Client.GetBeaconParametersAsync(0, timeout, ct).ConfigureAwait(false)).IntervalBlocks; }
        catch (KmException e) when (e.ErrorId is not TimingErrorIds.ChainTimeNotServed) { _interval = null; }
        _intervalRead = true;
        return _interval;
    }
}
