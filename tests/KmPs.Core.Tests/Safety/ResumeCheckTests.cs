using KmPs.Core.Inventory;
using KmPs.Core.Orchestration;
using KmPs.Core.Status;
using KmPs.Tests.Support;

namespace KmPs.Core.Tests.Safety;

/// <summary>Issue 9 #5: a resumed run re-derives each touched node's state instead of trusting the journal.</summary>
public class ResumeCheckTests
{
    // 4 nodes: first half km3, km4; second half km1, km2.
    private static readonly UpgradePlan Plan = UpgradePlanner.Plan(
        Enumerable.Range(1, 4).Select(i => new KmNode { Name = $"km{i}", DataDir = $"/srv/km{i}/data" }).ToList(),
        new HashSet<string>(), new OasisVersion(0, 6, 0), "/b/km-0.6.0.orc", TestOrcs.TestnetKm, 20);

    private static HashSet<string> Done(params string[] keys) => keys.ToHashSet();
    private static NodeObservation Seen(string n, bool running, bool state, bool newBundle, bool? backup = null) =>
        new(n, running, state, backup, newBundle);

    [Fact]
    public void A_node_restarted_by_hand_after_its_stop_is_stopped_again()
    {
        var d = ResumeCheck.Decide(Plan, Done("km4:Stop"), [Seen("km4", running: true, state: true, newBundle: false)]);
        Assert.Null(d.Refusal);
        Assert.Equal(["km4:Stop"], d.Redo);
    }

    [Fact]
    public void A_node_restarted_by_hand_on_the_old_bundle_after_its_wipe_is_stopped_and_wiped_again()
    {
        var d = ResumeCheck.Decide(Plan, Done("km4:Stop", "km4:Wipe"), [Seen("km4", running: true, state: true, newBundle: false, backup: true)]);
        Assert.Equal(["km4:Stop", "km4:Wipe"], d.Redo);
        // Started and stopped again: the state folder it made on the old bundle is wiped again too.
        d = ResumeCheck.Decide(Plan, Done("km4:Stop", "km4:Wipe"), [Seen("km4", running: false, state: true, newBundle: false, backup: true)]);
        Assert.Equal(["km4:Stop", "km4:Wipe"], d.Redo);
    }

    [Fact]
    public void A_rollback_with_restore_redoes_every_step_of_the_node_and_of_its_half()
    {
        var done = Done("km3:Stop", "km3:Wipe", "km3:SetBundle", "km3:Start", "km4:Stop", "km4:Wipe", "km4:SetBundle", "km4:Start", "first:WaitEpoch");
        var d = ResumeCheck.Decide(Plan, done,
        [
            Seen("km3", running: true, state: true, newBundle: true, backup: true),
            Seen("km4", running: true, state: true, newBundle: false, backup: false), // Restore, old ORC, Start
        ]);
        Assert.Null(d.Refusal);
        Assert.Equal(["km4:Stop", "km4:Wipe", "km4:SetBundle", "km4:Start", "first:WaitEpoch"], d.Redo);
    }

    [Fact]
    public void A_node_started_by_hand_on_the_new_bundle_counts_as_started()
    {
        var d = ResumeCheck.Decide(Plan, Done("km4:Stop", "km4:Wipe", "km4:SetBundle"), [Seen("km4", running: true, state: true, newBundle: true, backup: true)]);
        Assert.Empty(d.Redo);
        Assert.Equal(["km4:Start"], d.FoundDone);
    }

    // Found by the schedule explorer (n2/g24/fault:RestartedByHand@3:km2): started by hand between its wipe and its
    // config change, a node rebuilds its state with the old enclave; a config changed afterwards does not make it upgraded.
    [Fact]
    public void A_node_that_says_it_runs_another_version_is_upgraded_again_whatever_its_config_names()
    {
        var seen = new NodeObservation("km4", true, true, true, true, RunsNewVersion: false);
        var d = ResumeCheck.Decide(Plan, Done("km4:Stop", "km4:Wipe", "km4:SetBundle"), [seen]);
        Assert.Equal(["km4:Stop", "km4:Wipe", "km4:SetBundle"], d.Redo);
        Assert.Empty(d.FoundDone);
        Assert.Contains("another version than the new one", d.Notes.Single());
        // Started by the run on the new bundle, then restarted outside it on another config.
        d = ResumeCheck.Decide(Plan, Done("km4:Stop", "km4:Wipe", "km4:SetBundle", "km4:Start"), [seen]);
        Assert.Equal(["km4:Stop", "km4:Wipe", "km4:SetBundle", "km4:Start"], d.Redo);
    }

    [Fact]
    public void A_node_started_after_its_config_change_whose_version_is_not_told_counts_as_started()
    {
        // The SetBundle step changes only a silent node's config, so a later start is on the new bundle (22.2 tells no active version).
        var d = ResumeCheck.Decide(Plan, Done("km4:Stop", "km4:Wipe", "km4:SetBundle"), [new NodeObservation("km4", true, true, true, true, RunsNewVersion: null)]);
        Assert.Empty(d.Redo);
        Assert.Equal(["km4:Start"], d.FoundDone);
    }

    [Theory]
    [InlineData(SchemaGeneration.V24, "0.6.0", "0.5.0", true, true)]    // the worker's active_version says so
    [InlineData(SchemaGeneration.V24, "0.5.0", "0.6.0", true, false)]   // another version, whatever it registered
    [InlineData(SchemaGeneration.V22_2, "0.6.0", "0.6.0", false, true)] // 22.2: registered with the new version
    [InlineData(SchemaGeneration.V22_2, "0.5.0", "0.5.0", false, null)] // 22.2: maybe the descriptor from before its wipe
    public void Whether_a_node_runs_the_new_version_is_told_by_its_worker_or_else_only_by_a_new_registration(
        SchemaGeneration gen, string active, string registered, bool reported, bool? expected)
    {
        var status = new KmStatus
        {
            SchemaGeneration = gen, ActiveVersion = OasisVersion.Parse(active), ActiveVersionReported = reported, RegisteredVersion = OasisVersion.Parse(registered),
        };
        Assert.Equal(expected, ResumeCheck.RunsVersion(status, "0.6.0"));
        Assert.Null(ResumeCheck.RunsVersion(null, "0.6.0"));
    }

    [Fact]
    public void Nodes_as_the_run_left_them_change_nothing()
    {
        var d = ResumeCheck.Decide(Plan, Done("km4:Stop", "km4:Wipe"), [Seen("km4", running: false, state: false, newBundle: false, backup: true)]);
        Assert.False(d.Changes);
        Assert.Null(d.Refusal);
    }

    [Fact]
    public void A_first_half_node_undone_after_the_second_half_began_is_refused()
    {
        var done = Done("km3:Stop", "km3:Wipe", "km3:SetBundle", "km3:Start", "km4:Stop", "km4:Wipe", "km4:SetBundle", "km4:Start",
            "first:WaitEpoch", "first:WaitReplicated", "first:Verify", "first:VerifyAgain", "km2:Stop");
        var d = ResumeCheck.Decide(Plan, done, [Seen("km4", running: true, state: true, newBundle: false, backup: false)]);
        Assert.NotNull(d.Refusal);
        Assert.Contains("second half", d.Refusal);
    }

    [Fact]
    public void A_touched_node_that_cannot_be_seen_is_refused()
    {
        var d = ResumeCheck.Decide(Plan, Done("km4:Stop"), [new NodeObservation("km4", null, false, null, false)]);
        Assert.Contains("cannot be seen", d.Refusal);
    }
}
