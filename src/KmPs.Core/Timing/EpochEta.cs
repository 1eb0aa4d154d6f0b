using System.Globalization;

namespace KmPs.Core.Timing;

/// <summary>How long an epoch lasts, and how sure we are.</summary>
public sealed record EpochLengthEstimate
{
    public EpochTimingSource Source { get; init; }
    /// <summary>Average epoch length; null when unknown.</summary>
    public TimeSpan? EpochDuration { get; init; }
    /// <summary>Average block interval (chain source only).</summary>
    public TimeSpan? BlockDuration { get; init; }
    /// <summary>Blocks per epoch, measured from start heights or the beacon interval (chain source only).</summary>
    public double? BlocksPerEpoch { get; init; }
    /// <summary>How many epochs the measurement spans.</summary>
    public double EpochsSpanned { get; init; }
    /// <summary>
    /// Bound on the relative error of <see cref="EpochDuration"/> from the time resolution alone
    /// (1 s chain times, or the poll window) divided by the span: 0.05 = ±5 %. Null when unknown.
    /// </summary>
    public double? RelativeError { get; init; }
    /// <summary>One line on what the figure rests on, for -Verbose and reports.</summary>
    public string Basis { get; init; } = "";

    public bool IsKnown => EpochDuration is not null && Source != EpochTimingSource.Unknown;

    public static EpochLengthEstimate Unknown(string why) => new() { Source = EpochTimingSource.Unknown, Basis = why };
}

/// <summary>
/// The answer to "how long until epoch N": the epochs left and, when an epoch length is known, the
/// estimated wall time. <see cref="Arrival"/> is absolute, so a caller that shows the ETA later
/// uses <see cref="RemainingAt"/> rather than re-estimating.
/// </summary>
public sealed record EpochEta
{
    public ulong CurrentEpoch { get; init; }
    public ulong TargetEpoch { get; init; }
    public ulong EpochsLeft => TargetEpoch > CurrentEpoch ? TargetEpoch - CurrentEpoch : 0;
    /// <summary>The moment the estimate was made (local clock).</summary>
    public DateTimeOffset AsOf { get; init; }
    /// <summary>Estimated local time at which <see cref="TargetEpoch"/> begins; null when unknown.</summary>
    public DateTimeOffset? Arrival { get; init; }
    public EpochLengthEstimate Length { get; init; } = EpochLengthEstimate.Unknown("not estimated");
    public EpochTimingSource Source => Length.Source;

    /// <summary>Estimated time left as of <see cref="AsOf"/>.</summary>
    public TimeSpan? Remaining => RemainingAt(AsOf);

    /// <summary>Estimated time left at another moment (never negative: an overdue epoch is "any moment").</summary>
    public TimeSpan? RemainingAt(DateTimeOffset now) =>
        EpochsLeft == 0 ? TimeSpan.Zero : Arrival is { } a ? (a > now ? a - now : TimeSpan.Zero) : null;

    /// <summary>Progress text: "3 epochs left (epoch 12 of 15), about 2 h 57 min; 59 min per epoch, from the chain".</summary>
    public string Describe(DateTimeOffset now)
    {
        if (EpochsLeft == 0) return $"epoch {TargetEpoch} reached";
        var left = EpochsLeft == 1 ? "1 epoch left" : $"{EpochsLeft} epochs left";
        var head = $"{left} (epoch {CurrentEpoch} of {TargetEpoch})";
        if (RemainingAt(now) is not { } r || Length.EpochDuration is not { } d)
            return $"{head}, time unknown ({Length.Basis})";
        var source = Source == EpochTimingSource.Chain ? "from the chain" : "from observed transitions";
        return $"{head}, about {FormatDuration(r)}; {FormatDuration(d)} per epoch, {source}";
    }

    public override string ToString() => Describe(AsOf);

    /// <summary>Short human durations: "850 ms", "12 s", "4 min 10 s", "2 h 57 min".</summary>
    public static string FormatDuration(TimeSpan t)
    {
        if (t < TimeSpan.Zero) t = TimeSpan.Zero;
        if (t < TimeSpan.FromSeconds(1)) return ((int)t.TotalMilliseconds).ToString(CultureInfo.InvariantCulture) + " ms";
        if (t < TimeSpan.FromSeconds(10)) return t.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture) + " s";
        if (t < TimeSpan.FromMinutes(1)) return ((int)Math.Round(t.TotalSeconds)).ToString(CultureInfo.InvariantCulture) + " s";
        if (t < TimeSpan.FromHours(1)) return $"{(int)t.TotalMinutes} min {t.Seconds} s";
        return $"{(int)t.TotalHours} h {t.Minutes} min";
    }
}
