namespace KmPs.Core.Timing;

/// <summary>
/// Pure arithmetic from epoch samples to an epoch length and an ETA; no I/O, no clock reads.
/// Chain estimates count in blocks (heights are exact) and convert with the average block time
/// over the longest span available (chain times are whole seconds, so a long span is what makes
/// them precise). Observed estimates time the transitions a poller saw.
/// </summary>
public static class EpochEstimator
{
    /// <summary>The epoch length from the chain's record; Unknown when there is not enough history.</summary>
    public static EpochLengthEstimate FromChain(ChainTiming chain)
    {
        Validate(chain);
        var oldest = chain.Starts[0];
        var current = chain.Starts[^1];
        double? blocksPerEpoch = current.Epoch > oldest.Epoch
            ? (double)(current.Height - oldest.Height) / (current.Epoch - oldest.Epoch)
            : chain.IntervalBlocks;
        if (blocksPerEpoch is not > 0)
            return EpochLengthEstimate.Unknown($"only epoch {current.Epoch} on the chain so far and no beacon interval");
        var spanBlocks = chain.LatestHeight - oldest.Height;
        var span = chain.LatestTime - oldest.Time;
        if (spanBlocks <= 0 || span <= TimeSpan.Zero)
            return EpochLengthEstimate.Unknown($"chain history too short to time a block ({spanBlocks} blocks, {span.TotalSeconds:0} s)");
        var block = span / spanBlocks;
        var from = current.Epoch > oldest.Epoch ? $"start heights of epochs {oldest.Epoch}..{current.Epoch}" : $"beacon interval {chain.IntervalBlocks} blocks";
        return new EpochLengthEstimate
        {
            Source = EpochTimingSource.Chain,
            EpochDuration = block * blocksPerEpoch.Value,
            BlockDuration = block,
            BlocksPerEpoch = blocksPerEpoch,
            EpochsSpanned = spanBlocks / blocksPerEpoch.Value,
            // Both ends of the span are truncated to whole seconds: the span is off by less than one.
            RelativeError = chain.TimeResolution / span,
            Basis = $"{blocksPerEpoch:0.#} blocks per epoch ({from}), {block.TotalMilliseconds:0} ms per block over {spanBlocks} blocks",
        };
    }

    /// <summary>When <paramref name="target"/> begins, from the chain's record as of <see cref="ChainTiming.ReadAt"/>.</summary>
    public static EpochEta EtaFromChain(ChainTiming chain, ulong target)
    {
        var length = FromChain(chain);
        var eta = new EpochEta { CurrentEpoch = chain.CurrentEpoch, TargetEpoch = target, AsOf = chain.ReadAt, Length = length };
        if (eta.EpochsLeft == 0) return eta with { Arrival = chain.ReadAt };
        if (!length.IsKnown) return eta;
        var current = chain.Starts[^1];
        var perEpoch = length.BlocksPerEpoch!.Value;
        var block = length.BlockDuration!.Value;
        // GetFutureEpoch gives the exact height of the next transition when the beacon has scheduled it.
        var nextStart = chain.NextEpochHeight is { } n && n > current.Height ? n : current.Height + perEpoch;
        var targetStart = nextStart + (target - chain.CurrentEpoch - 1) * perEpoch;
        var blocksLeft = Math.Max(0, targetStart - chain.LatestHeight);
        // How far past the latest block we are: measurable only when blocks are longer than the time
        // resolution; otherwise half a block is the unbiased guess.
        var sinceLatest = block <= chain.TimeResolution
            ? block / 2
            : Clamp(chain.ReadAt - chain.LatestTime, TimeSpan.Zero, block);
        var remaining = block * blocksLeft - sinceLatest;
        return eta with { Arrival = chain.ReadAt + (remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero) };
    }

    /// <summary>The epoch length from observed transitions (at least two); Unknown otherwise.</summary>
    public static EpochLengthEstimate FromTransitions(IReadOnlyList<EpochTransition> transitions)
    {
        Validate(transitions);
        if (transitions.Count < 2)
            return EpochLengthEstimate.Unknown(transitions.Count == 0 ? "no epoch transition seen yet" : "one epoch transition seen; two are needed");
        var first = transitions[0];
        var last = transitions[^1];
        var epochs = last.Epoch - first.Epoch;
        var span = last.Midpoint - first.Midpoint;
        if (span <= TimeSpan.Zero)
            return EpochLengthEstimate.Unknown("observed transitions have no time between them");
        return new EpochLengthEstimate
        {
            Source = EpochTimingSource.Observed,
            EpochDuration = span / epochs,
            EpochsSpanned = epochs,
            // Each midpoint is off by at most half its window.
            RelativeError = (first.Window + last.Window) / 2 / span,
            Basis = $"{transitions.Count} transitions seen over epochs {first.Epoch}..{last.Epoch} ({span.TotalSeconds:0.#} s)",
        };
    }

    /// <summary>When <paramref name="target"/> begins, from observed transitions, as of <paramref name="now"/>.</summary>
    public static EpochEta EtaFromTransitions(IReadOnlyList<EpochTransition> transitions, ulong currentEpoch, ulong target, DateTimeOffset now)
    {
        var length = FromTransitions(transitions);
        var eta = new EpochEta { CurrentEpoch = currentEpoch, TargetEpoch = target, AsOf = now, Length = length };
        if (eta.EpochsLeft == 0) return eta with { Arrival = now };
        if (!length.IsKnown) return eta;
        var last = transitions[^1];
        if (currentEpoch < last.Epoch)
            throw TimingErrors.InvalidInput($"The current epoch {currentEpoch} is before the last observed transition (to epoch {last.Epoch}).");
        var d = length.EpochDuration!.Value;
        // Transitions missed since the last one seen are extrapolated at the average length.
        var currentStart = last.Midpoint + d * (currentEpoch - last.Epoch);
        return eta with { Arrival = currentStart + d * (target - currentEpoch) };
    }

    /// <summary>The known estimate with the smallest error bound (chain first on a tie); else the first.</summary>
    public static EpochEta Best(params EpochEta[] etas)
    {
        if (etas.Length == 0) throw TimingErrors.InvalidInput("Best needs at least one estimate.");
        return etas.Where(e => e.Length.IsKnown)
            .OrderBy(e => e.Length.RelativeError ?? double.MaxValue)
            .ThenBy(e => e.Source == EpochTimingSource.Chain ? 0 : 1)
            .FirstOrDefault() ?? etas[0];
    }

    private static TimeSpan Clamp(TimeSpan t, TimeSpan lo, TimeSpan hi) => t < lo ? lo : t > hi ? hi : t;

    private static void Validate(ChainTiming chain)
    {
        if (chain.Starts.Count == 0) throw TimingErrors.InvalidInput("Chain timing needs at least the current epoch's start.");
        for (var i = 1; i < chain.Starts.Count; i++)
        {
            var (a, b) = (chain.Starts[i - 1], chain.Starts[i]);
            if (b.Epoch <= a.Epoch || b.Height <= a.Height || b.Time < a.Time)
                throw TimingErrors.InvalidInput(
                    $"Epoch starts must go forward in epoch, height and time: epoch {a.Epoch} at {a.Height} ({a.Time:O}) is followed by epoch {b.Epoch} at {b.Height} ({b.Time:O}).");
        }
        var current = chain.Starts[^1];
        if (current.Epoch != chain.CurrentEpoch)
            throw TimingErrors.InvalidInput($"The last epoch start is epoch {current.Epoch}, not the current epoch {chain.CurrentEpoch}.");
        if (chain.LatestHeight < current.Height)
            throw TimingErrors.InvalidInput($"The latest height {chain.LatestHeight} is before the current epoch's start {current.Height}.");
        if (chain.TimeResolution <= TimeSpan.Zero) throw TimingErrors.InvalidInput("The time resolution must be positive.");
    }

    private static void Validate(IReadOnlyList<EpochTransition> transitions)
    {
        for (var i = 0; i < transitions.Count; i++)
        {
            var t = transitions[i];
            if (t.LastSeenBefore is { } b && b > t.SeenAt)
                throw TimingErrors.InvalidInput($"Epoch {t.Epoch} was seen at {t.SeenAt:O}, before the earlier epoch's last sighting {b:O}.");
            if (i > 0 && (t.Epoch <= transitions[i - 1].Epoch || t.SeenAt < transitions[i - 1].SeenAt))
                throw TimingErrors.InvalidInput($"Transitions must go forward in epoch and time: epoch {transitions[i - 1].Epoch} then {t.Epoch}.");
        }
    }
}
