using KmPs.Core.Orchestration;
using KmPs.Core.Status;
using KmPs.Tests.Harness;

namespace KmPs.Scenario.Tests.Scenarios;

/// <summary>Invoke-KmSafeUpgrade on healthy clusters of real node processes.</summary>
public class SafeUpgradeHappyPathTests
{
    [Theory]
    [InlineData(2, SchemaGeneration.V24)]
    [InlineData(3, SchemaGeneration.V24)]
    [InlineData(4, SchemaGeneration.V24)]
    [InlineData(5, SchemaGeneration.V24)]
    [InlineData(3, SchemaGeneration.V22_2)]
    [InlineData(3, SchemaGeneration.V23_0)]
    public async Task Upgrades_every_node_keeping_the_key_material(int nodes, SchemaGeneration g)
    {
        await using var c = await UpgradeHarness.ClusterAsync(nodes, g);
        var before = (await c.StatusAsync("km1")).Checksum!;
        var r = UpgradeHarness.Run(c).AssertClean();
        var result = r.Single<UpgradeResult>();
        await UpgradeHarness.AssertUpgradedAsync(c, result, before);
        Assert.Equal(nodes / 2, result.Plan!.FirstHalf.Count);
        Assert.All(result.Nodes, n => Assert.Equal(c.Options.OldVersion, n.BeforeVersion));
        Assert.All(result.Nodes, n => Assert.Equal(c.Options.NewVersion, n.AfterVersion));
        Assert.All(result.Nodes, n => Assert.NotNull(n.BackupPath));
        Assert.All(result.Nodes, n => Assert.True(n.Downtime > TimeSpan.Zero, n.Name + " has no downtime measured"));
        // The journal recorded every step in plan order, second half only after the second verification.
        var journal = File.ReadAllText(UpgradeHarness.Journal(c));
        Assert.Contains("\"finished\"", journal);
        var verifyAgain = journal.IndexOf("first:VerifyAgain", StringComparison.Ordinal);
        foreach (var n in result.Plan.SecondHalf) Assert.True(journal.IndexOf($"{n}:Stop", StringComparison.Ordinal) > verifyAgain);
    }

    [Fact]
    public async Task Upgrades_a_25_cluster_whose_deployment_names_the_bundle_by_manifest_hash()
    {
        await using var c = await UpgradeHarness.ClusterAsync(2, configure: o => o.SoftwareVersion = "25.6.0");
        var runtime = await KmPs.Core.Control.ControlClient.For(KmPs.Core.Control.SocketAddress.Parse(c.Socket("km1")))
            .GetRuntimeAsync(Convert.FromHexString(c.Spec.KmRuntimeId));
        Assert.Equal(KmPs.Core.Bundles.OrcBundle.Open(c.NewOrc).ManifestHash, runtime.Find(OasisVersion.Parse(c.Options.NewVersion))!.BundleChecksum);
        var before = (await c.StatusAsync("km1")).Checksum!;
        await UpgradeHarness.AssertUpgradedAsync(c, UpgradeHarness.Run(c).AssertClean().Single<UpgradeResult>(), before);
    }

    [Fact]
    public async Task Second_run_over_a_finished_upgrade_touches_nothing_and_succeeds()
    {
        await using var c = await UpgradeHarness.ClusterAsync(2);
        var before = (await c.StatusAsync("km1")).Checksum!;
        UpgradeHarness.Run(c).AssertClean();
        var tree = UpgradeHarness.Snapshot(c);
        var again = UpgradeHarness.Run(c).AssertClean().Single<UpgradeResult>();
        Assert.False(again.Resumed);
        Assert.Equal(new[] { "km1", "km2" }, again.Plan!.Skipped.OrderBy(n => n));
        Assert.Empty(again.Plan.FirstHalf.Concat(again.Plan.SecondHalf));
        await UpgradeHarness.AssertUpgradedAsync(c, again, before);
        Assert.Equal(tree, UpgradeHarness.Snapshot(c));
    }

    [Fact]
    public async Task WhatIf_changes_no_byte_and_prints_every_step()
    {
        await using var c = await UpgradeHarness.ClusterAsync(3);
        var before = UpgradeHarness.Snapshot(c);
        var host = new RecordingHost();
        var r = UpgradeHarness.Run(c, "-WhatIf", host: host).AssertClean();
        var result = r.Single<UpgradeResult>();
        Assert.True(result.WhatIf);
        Assert.False(result.Success);
        Assert.Equal(before, UpgradeHarness.Snapshot(c));
        Assert.False(File.Exists(UpgradeHarness.Journal(c)));
        var whatIfs = host.Text.Split('\n').Count(l => l.StartsWith("What if:", StringComparison.Ordinal));
        Assert.Equal(result.Plan!.Steps.Count, whatIfs);
        // The plan names the enclaves it checked: the new bundle's (in its deployment) and the nodes' (their version's deployment).
        var oldId = KmPs.Core.Bundles.OrcBundle.Open(c.OldOrc).EnclaveIdentity!;
        var newId = KmPs.Core.Bundles.OrcBundle.Open(c.NewOrc).EnclaveIdentity!;
        Assert.Contains($"Deployment check: 0.6.0 deploys the new enclave {newId.Short} (the nodes run {oldId.Short}, 0.5.0).", host.Text);
        Assert.Equal(newId, result.NewEnclave);
        Assert.Equal(new[] { oldId }, result.OldEnclaves);
        foreach (var n in c.Names) Assert.True((await c.StatusAsync(n)).IsReady);
    }

    [Fact]
    public async Task Yes_to_all_at_the_first_prompt_answers_every_later_one()
    {
        await using var c = await UpgradeHarness.ClusterAsync(2);
        var before = (await c.StatusAsync("km1")).Checksum!;
        var host = new RecordingHost(1); // Yes to All
        var r = UpgradeHarness.Run(c, "-Confirm", host: host).AssertClean();
        Assert.Single(host.Prompts);
        await UpgradeHarness.AssertUpgradedAsync(c, r.Single<UpgradeResult>(), before);
    }

    [Fact]
    public async Task Epoch_already_passed_is_said_and_the_run_goes_on()
    {
        await using var c = await UpgradeHarness.ClusterAsync(2, upgradeIn: 1);
        await SimCluster.EventuallyAsync(() => Task.FromResult(c.Epoch), e => e > c.Spec.FirstEpoch + 2, TimeSpan.FromSeconds(10), "epoch");
        var before = (await c.StatusAsync("km1")).Checksum!;
        var host = new RecordingHost();
        var r = UpgradeHarness.Run(c, host: host).AssertClean();
        await UpgradeHarness.AssertUpgradedAsync(c, r.Single<UpgradeResult>(), before);
        Assert.Contains("has already passed", host.Text);
    }
}
