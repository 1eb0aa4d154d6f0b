using System.Diagnostics;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using KmPs.Core.Control;
using KmPs.Remoting;
using KmPs.Core.Replication;
using KmPs.Core.Status;
using KmPs.Core.Timing;
using KmPs.Cmdlets;
using KmPs.Core;

namespace KmPs.Support;

/// <summary>
/// The progress of one epoch wait (Wait-KmNode -Until Epoch, Test-KmReplication -Repeat): the ETA
/// from the chain through the first local node's socket (EpochEtaClock), else from the epoch
/// transitions the wait itself sees (a remote node is read through its session), shown as
/// <see cref="EpochWaitProgress"/>. Estimated again at each new epoch and every half minute, not at every poll.
/// </summary>
internal sealed class EpochWaitEta
{
    private readonly EpochEtaClock? _clock;
    /// <summary>The epochs this wait saw: the clock's own log when there is a clock, so each reading is kept once.</summary>
    private readonly EpochTransitionLog _seen;
    private readonly ulong _target;
    private readonly DateTimeOffset _started = DateTimeOffset.UtcNow;
    private readonly DateTimeOffset _deadline;
    private EpochEta? _last;
    private ulong _lastEpoch;
    private DateTimeOffset _lastAt;

    public EpochWaitEta(IReadOnlyList<CollectedNode> nodes, ulong target, TimeSpan timeout)
    {
        _clock = nodes.FirstOrDefault(n => n.IsLocal)?.Address is { } a ? new EpochEtaClock(a) : null;
        _seen = _clock?.Transitions ?? new EpochTransitionLog();
        _target = target;
        _deadline = _started + timeout;
    }

    /// <summary>The bar at the epoch just read, and the estimate when it was just made (new epoch or due), else null.</summary>
    public async Task<(EpochWaitView View, EpochEta? Fresh)> ProgressAsync(ulong epoch, CancellationToken ct)
    {
        var now = DateTimeOffset.UtcNow;
        _seen.Observe(epoch, now);
        EpochEta? fresh = null;
        if (_last is not null && epoch == _lastEpoch && now - _lastAt < WaitKmNodeCommand.ReEstimateInterval)
            _last = _last with { CurrentEpoch = epoch };
        else
        {
            _last = fresh = _clock is null
                ? EpochEstimator.EtaFromTransitions(_seen.Transitions, epoch, _target, now)
                : await FromClockAsync(_clock, epoch, now, ct).ConfigureAwait(false);
            (_lastEpoch, _lastAt) = (epoch, now);
        }
        return (EpochWaitProgress.At(_last, _started, DateTimeOffset.UtcNow, _deadline), fresh);
    }

    /// <summary>
    /// The chain's estimate through the local node's socket; when that node does not answer (stopped,
    /// killed: the wait goes on through the others), the epochs this wait saw instead. The ETA is a
    /// view of the wait, never a reason for it to fail.
    /// </summary>
    private async Task<EpochEta> FromClockAsync(EpochEtaClock clock, ulong epoch, DateTimeOffset now, CancellationToken ct)
    {
        try { return await clock.EstimateAsync(_target, ct).ConfigureAwait(false); }
        catch (KmException e)
        {
            var eta = EpochEstimator.EtaFromTransitions(_seen.Transitions, epoch, _target, now);
            return eta.Length.IsKnown ? eta : eta with { Length = EpochLengthEstimate.Unknown($"{eta.Length.Basis}; chain: {e.Message}") };
        }
    }
}
