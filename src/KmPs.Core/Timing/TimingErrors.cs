namespace KmPs.Core.Timing;

/// <summary>The stable ErrorIds of epoch timing (scripts match on these).</summary>
public static class TimingErrorIds
{
    public const string EpochRequired = nameof(EpochRequired);
    public const string WaitTimeout = nameof(WaitTimeout);
    /// <summary>The node does not serve oasis-core.Beacon / oasis-core.Consensus on this socket.</summary>
    public const string ChainTimeNotServed = nameof(ChainTimeNotServed);
    /// <summary>The node cannot say where an epoch began (before the base epoch, or pruned).</summary>
    public const string EpochBlockUnavailable = nameof(EpochBlockUnavailable);
    /// <summary>A beacon or block answer does not have the oasis-core shape.</summary>
    public const string ChainTimeShapeUnknown = nameof(ChainTimeShapeUnknown);
    /// <summary>Samples or arguments given to the estimator make no sense (epochs going back, times reversed...).</summary>
    public const string EpochTimingInvalidInput = nameof(EpochTimingInvalidInput);
}

/// <summary>Builds the timing errors, so each message is written once.</summary>
internal static class TimingErrors
{
    public static KmException NotServed(string socket, string method, Exception inner) =>
        new(TimingErrorIds.ChainTimeNotServed, KmErrorCategory.ResourceUnavailable,
            $"{socket} does not serve {method}, so epoch times cannot be read from the chain.", socket, inner)
        { RecommendedAction = "Epoch estimates fall back to observed epoch transitions; nothing to do." };

    public static KmException EpochBlockUnavailable(string socket, ulong epoch, string detail, Exception inner) =>
        new(TimingErrorIds.EpochBlockUnavailable, KmErrorCategory.ObjectNotFound,
            $"{socket} cannot say at which height epoch {epoch} began: {detail}", socket, inner)
        { RecommendedAction = "Use a more recent epoch: the node keeps only the history it has not pruned, and none before its base epoch." };

    public static KmException ShapeUnknown(string socket, string method, Exception inner) =>
        new(TimingErrorIds.ChainTimeShapeUnknown, KmErrorCategory.InvalidData,
            $"The {method} answer from {socket} does not have the oasis-core shape: {inner.Message}", socket, inner);

    public static KmException InvalidInput(string what) =>
        new(TimingErrorIds.EpochTimingInvalidInput, KmErrorCategory.InvalidArgument, what);
}
