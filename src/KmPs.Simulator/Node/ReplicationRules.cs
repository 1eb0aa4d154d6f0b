using KmPs.Simulator.Shapes;

namespace KmPs.Simulator.Node;

/// <summary>
/// The key manager policy's replication rules as the simulated enclaves apply them
/// (keymanager/src/policy/cached.rs; spec/oasis-control-api.md §8), pure functions of a policy and
/// enclave identities (MRENCLAVE‖MRSIGNER hex). The tool's own reading of the same rule, for its
/// pre-flight, is KmPs.Core.Policy.ReplicationPolicy; the simulator keeps its own on purpose, so that
/// a mistake in the tool's is not mirrored by the nodes it is tested against.
/// </summary>
public static class ReplicationRules
{
    /// <summary>KeyManagerError::NotAuthorized (keymanager/src/api/errors.rs): a source enclave refusing a requester.</summary>
    public const string NotAuthorized = "client is not authorized";

    /// <summary>
    /// What a requester's RPC session says when the peer's attested identity is not one its policy lets
    /// it replicate from (runtime/src/enclave_rpc/session.rs SessionError::MismatchedEnclaveIdentity).
    /// </summary>
    public const string MismatchedEnclaveIdentity = "mismatched enclave identity";

    /// <summary>
    /// The enclaves a requester may replicate from (cached.rs may_replicate_from): itself, and when the
    /// policy has an entry for it (CachedPolicy::parse fills the sets only from the entry of the
    /// enclave's own identity), every enclave whose entry lists it in may_replicate.
    /// </summary>
    public static HashSet<string> MayReplicateFrom(SimPolicy policy, string self)
    {
        var from = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { self };
        if (policy.EntryFor(self) is null) return from;
        foreach (var e in policy.Enclaves)
            if (e.MayReplicate.Any(x => string.Equals(x, self, StringComparison.OrdinalIgnoreCase))) from.Add(e.Enclave);
        return from;
    }

    /// <summary>
    /// Whether a source enclave serves a requester (cached.rs may_replicate_secret): always itself
    /// (another instance of the same enclave), else only enclaves its own entry lists in may_replicate.
    /// </summary>
    public static bool MayReplicateSecret(SimPolicy policy, string self, string requester) =>
        string.Equals(requester, self, StringComparison.OrdinalIgnoreCase) ||
        (policy.EntryFor(self)?.MayReplicate.Any(x => string.Equals(x, requester, StringComparison.OrdinalIgnoreCase)) ?? false);
}
