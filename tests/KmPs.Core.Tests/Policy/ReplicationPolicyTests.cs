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
}
