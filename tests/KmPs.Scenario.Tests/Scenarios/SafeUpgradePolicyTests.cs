using KmPs.Core.Bundles;
using KmPs.Core.Orchestration;
using KmPs.Core.Policy;
using KmPs.Simulator.Cluster;
using KmPs.Tests.Harness;

namespace KmPs.Scenario.Tests.Scenarios;

/// <summary>
/// The key manager policy before anything is touched: a policy that does not know the new enclave is
/// refused; one scheduled for the next epoch (25.6+ next_policy) is refused with its epoch, or waited for.
/// </summary>
public class SafeUpgradePolicyTests
{
    private static (string Old, string New) Enclaves(SimCluster c) =>
        (OrcBundle.Open(c.OldOrc).EnclaveIdentity!.MrEnclave, OrcBundle.Open(c.NewOrc).EnclaveIdentity!.MrEnclave);

    private static PreflightProblem[] Problems(System.Management.Automation.ErrorRecord e) =>
        Assert.IsAssignableFrom<IEnumerable<PreflightProblem>>(e.TargetObject).ToArray();

    [Fact]
    public async Task A_policy_not_yet_updated_for_the_new_enclave_is_refused_before_any_node_is_touched()
    {
        await using var c = await UpgradeHarness.ClusterAsync(4, configure: o => o.PolicyAllowsUpgrade = false);
        var before = UpgradeHarness.Snapshot(c);
        var checksum = (await c.StatusAsync("km1")).Checksum!;
        var e = UpgradeHarness.SingleError(UpgradeHarness.Run(c));
        Assert.Equal("PreflightFailed,Invoke-KmSafeUpgrade", e.FullyQualifiedErrorId);
        var problem = Assert.Single(Problems(e));
        Assert.Equal(PreflightErrorIds.PolicyNoEntryForNewEnclave, problem.ErrorId);
        var (oldEnclave, newEnclave) = Enclaves(c);
        Assert.Contains(newEnclave, e.Exception.Message);
        Assert.Contains(oldEnclave, e.Exception.Message);
        Assert.Contains("serial 1", e.Exception.Message);
        Assert.Contains("nothing was changed", e.Exception.Message);
        Assert.Equal(before, UpgradeHarness.Snapshot(c));
        await UpgradeHarness.AssertStoppedSafelyAsync(c, c.Names, checksum);
    }

    [Fact]
    public async Task A_policy_whose_old_entry_does_not_list_the_new_enclave_is_refused()
    {
        await using var c = await UpgradeHarness.ClusterAsync(2);
        // Serial 2: the new enclave has its entry, but the old one no longer lists it.
        var p = ClusterControl.UpgradePolicy(c.Layout, c.Options.OldVersion, c.Options.NewVersion);
        p.Enclaves[0].MayReplicate.Clear();
        ClusterControl.SetPolicy(c.Layout, p);
        var before = UpgradeHarness.Snapshot(c);
        var e = UpgradeHarness.SingleError(UpgradeHarness.Run(c));
        Assert.Equal(PreflightErrorIds.PolicyReplicationNotAllowed, Assert.Single(Problems(e)).ErrorId);
        Assert.Contains("may_replicate", e.Exception.Message);
        Assert.Contains("serial 2", e.Exception.Message);
        Assert.Equal(before, UpgradeHarness.Snapshot(c));
    }

    [Fact]
    public async Task A_policy_updated_for_the_next_epoch_is_refused_with_its_epoch_offered_and_waited_for_with_WaitForPolicy()
    {
        await using var c = await UpgradeHarness.ClusterAsync(4, configure: o => { o.PolicyAllowsUpgrade = false; o.SoftwareVersion = "25.6.0"; });
        var checksum = (await c.StatusAsync("km1")).Checksum!;
        // The signers' update is in (next_policy); it stays pending for this part of the test.
        var update = ClusterControl.UpgradePolicy(c.Layout, c.Options.OldVersion, c.Options.NewVersion);
        ClusterControl.SetPolicy(c.Layout, update, c.Epoch + 100_000, visibleFrom: c.Epoch);
        var before = UpgradeHarness.Snapshot(c);

        // Unattended: refused, naming the epoch at which the next policy applies.
        var e = UpgradeHarness.SingleError(UpgradeHarness.Run(c));
        Assert.Equal("PreflightFailed,Invoke-KmSafeUpgrade", e.FullyQualifiedErrorId);
        Assert.Equal(PreflightErrorIds.PolicyNotYetInEffect, Assert.Single(Problems(e)).ErrorId);
        Assert.Matches(@"the next policy \(serial 2\) does, from epoch \d+ \(the next epoch transition\)", e.Exception.Message);
        Assert.Contains("-WaitForPolicy", e.Exception.Message);
        Assert.Equal(before, UpgradeHarness.Snapshot(c));

        // Interactive: the offer to wait, declined.
        var host = new RecordingHost(1);
        var declined = UpgradeHarness.SingleError(UpgradeHarness.Run(c, extra: "", host: host));
        Assert.Equal(PreflightErrorIds.PolicyNotYetInEffect, Assert.Single(Problems(declined)).ErrorId);
        var prompt = Assert.Single(host.Prompts);
        Assert.Contains("not yet in effect", prompt);
        Assert.Matches(@"Wait for epoch \d+, check the policy again", prompt);
        Assert.Equal(before, UpgradeHarness.Snapshot(c));

        // A dry run with the switch: the plan after the wait it would do.
        var dryHost = new RecordingHost();
        UpgradeHarness.Run(c, extra: "-WhatIf -WaitForPolicy", host: dryHost).AssertClean();
        Assert.Matches(@"What if: waiting for epoch \d+, when the key manager policy serial 2 takes effect", dryHost.Text);
        Assert.Contains("Plan: upgrade to 0.6.0", dryHost.Text);
        Assert.Equal(before, UpgradeHarness.Snapshot(c));

        // The signers' update moved to a few epochs from now (serial 3): -WaitForPolicy waits, checks again and upgrades.
        var soon = ClusterControl.UpgradePolicy(c.Layout, c.Options.OldVersion, c.Options.NewVersion);
        var at = ClusterControl.SetPolicy(c.Layout, soon, c.Epoch + 6, visibleFrom: c.Epoch);
        var runHost = new RecordingHost();
        var result = UpgradeHarness.Run(c, extra: "-Confirm:$false -WaitForPolicy", timeoutSec: 120, host: runHost).AssertClean().Single<UpgradeResult>();
        Assert.Contains("Waiting for epoch", runHost.Text);
        Assert.Equal(UpgradePolicyOutcome.Allowed, result.Policy!.Outcome);
        Assert.Equal(3u, result.Policy.Serial);
        await UpgradeHarness.AssertUpgradedAsync(c, result, checksum);
        // No node was stopped before the epoch at which the policy took effect had begun.
        var spec = c.Spec;
        var policyEpochBegan = DateTimeOffset.FromUnixTimeMilliseconds(spec.GenesisUnixMs + (long)(at - spec.FirstEpoch) * spec.EpochIntervalMs);
        var firstStop = c.Names.SelectMany(n => File.ReadLines(c.Layout.LogFile(n)).Where(l => l.Contains("\"msg\":\"stopped\"")).Take(1))
            .Select(l => DateTimeOffset.Parse(System.Text.Json.JsonDocument.Parse(l).RootElement.GetProperty("ts").GetString()!, System.Globalization.CultureInfo.InvariantCulture))
            .Min();
        Assert.True(firstStop >= policyEpochBegan, $"a node was stopped at {firstStop:O}, before epoch {at} began at {policyEpochBegan:O}");
        Assert.Contains("policy serial 3", runHost.Text);
        var (oldShort, newShort) = (OrcBundle.Open(c.OldOrc).EnclaveIdentity!.Short, OrcBundle.Open(c.NewOrc).EnclaveIdentity!.Short);
        Assert.Contains($"Policy check: serial 3 lets the new enclave {newShort} replicate from {oldShort}.", runHost.Text);
    }
}
