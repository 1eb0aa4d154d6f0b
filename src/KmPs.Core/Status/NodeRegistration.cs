namespace KmPs.Core.Status;

/// <summary>When the network counts a node's registration as lapsed.</summary>
public static class NodeRegistration
{
    /// <summary>
    /// A registration expires only once the epoch is past its expiration: at the expiration epoch
    /// itself the node still counts (oasis-core go/common/node/node.go, Node.IsExpired:
    /// "expiration epoch is strictly smaller than the passed (current) epoch"). No expiration known
    /// counts as expired.
    /// </summary>
    public static bool IsExpired(ulong? expiration, ulong epoch) => expiration is not { } e || e < epoch;
}
