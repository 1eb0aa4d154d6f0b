using KmPs.Core.Policy;
using KmPs.Core.Sgx;

namespace KmPs.Core.Tests.Policy;

/// <summary>The enclaves' replication rule (keymanager/src/policy/cached.rs) and what it means for an upgrade.</summary>
public class ReplicationPolicyTests
{
    private static readonly EnclaveIdentity Old = KmPolicyWireTests.Old;
    private static readonly EnclaveIdentity New = KmPolicyWireTests.New;
    private static readonly EnclaveIdentity Other = new(new string('4', 64), new string('a', 64));

    private static KmPolicy Policy(uint serial, params (EnclaveIdentity Enclave, EnclaveIdentity[] To)[] entries) => new()
    {
        Serial = serial,
        RuntimeId = KmPolicyWireTests.Km,
        Enclaves = entries.Select(e => new KmEnclavePolicy { Enclave = e.Enclave, MayReplicate = e.To }).ToArray(),
    };

    private static KmPolicyStatus Status(KmPolicy? now, KmPolicy? next = null, ulong epoch = 40, bool secure = true) =>
        new() { RuntimeId = KmPolicyWireTests.Km, IsSecure = secure, Policy = now, NextPolicy = next, Epoch = epoch };

    [Fact]
    public void An_enclave_always_replicates_from_itself()
    {
        Assert.Equal(ReplicationDecision.SameEnclave, ReplicationPolicy.MayReplicate(null, New, New).Decision);
        Assert.True(ReplicationPolicy.MayReplicate(Policy(1), New, New).Allowed);
    }

    [Fact]
    public void The_new_enclave_needs_its_own_entry_and_the_old_entry_must_list_it()
    {
        Assert.Equal(ReplicationDecision.Allowed, ReplicationPolicy.MayReplicate(Policy(3, (Old, new[] { New }), (New, Array.Empty<EnclaveIdentity>())), Old, New).Decision);
        // Listed by the old entry, but no entry of its own: the requester's may_replicate_from stays {itself}.
        Assert.Equal(ReplicationDecision.NoEntryForNew, ReplicationPolicy.MayReplicate(Policy(3, (Old, new[] { New })), Old, New).Decision);
        Assert.Equal(ReplicationDecision.NotListed, ReplicationPolicy.MayReplicate(Policy(3, (Old, new[] { Other }), (New, Array.Empty<EnclaveIdentity>())), Old, New).Decision);
        Assert.Equal(ReplicationDecision.NoEntryForOld, ReplicationPolicy.MayReplicate(Policy(3, (New, new[] { Old })), Old, New).Decision);
        Assert.Equal(ReplicationDecision.NoPolicy, ReplicationPolicy.MayReplicate(null, Old, New).Decision);
        // The direction matters: old may give to new; new may not give to old.
        Assert.False(ReplicationPolicy.MayReplicate(Policy(3, (Old, new[] { New }), (New, Array.Empty<EnclaveIdentity>())), New, Old).Allowed);
    }

    [Fact]
    public void Refusals_name_both_enclaves_and_the_serial()
    {
        var text = ReplicationPolicy.MayReplicate(Policy(7, (Old, Array.Empty<EnclaveIdentity>()), (New, Array.Empty<EnclaveIdentity>())), Old, New).Describe();
        Assert.Contains("serial 7", text);
        Assert.Contains(Old.MrEnclave, text);
        Assert.Contains(New.MrEnclave, text);
        Assert.Contains("may_replicate", text);
        Assert.Contains("no entry for the new enclave " + New.MrEnclave, ReplicationPolicy.MayReplicate(Policy(7, (Old, new[] { New })), Old, New).Describe());
    }

    [Fact]
    public void Sources_are_the_entries_listing_the_requester_when_it_has_an_entry()
    {
        var p = Policy(2, (Old, new[] { New }), (Other, new[] { New }), (New, Array.Empty<EnclaveIdentity>()));
        Assert.Equal(new[] { New, Old, Other }, ReplicationPolicy.SourcesFor(p, New));
        Assert.Equal(new[] { New }, ReplicationPolicy.SourcesFor(Policy(2, (Old, new[] { New })), New));
    }

    [Fact]
    public void Upgrade_allowed_now()
    {
        var c = ReplicationPolicy.ForUpgrade(Status(Policy(3, (Old, new[] { New }), (New, Array.Empty<EnclaveIdentity>()))), new[] { Old }, New);
        Assert.Equal(UpgradePolicyOutcome.Allowed, c.Outcome);
        Assert.Equal(3u, c.Serial);
    }

    [Fact]
    public void Upgrade_allowed_by_the_next_policy_from_the_next_epoch()
    {
        var c = ReplicationPolicy.ForUpgrade(Status(Policy(3, (Old, Array.Empty<EnclaveIdentity>())),
            Policy(4, (Old, new[] { New }), (New, Array.Empty<EnclaveIdentity>())), epoch: 40), new[] { Old }, New);
        Assert.Equal(UpgradePolicyOutcome.AllowedFromNextEpoch, c.Outcome);
        Assert.Equal(41ul, c.NextEpoch);
        Assert.Equal(4u, c.NextSerial);
        Assert.Contains("from epoch 41", c.Message);
        Assert.Contains("serial 3", c.Message);
    }

    [Fact]
    public void Upgrade_forbidden_now_and_next()
    {
        var c = ReplicationPolicy.ForUpgrade(Status(Policy(3, (Old, Array.Empty<EnclaveIdentity>())), Policy(4, (Old, new[] { New }))), new[] { Old }, New);
        Assert.Equal(UpgradePolicyOutcome.Forbidden, c.Outcome);
        Assert.Contains("nor does the next policy (serial 4)", c.Message);
        Assert.Equal(UpgradePolicyOutcome.Forbidden, ReplicationPolicy.ForUpgrade(Status(Policy(3)), new[] { Old }, New).Outcome);
    }

    [Fact]
    public void Upgrade_revoked_by_the_next_policy()
    {
        var c = ReplicationPolicy.ForUpgrade(Status(Policy(3, (Old, new[] { New }), (New, Array.Empty<EnclaveIdentity>())), Policy(4, (Old, Array.Empty<EnclaveIdentity>()))),
            new[] { Old }, New);
        Assert.Equal(UpgradePolicyOutcome.RevokedFromNextEpoch, c.Outcome);
        Assert.Contains("no longer", c.Message);
    }

    [Fact]
    public void Any_current_enclave_that_may_serve_the_new_one_is_enough()
    {
        var c = ReplicationPolicy.ForUpgrade(Status(Policy(3, (Other, Array.Empty<EnclaveIdentity>()), (Old, new[] { New }), (New, Array.Empty<EnclaveIdentity>()))),
            new[] { Other, Old }, New);
        Assert.Equal(UpgradePolicyOutcome.Allowed, c.Outcome);
        Assert.Equal(Old, c.Now!.From);
    }

    [Fact]
    public void Nothing_to_check_without_a_current_enclave_or_for_an_insecure_key_manager()
    {
        Assert.Equal(UpgradePolicyOutcome.NotChecked, ReplicationPolicy.ForUpgrade(Status(Policy(3)), Array.Empty<EnclaveIdentity>(), New).Outcome);
        Assert.Equal(UpgradePolicyOutcome.NotChecked, ReplicationPolicy.ForUpgrade(Status(null, secure: false), new[] { Old }, New).Outcome);
        // A secure key manager without a policy is a refusal (the enclave requires one).
        Assert.Equal(UpgradePolicyOutcome.Forbidden, ReplicationPolicy.ForUpgrade(Status(null), new[] { Old }, New).Outcome);
    }

    /// <summary>Every decision of <see cref="ReplicationPolicy.MayReplicate"/>: which policy gives it, whether it allows, and the serial it names.</summary>
    public static TheoryData<string, ReplicationDecision, bool, uint?> Decisions => new()
    {
        { "both entries, the old lists the new", ReplicationDecision.Allowed, true, 5u },
        { "no policy, the same enclave", ReplicationDecision.SameEnclave, true, null },
        { "a policy, the same enclave", ReplicationDecision.SameEnclave, true, 5u },
        { "no policy", ReplicationDecision.NoPolicy, false, null },
        { "no entry for the new", ReplicationDecision.NoEntryForNew, false, 5u },
        { "no entry for the old", ReplicationDecision.NoEntryForOld, false, 5u },
        { "the old lists another", ReplicationDecision.NotListed, false, 5u },
        { "only a third enclave lists the new", ReplicationDecision.NotListed, false, 5u },
    };

    private static (KmPolicy? Policy, EnclaveIdentity From, EnclaveIdentity To) Case(string name) => name switch
    {
        "both entries, the old lists the new" => (Policy(5, (Old, [New]), (New, [])), Old, New),
        "no policy, the same enclave" => (null, New, New),
        "a policy, the same enclave" => (Policy(5, (Old, [])), New, New),
        "no policy" => (null, Old, New),
        "no entry for the new" => (Policy(5, (Old, [New])), Old, New),
        "no entry for the old" => (Policy(5, (New, [Old])), Old, New),
        "the old lists another" => (Policy(5, (Old, [Other]), (New, [])), Old, New),
        // Not transitive: Other may give to New, and Old to Other, but Old's own entry does not list New.
        "only a third enclave lists the new" => (Policy(5, (Old, [Other]), (Other, [New]), (New, [])), Old, New),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    [Theory]
    [MemberData(nameof(Decisions))]
    public void Each_decision_says_whether_it_allows_and_names_the_serial(string name, ReplicationDecision decision, bool allowed, uint? serial)
    {
        var (policy, from, to) = Case(name);
        var v = ReplicationPolicy.MayReplicate(policy, from, to);
        Assert.Equal(decision, v.Decision);
        Assert.Equal(allowed, v.Allowed);
        Assert.Equal(serial, v.Serial);
        Assert.Equal(from, v.From);
        Assert.Equal(to, v.To);
        // Both forms of the sentence name both enclaves (the short one in the plan line, the whole MRENCLAVE in messages).
        Assert.Contains(to.Short, v.Describe(full: false));
        Assert.Contains(to.MrEnclave, v.Describe());
        if (from != to)
        {
            Assert.Contains(from.Short, v.Describe(full: false));
            Assert.Contains(from.MrEnclave, v.Describe());
        }
        if (serial is { } s && decision != ReplicationDecision.SameEnclave) Assert.Contains($"serial {s}", v.Describe());
    }

    [Fact]
    public void Every_decision_has_its_own_sentence()
    {
        var sentences = Decisions.Select(d => (string)d[0]).Select(Case).Select(c => ReplicationPolicy.MayReplicate(c.Policy, c.From, c.To))
            .GroupBy(v => v.Decision).Select(g => g.First().Describe()).ToList();
        Assert.Equal(Enum.GetValues<ReplicationDecision>().Length, sentences.Count);
        Assert.Equal(sentences.Count, sentences.Distinct().Count());
    }

    [Fact]
    public void Enclaves_are_required()
    {
        Assert.Throws<ArgumentNullException>(() => ReplicationPolicy.MayReplicate(Policy(1), null!, New));
        Assert.Throws<ArgumentNullException>(() => ReplicationPolicy.MayReplicate(Policy(1), Old, null!));
    }

    [Fact]
    public void Another_signer_is_another_enclave()
    {
        // Same MRENCLAVE, another MRSIGNER: not the same enclave, so it needs the policy like any other.
        var resigned = new EnclaveIdentity(New.MrEnclave, new string('f', 64));
        Assert.Equal(ReplicationDecision.NoEntryForNew, ReplicationPolicy.MayReplicate(Policy(5, (Old, [New]), (New, [])), Old, resigned).Decision);
        Assert.Equal(ReplicationDecision.NoPolicy, ReplicationPolicy.MayReplicate(null, New, resigned).Decision);
    }
}
