using KmPs.Core.Sgx;

namespace KmPs.Core.Policy;

/// <summary>Why a policy lets one enclave replicate from another, or not.</summary>
public enum ReplicationDecision
{
    /// <summary>The same enclave: instances of one enclave always replicate from each other.</summary>
    SameEnclave,
    /// <summary>Both have an entry and the source's <c>may_replicate</c> lists the requester.</summary>
    Allowed,
    /// <summary>No policy at all (a secure enclave refuses to initialise without one: PolicyRequired).</summary>
    NoPolicy,
    /// <summary>The requester (the new enclave) has no entry of its own in the policy.</summary>
    NoEntryForNew,
    /// <summary>The source (the old enclave) has no entry, so it lists nobody in <c>may_replicate</c>.</summary>
    NoEntryForOld,
    /// <summary>Both have entries, but the source's <c>may_replicate</c> does not list the requester.</summary>
    NotListed,
}

/// <summary>Whether a policy lets <see cref="To"/> replicate the secrets of <see cref="From"/>.</summary>
public sealed record ReplicationVerdict(ReplicationDecision Decision, EnclaveIdentity From, EnclaveIdentity To, uint? Serial)
{
    public bool Allowed => Decision is ReplicationDecision.SameEnclave or ReplicationDecision.Allowed;

    /// <summary>One sentence naming both enclaves and the policy serial.</summary>
    /// <param name="full">The whole MRENCLAVE of each (messages); false: the short MRENCLAVE/MRSIGNER form (a plan line).</param>
    public string Describe(bool full = true)
    {
        var policy = Serial is { } s ? $"the key manager policy (serial {s})" : "the key manager";
        string N(EnclaveIdentity id) => full ? ReplicationPolicy.Name(id) : id.Short;
        return Decision switch
        {
            ReplicationDecision.SameEnclave => $"the new enclave {N(To)} replicates from nodes already running it: always allowed",
            ReplicationDecision.Allowed => $"{policy} lets the new enclave {N(To)} replicate from {N(From)}",
            ReplicationDecision.NoPolicy => $"{policy} has no policy, and a secure enclave does not start without one (so {N(To)} cannot replicate from {N(From)})",
            ReplicationDecision.NoEntryForNew => $"{policy} has no entry for the new enclave {N(To)}, so it may replicate from no other enclave (here {N(From)})",
            ReplicationDecision.NoEntryForOld => $"{policy} has no entry for the current enclave {N(From)}, so it lets no other enclave replicate from it (here the new {N(To)})",
            _ => $"{policy} does not list the new enclave {N(To)} in the may_replicate of the current enclave {N(From)}",
        };
    }
}

/// <summary>What the policy means for an upgrade from the current enclave(s) to a new one.</summary>
public enum UpgradePolicyOutcome
{
    /// <summary>The policy in effect lets the new enclave replicate, and no scheduled policy changes that.</summary>
    Allowed,
    /// <summary>Not now, but the scheduled next policy does, from <see cref="UpgradePolicyCheck.NextEpoch"/>.</summary>
    AllowedFromNextEpoch,
    /// <summary>Neither the policy in effect nor a scheduled one lets it.</summary>
    Forbidden,
    /// <summary>The policy in effect does, but the scheduled next policy, from <see cref="UpgradePolicyCheck.NextEpoch"/>, no longer does.</summary>
    RevokedFromNextEpoch,
    /// <summary>Nothing to check: an insecure key manager without a policy, or no current enclave known.</summary>
    NotChecked,
}

/// <summary>The upgrade's verdict: now, and under the scheduled next policy (25.6+).</summary>
public sealed record UpgradePolicyCheck(
    UpgradePolicyOutcome Outcome, EnclaveIdentity NewEnclave, IReadOnlyList<EnclaveIdentity> OldEnclaves,
    ReplicationVerdict? Now, ReplicationVerdict? Next, ulong? NextEpoch, string Message)
{
    public uint? Serial => Now?.Serial;
    public uint? NextSerial => Next?.Serial;

    /// <summary>The verdict in one short line (enclaves in their short form), for the printed plan.</summary>
    public string Summary => Outcome != UpgradePolicyOutcome.Allowed || Now is null ? Message
        : Now.Decision == ReplicationDecision.Allowed ? $"serial {Now.Serial} lets the new enclave {Now.To.Short} replicate from {Now.From.Short}"
        : Now.Describe(full: false);

    public override string ToString() => Summary;
}

/// <summary>
/// The key manager's replication rule, as the enclaves apply it (keymanager/src/policy/cached.rs,
/// the same in v22.2.13 and v26.1):
/// <list type="bullet">
/// <item>the source A serves requester B (<c>may_replicate_secret</c>) only if B is A itself or B is in
/// A's own entry's <c>may_replicate</c> (CachedPolicy::parse fills <c>may_replicate</c> only from the
/// entry of the enclave's own identity);</item>
/// <item>the requester B asks only enclaves in its <c>may_replicate_from</c>: every E whose entry's
/// <c>may_replicate</c> lists B, computed only when B has an entry of its own, plus B itself
/// (RemoteClient::new_runtime_with_enclaves_and_policy in runtime/secrets.rs; kdf.rs in 22.2).</item>
/// </list>
/// So a new enclave replicates from the old only if the policy has an entry for the new identity AND
/// the old identity's <c>may_replicate</c> lists it. The policy an enclave uses is the consensus
/// status's <c>policy</c>; from 25.6 an update first appears as <c>next_policy</c> and becomes the
/// policy at the next epoch transition (apps/keymanager/secrets/txs.go updatePolicy,
/// status.go generateStatus).
/// </summary>
public static class ReplicationPolicy
{
    public static ReplicationVerdict MayReplicate(KmPolicy? policy, EnclaveIdentity from, EnclaveIdentity to)
    {
        ArgumentNullException.ThrowIfNull(from);
        ArgumentNullException.ThrowIfNull(to);
        var serial = policy?.Serial;
        if (from == to) return new(ReplicationDecision.SameEnclave, from, to, serial);
        if (policy is null) return new(ReplicationDecision.NoPolicy, from, to, serial);
        if (policy.EntryFor(to) is null) return new(ReplicationDecision.NoEntryForNew, from, to, serial);
        var source = policy.EntryFor(from);
        if (source is null) return new(ReplicationDecision.NoEntryForOld, from, to, serial);
        return new(source.MayReplicate.Contains(to) ? ReplicationDecision.Allowed : ReplicationDecision.NotListed, from, to, serial);
    }

    /// <summary>The enclaves a requester may replicate from under a policy (its <c>may_replicate_from</c>, itself included).</summary>
    public static IReadOnlyList<EnclaveIdentity> SourcesFor(KmPolicy? policy, EnclaveIdentity requester)
    {
        var sources = new List<EnclaveIdentity> { requester };
        if (policy?.EntryFor(requester) is not null)
            sources.AddRange(policy.Enclaves.Where(e => e.Enclave != requester && e.MayReplicate.Contains(requester)).Select(e => e.Enclave));
        return sources;
    }

    /// <summary>
    /// Whether the new enclave can replicate from (one of) the current enclaves: under the policy in
    /// effect, and under the scheduled next policy, which takes effect at the next epoch transition.
    /// </summary>
    public static UpgradePolicyCheck ForUpgrade(KmPolicyStatus status, IReadOnlyList<EnclaveIdentity> oldEnclaves, EnclaveIdentity newEnclave)
    {
        ArgumentNullException.ThrowIfNull(status);
        ArgumentNullException.ThrowIfNull(newEnclave);
        var olds = oldEnclaves.Distinct().ToList();
        if (olds.Count == 0)
            return new(UpgradePolicyOutcome.NotChecked, newEnclave, olds, null, null, status.NextPolicyEpoch,
                "the current nodes' enclave identity is not known, so the policy cannot be checked");
        if (status.Policy is null && status.NextPolicy is null && !status.IsSecure)
            return new(UpgradePolicyOutcome.NotChecked, newEnclave, olds, null, null, null,
                "the key manager is not secure and has no policy: its (debug) enclaves skip the policy");

        var now = Best(status.Policy, olds, newEnclave);
        var next = status.NextPolicy is null ? null : Best(status.NextPolicy, olds, newEnclave);
        var at = status.NextPolicyEpoch;
        if (now.Allowed && (next is null || next.Allowed))
            return new(UpgradePolicyOutcome.Allowed, newEnclave, olds, now, next, at, now.Describe());
        if (now.Allowed)
            return new(UpgradePolicyOutcome.RevokedFromNextEpoch, newEnclave, olds, now, next, at,
                $"{now.Describe()}, but the next policy (serial {next!.Serial}), in effect from epoch {at}, no longer does: {next.Describe()}");
        if (next is { Allowed: true })
            return new(UpgradePolicyOutcome.AllowedFromNextEpoch, newEnclave, olds, now, next, at,
                $"{now.Describe()}; the next policy (serial {next.Serial}) does, from epoch {at} (the next epoch transition)");
        var message = now.Describe() + (next is null ? "" : $"; nor does the next policy (serial {next.Serial}), in effect from epoch {at}: {next.Describe()}");
        return new(UpgradePolicyOutcome.Forbidden, newEnclave, olds, now, next, at, message);
    }

    /// <summary>An allowing verdict from any current enclave, else the refusal of the first.</summary>
    private static ReplicationVerdict Best(KmPolicy? policy, IReadOnlyList<EnclaveIdentity> olds, EnclaveIdentity newEnclave)
    {
        var verdicts = olds.Select(o => MayReplicate(policy, o, newEnclave)).ToList();
        return verdicts.FirstOrDefault(v => v.Allowed) ?? verdicts[0];
    }

    /// <summary>An enclave as messages name it: the whole MRENCLAVE and the start of MRSIGNER.</summary>
    public static string Name(EnclaveIdentity id) => $"{id.MrEnclave} (MRSIGNER {id.MrSigner[..16]}…)";
}
