namespace KmPs.Core.Policy;

/// <summary>The stable ErrorIds of reading the key manager policy (scripts match on these).</summary>
public static class PolicyErrorIds
{
    /// <summary>The node serves neither oasis-core.KeyManager.Secrets/GetStatus nor oasis-core.KeyManager/GetStatus.</summary>
    public const string KeyManagerStatusNotServed = nameof(KeyManagerStatusNotServed);
    /// <summary>The node answered the status query with an error (no such key manager, not synced, ...).</summary>
    public const string KeyManagerStatusUnavailable = nameof(KeyManagerStatusUnavailable);
    /// <summary>The answer does not have the key manager status shape.</summary>
    public const string KeyManagerStatusShapeUnknown = nameof(KeyManagerStatusShapeUnknown);
}

/// <summary>Builds the policy errors, so each message is written once.</summary>
internal static class PolicyErrors
{
    public static KmException NotServed(string socket, Exception inner) =>
        new(PolicyErrorIds.KeyManagerStatusNotServed, KmErrorCategory.ResourceUnavailable,
            $"{socket} serves neither oasis-core.KeyManager.Secrets/GetStatus nor oasis-core.KeyManager/GetStatus, so the key manager policy cannot be read there.",
            socket, inner)
        { RecommendedAction = "Read the policy through a node of oasis-core 22.2 or later (every such node serves the key manager status on its internal socket)." };

    public static KmException Unavailable(string socket, string runtimeId, string detail, Exception? inner = null) =>
        new(PolicyErrorIds.KeyManagerStatusUnavailable, KmErrorCategory.ObjectNotFound,
            $"{socket} has no key manager status for {runtimeId}: {detail}", socket, inner)
        { RecommendedAction = "Check the key manager runtime id (-RuntimeId), and that the node's consensus is synced." };

    public static KmException ShapeUnknown(string socket, Exception inner) =>
        new(PolicyErrorIds.KeyManagerStatusShapeUnknown, KmErrorCategory.InvalidData,
            $"The key manager status from {socket} does not have the oasis-core shape: {inner.Message}", socket, inner);
}
