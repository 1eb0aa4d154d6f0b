using KmPs.Core.Inventory;
using KmPs.Core.Orchestration;
using KmPs.Core.Status;
using KmPs.Core;
using KmPs.Tests.Support;

namespace KmPs.Core.Tests.Orchestration;

public class UpgradePlannerTests
{
    private static List<KmNode> Nodes(int n) => Enumerable.Range(1, n)
        .Select(i => new KmNode { Name = $"km{i}", DataDir = $"/srv/km{i}/data", RuntimeId = TestOrcs.TestnetKm, Lifecycle = LifecycleKind.Systemd, Unit = $"km{i}" })
        .ToList();

    private static UpgradePlan Plan(int n, ISet<string>? upgraded = null, int? first = null) =>
        UpgradePlanner.Plan(Nodes(n), upgraded ?? new HashSet<string>(), new OasisVersion(0, 6, 0), "/b/km-0.6.0.orc", TestOrcs.TestnetKm, 20, first);

    [Theory]
    [InlineData(2, 1)]
    [InlineData(3, 1)]
    [InlineData(4, 2)]
    [InlineData(5, 2)]
    [InlineData(8, 4)]
    public void About_half_goes_first_and_at_least_one_stays(int n, int first)
    {
        var p = Plan(n);
        Assert.Equal(first, p.FirstHalf.Count);
        Assert.Equal(n - first, p.SecondHalf.Count);
        Assert.Empty(p.FirstHalf.Intersect(p.SecondHalf));
    }

    [Fact]
    public void Single_node_is_refused_because_the_keys_would_be_lost()
    {
        var e = Assert.Throws<KmException>(() => Plan(1));
        Assert.Equal("SingleNodeRefused", e.ErrorId);
        Assert.Contains("lost", e.Message);
    }

    [Theory]
    [InlineData(4, 0)]
    [InlineData(4, 4)]
    [InlineData(2, 2)]
    public void First_half_count_never_empties_the_staying_half(int n, int first)
    {
        Assert.Equal("InvalidFirstHalf", Assert.Throws<KmException>(() => Plan(n, first: first)).ErrorId);
    }

    [Fact]
    public void Steps_follow_the_operator_guide_and_the_second_half_comes_after_two_verifications()
    {
        var p = Plan(4);
        var keys = p.Steps.Select(s => s.Key).ToList();
        Assert.Equal(new[]
        {
            "km3:Stop", "km3:Wipe", "km3:SetBundle", "km3:Start", "km4:Stop", "km4:Wipe", "km4:SetBundle", "km4:Start",
            "first:WaitEpoch", "first:WaitReplicated", "first:Verify", "first:VerifyAgain",
            "km1:Stop", "km1:Wipe", "km1:SetBundle", "km1:Start", "km2:Stop", "km2:Wipe", "km2:SetBundle", "km2:Start",
            "second:WaitReplicated", "final:Verify",
        }, keys);
        Assert.Equal(Enumerable.Range(1, keys.Count), p.Steps.Select(s => s.Index));
        Assert.All(p.Steps.Where(s => s.Action == "Wipe" && s.Phase == "first"), s => Assert.Contains("km1, km2", s.Description));
    }

    [Fact]
    public void Nodes_already_on_the_new_version_are_skipped_and_count_as_holders()
    {
        var p = Plan(3, new HashSet<string> { "km1" });
        Assert.Equal(new[] { "km1" }, p.Skipped);
        Assert.Single(p.FirstHalf); // one old-version node still waits for the verifications
        Assert.Single(p.SecondHalf);
        var last = Plan(2, new HashSet<string> { "km1" });
        Assert.Equal(new[] { "km2" }, last.FirstHalf); // the last old node goes, km1 holds the keys
        Assert.Empty(last.SecondHalf);
        Assert.DoesNotContain(p.Steps, s => s.Node == "km1");
    }

    public static IEnumerable<object?[]> SizesAndSkipped() =>
        from n in Enumerable.Range(2, 7)
        from skipped in Enumerable.Range(0, n)
        from first in new int?[] { null }.Concat(Enumerable.Range(1, n).Select(i => (int?)i))
        select new object?[] { n, skipped, first };

    [Theory]
    [MemberData(nameof(SizesAndSkipped))]
    public void While_two_or_more_nodes_are_on_the_old_version_one_of_them_always_waits_for_the_verifications(int n, int skipped, int? first)
    {
        // Issue 9 #3: with nodes already upgraded, -FirstHalfCount could send every old node first,
        // leaving only the already-upgraded ones (themselves not yet verified twice) as holders.
        var upgraded = Enumerable.Range(1, skipped).Select(i => $"km{i}").ToHashSet();
        var old = n - skipped;
        UpgradePlan p;
        try { p = Plan(n, upgraded, first); }
        catch (KmException e)
        {
            Assert.True(e.ErrorId is "InvalidFirstHalf" or "SingleNodeRefused", e.ErrorId);
            Assert.True(first is not null || (old == 1 && skipped == 0), $"the default plan was refused: {e.Message}");
            return;
        }
        Assert.Equal(old, p.FirstHalf.Count + p.SecondHalf.Count);
        Assert.Equal(skipped, p.Skipped.Count);
        if (old >= 2) Assert.NotEmpty(p.SecondHalf);
        else Assert.Single(p.FirstHalf); // the last old node: the nodes already upgraded hold the keys
        // Every wipe of the first half names staying nodes that include an old-version one.
        if (old >= 2)
            Assert.All(p.Steps.Where(s => s.Action == "Wipe" && s.Phase == "first"),
                s => Assert.Contains(p.SecondHalf[0], s.Description));
    }

    [Fact]
    public void Plan_id_changes_when_a_node_moves_to_another_machine()
    {
        // Issue 9 #6: a node whose HostName changed between runs is another node's state.
        var v = new OasisVersion(0, 6, 0);
        var here = Nodes(3);
        var moved = Nodes(3);
        moved[2].HostName = "km3.example.net";
        var renamed = Nodes(3);
        renamed[2].HostName = "KM3.example.net";
        Assert.NotEqual(UpgradePlanner.PlanId(here, "/b/k.orc", v, "aa"), UpgradePlanner.PlanId(moved, "/b/k.orc", v, "aa"));
        Assert.Equal(UpgradePlanner.PlanId(moved, "/b/k.orc", v, "aa"), UpgradePlanner.PlanId(renamed, "/b/k.orc", v, "aa"));
    }

    [Fact]
    public void Plan_id_depends_on_nodes_bundle_and_version_only()
    {
        Assert.Equal(Plan(4).PlanId, Plan(4, first: 1).PlanId);
        Assert.NotEqual(Plan(4).PlanId, Plan(3).PlanId);
        // The bundle's bytes count, not only its path: a rebuilt ORC at the same path is another upgrade.
        var v = new OasisVersion(0, 6, 0);
        var withDigest = UpgradePlanner.Plan(Nodes(4), new HashSet<string>(), v, "/b/km-0.6.0.orc", TestOrcs.TestnetKm, 20, bundleDigest: "aa");
        Assert.Equal(UpgradePlanner.PlanId(Nodes(4), "/b/km-0.6.0.orc", v, "aa"), withDigest.PlanId);
        Assert.NotEqual(UpgradePlanner.PlanId(Nodes(4), "/b/km-0.6.0.orc", v, "bb"), withDigest.PlanId);
        var resumed = UpgradePlanner.Resume(Nodes(4), new JournalHalves { FirstHalf = withDigest.FirstHalf.ToList(), SecondHalf = withDigest.SecondHalf.ToList() },
            v, "/b/km-0.6.0.orc", TestOrcs.TestnetKm, 20, bundleDigest: "aa");
        Assert.Equal(withDigest.PlanId, resumed.PlanId);
    }

    [Fact]
    public void Journal_records_before_the_next_step_and_resumes_the_same_halves()
    {
        using var dir = new TempDir();
        var path = dir.File("j.json");
        var plan = Plan(4, first: 1);
        var j = UpgradeJournal.Open(path, plan.PlanId, "0.6.0");
        Assert.False(j.Resumed);
        j.Begin(plan);
        j.Record("km4:Stop");
        j.Record("km4:Wipe", "/backup");

        var again = UpgradeJournal.Open(path, plan.PlanId, "0.6.0");
        Assert.True(again.Resumed);
        Assert.True(again.IsDone("km4:Wipe"));
        Assert.False(again.IsDone("km4:SetBundle"));
        var resumed = UpgradePlanner.Resume(Nodes(4), again.Halves!, new OasisVersion(0, 6, 0), "/b/km-0.6.0.orc", TestOrcs.TestnetKm, 20);
        Assert.Equal(plan.Steps.Select(s => s.Key), resumed.Steps.Select(s => s.Key));

        Assert.Equal("JournalMismatch", Assert.Throws<KmException>(() => UpgradeJournal.Open(path, "other", "0.6.0")).ErrorId);
        File.WriteAllText(path, "{ not json");
        Assert.Equal("JournalInvalid", Assert.Throws<KmException>(() => UpgradeJournal.Open(path, plan.PlanId, "0.6.0")).ErrorId);
    }

    [Fact]
    public void Journal_opened_for_WhatIf_writes_nothing()
    {
        using var dir = new TempDir();
        var path = dir.File("j.json");
        var plan = Plan(2);
        var j = UpgradeJournal.Open(path, plan.PlanId, "0.6.0", create: false);
        j.Begin(plan);
        j.Record("km2:Stop");
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void Finished_journal_starts_a_new_run()
    {
        using var dir = new TempDir();
        var path = dir.File("j.json");
        var plan = Plan(2);
        var j = UpgradeJournal.Open(path, plan.PlanId, "0.6.0");
        j.Begin(plan);
        j.Record("km2:Stop");
        j.Finish();
        Assert.False(UpgradeJournal.Open(path, plan.PlanId, "0.6.0").Resumed);
    }

    [Fact]
    public void Plan_with_every_node_upgraded_only_verifies_and_leaves_the_finished_journal_alone()
    {
        using var dir = new TempDir();
        var path = dir.File("j.json");
        var plan = Plan(2);
        var j = UpgradeJournal.Open(path, plan.PlanId, "0.6.0");
        j.Begin(plan);
        foreach (var s in plan.Steps) j.Record(s.Key);
        j.Finish();
        var record = File.ReadAllText(path);

        var nothing = Plan(2, new HashSet<string> { "km1", "km2" });
        Assert.Equal(new[] { "final:Verify" }, nothing.Steps.Select(s => s.Key));
        var again = UpgradeJournal.Open(path, nothing.PlanId, "0.6.0");
        again.Begin(nothing);
        again.Record("final:Verify");
        again.Finish();
        Assert.Equal(record, File.ReadAllText(path));
    }

    [Fact]
    public void Only_one_run_at_a_time_writes_a_journal()
    {
        using var dir = new TempDir();
        var path = dir.File("j.json");
        var plan = Plan(2);
        using var first = UpgradeJournal.Open(path, plan.PlanId, "0.6.0");
        var second = UpgradeJournal.Open(path, plan.PlanId, "0.6.0");
        var whatIf = UpgradeJournal.Open(path, plan.PlanId, "0.6.0", create: false);
        first.Begin(plan);
        first.Record("km2:Stop");
        Assert.Equal("JournalInUse", Assert.Throws<KmException>(() => second.Begin(plan)).ErrorId);
        whatIf.Begin(plan); // a dry run reads, writes nothing, and needs no lock
        first.Dispose();
        // The second run opened the journal before the first wrote to it: its picture is stale.
        Assert.Equal("JournalChanged", Assert.Throws<KmException>(() => second.Begin(plan)).ErrorId);
        using var third = UpgradeJournal.Open(path, plan.PlanId, "0.6.0");
        Assert.True(third.Resumed);
        third.Begin(plan);
        Assert.True(third.IsDone("km2:Stop"));
    }

    [Fact]
    public void Journal_of_a_run_that_never_began_does_not_block_another_plan()
    {
        // A run refused by the pre-flight (say, a wrong ORC path) opened the journal but changed nothing:
        // the corrected command with the same -JournalPath must start, not report "another upgrade".
        using var dir = new TempDir();
        var path = dir.File("j.json");
        UpgradeJournal.Open(path, "wrong-orc-plan", "0.6.0");
        var plan = Plan(2);
        var j = UpgradeJournal.Open(path, plan.PlanId, "0.6.0");
        Assert.False(j.Resumed);
        j.Begin(plan);
        j.Record("km2:Stop");
        Assert.True(UpgradeJournal.Open(path, plan.PlanId, "0.6.0").IsDone("km2:Stop"));
        // Once a run has begun, another plan's journal is still refused.
        Assert.Equal("JournalMismatch", Assert.Throws<KmException>(() => UpgradeJournal.Open(path, "wrong-orc-plan", "0.6.0")).ErrorId);
    }

    [Fact]
    public void Journal_knows_the_node_of_a_step_that_started_and_was_not_recorded()
    {
        using var dir = new TempDir();
        var path = dir.File("j.json");
        var plan = Plan(4, first: 1);
        var j = UpgradeJournal.Open(path, plan.PlanId, "0.6.0");
        j.Begin(plan);
        j.Starting("km4:Stop");
        j.Dispose(); // the run was killed: its lock went with its process
        var resumed = UpgradeJournal.Open(path, plan.PlanId, "0.6.0");
        Assert.False(resumed.IsDone("km4:Stop"));
        Assert.Equal(new[] { "km4" }, resumed.TouchedNodes);
        resumed.Record("km4:Stop");
        resumed.Starting("first:WaitEpoch");
        resumed.Record("first:WaitEpoch");
        Assert.Equal(new[] { "km4", "first" }, UpgradeJournal.Open(path, plan.PlanId, "0.6.0").TouchedNodes);
    }
}
