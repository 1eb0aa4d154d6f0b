namespace KmPs.Core.Timing;

/// <summary>What a wait for an epoch shows on its progress bar at one moment.</summary>
public sealed record EpochWaitView(string Status, int SecondsRemaining, int PercentComplete);

/// <summary>
/// The progress of a wait for an epoch, from the network's epoch length (issue 13): the epochs left
/// and the estimated wall time; SecondsRemaining is that estimate (-1: unknown); PercentComplete runs
/// from 0 when the wait began (time waited over time waited plus time left); the timeout shows only
/// when it comes before the estimate. Short enough for an 80-column bar.
/// </summary>
public static class EpochWaitProgress
{
    public static EpochWaitView At(EpochEta eta, DateTimeOffset started, DateTimeOffset now, DateTimeOffset deadline)
    {
        var left = eta.RemainingAt(now);
        var untilTimeout = deadline > now ? deadline - now : TimeSpan.Zero;
        // The target is in the bar's activity ("Waiting for epoch 1023"): the status says how far.
        var text = eta.EpochsLeft == 1 ? "1 epoch left" : $"{eta.EpochsLeft} epochs left";
        text += left is { } l ? $", about {EpochEta.FormatDuration(l)}" : ", time unknown";
        if (left is null || untilTimeout < left) text += $"; timeout {EpochEta.FormatDuration(untilTimeout)}";
        var waited = now > started ? now - started : TimeSpan.Zero;
        var percent = left is { } r && waited + r > TimeSpan.Zero
            ? (int)Math.Clamp(100 * waited.TotalMilliseconds / (waited + r).TotalMilliseconds, 0, 99)
            : -1;
        return new EpochWaitView(text, left is { } s ? (int)Math.Ceiling(s.TotalSeconds) : -1, percent);
    }
}
