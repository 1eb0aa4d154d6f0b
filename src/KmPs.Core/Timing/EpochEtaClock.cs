using KmPs.Core.Control;

namespace KmPs.Core.Timing;

/// <summary>
/// The one object a wait needs: "how long until epoch N" for one node. Reads the chain's record
/// through the node's socket when it serves the beacon and consensus services, keeps the epoch
/// transitions it sees (and those the caller reports with <see cref="Observe"/>), and answers with
/// the better-founded of the two estimates. Not for concurrent EstimateAsync calls.
/// </summary>
/// <example>
/// var clock = new EpochEtaClock(SocketAddress.Parse(node.Socket));
/// while (...) {
///     var eta = await clock.EstimateAsync(upgradeEpoch, ct);
///     progress.StatusDescription = eta.Describe(DateTimeOffset.UtcNow);
///     progress.SecondsRemaining = (int)(eta.RemainingAt(DateTimeOffset.UtcNow)?.TotalSeconds ?? -1);
/// }
/// </example>
public sealed class EpochEtaClock
{
    private readonly ChainTimingReader _reader;
    private KmException? _chainNotServed;

    public EpochEtaClock(SocketAddress address, int maxLookbackEpochs = 32)
        : this(new ChainTimingReader(ChainTimeClient.For(address), maxLookbackEpochs)) { }

    public EpochEtaClock(ChainTimingReader reader) => _reader = reader;

    public EpochTransitionLog Transitions { get; } = new();

    /// <summary>The last chain reading, or null when none succeeded.</summary>
    public ChainTiming? LastChain { get; private set; }

    /// <summary>Why the last chain reading failed (null when it worked).</summary>
    public KmException? ChainProblem { get; private set; }

    /// <summary>Reports an epoch the caller saw (e.g. from GetStatus) at a local time (default now).</summary>
    public void Observe(ulong epoch, DateTimeOffset? at = null) => Transitions.Observe(epoch, at ?? DateTimeOffset.UtcNow);

    /// <summary>
    /// The ETA of <paramref name="targetEpoch"/>. Reads the chain (a few ms on a local socket) unless
    /// the node said it does not serve it; without the chain, the current epoch comes from GetStatus.
    /// Never throws for timing reasons: an unknown length is an ETA whose <see cref="EpochEta.Arrival"/> is null.
    /// </summary>
    public async Task<EpochEta> EstimateAsync(ulong targetEpoch, CancellationToken ct = default, TimeSpan? timeout = null)
    {
        EpochEta? fromChain = null;
        ulong current;
        if (_chainNotServed is null)
        {
            try
            {
                var chain = await _reader.ReadAsync(timeout, ct).ConfigureAwait(false);
                LastChain = chain;
                ChainProblem = null;
                Transitions.Observe(chain.CurrentEpoch, chain.ReadAt);
                fromChain = EpochEstimator.EtaFromChain(chain, targetEpoch);
            }
            catch (KmException e) when (e.ErrorId is TimingErrorIds.ChainTimeNotServed or TimingErrorIds.ChainTimeShapeUnknown
                                            or TimingErrorIds.EpochBlockUnavailable or TimingErrorIds.EpochTimingInvalidInput)
            {
                ChainProblem = e;
                if (e.ErrorId == TimingErrorIds.ChainTimeNotServed) _chainNotServed = e; // an old or odd node: do not ask again
            }
        }
        if (fromChain is not null) current = fromChain.CurrentEpoch;
        else
        {
            var status = await _reader.Client.Control.GetStatusAsync(timeout, ct).ConfigureAwait(false);
            current = status.Epoch;
            Transitions.Observe(current, DateTimeOffset.UtcNow);
        }
        // A chain reading takes several calls; another poller may have seen a later epoch meanwhile.
        if (Transitions.LastEpoch is { } seen && seen > current) current = seen;
        var observed = EpochEstimator.EtaFromTransitions(Transitions.Transitions, current, targetEpoch, DateTimeOffset.UtcNow);
        if (fromChain is null && ChainProblem is not null && !observed.Length.IsKnown)
            observed = observed with { Length = EpochLengthEstimate.Unknown($"{observed.Length.Basis}; chain: {ChainProblem.Message}") };
        return fromChain is null ? observed : EpochEstimator.Best(fromChain, observed);
    }
}
