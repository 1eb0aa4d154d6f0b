using System.Management.Automation;
using KmPs.Core.Orchestration;
using KmPs.Simulator.Cluster;
using KmPs.Tests.Harness;

namespace KmPs.Scenario.Tests.Scenarios;

/// <summary>
/// The orchestrator stopped (Ctrl+C, StopProcessing) right after each step boundary of a 2-node
/// upgrade, then run again with the same journal: it resumes and finishes, keys intact.
/// </summary>
public abstract class SafeUpgradeResumeTestsBase
{
    /// <param name="between">What happens to the cluster between the stop and the resumed run (an operator's hands).</param>
    protected static async Task StopAfterAndResumeAsync(int completedSteps, Func<SimCluster, Task>? between = null)
    {
        await using var c = await UpgradeHarness.ClusterAsync(2);
        var before = (await c.StatusAsync("km1")).Checksum!;
        var journal = UpgradeHarness.Journal(c);
        using (var ps = new PsEngine())
        using (var shell = PowerShell.Create())
        {
            shell.Runspace = ps.Runspace;
            shell.AddScript(UpgradeHarness.Command(c));
            var run = shell.BeginInvoke();
            await SimCluster.EventuallyAsync(() => Task.FromResult(Completed(journal)), n => n >= completedSteps || run.IsCompleted,
                TimeSpan.FromSeconds(40), $"{completedSteps} steps");
            shell.Stop();
            Assert.Contains(shell.InvocationStateInfo.State, new[] { PSInvocationState.Stopped, PSInvocationState.Completed });
        }
        Assert.True(c.Audit().KeyMaterialExists);
        if (between is not null) await between(c);
        // After the last node's start only short waits remain (its replication, then the final
        // verification): on a fast machine the run may finish before the stop lands. A finished journal
        // leaves nothing to resume; the second run then finds every node upgraded and still succeeds.
        var finished = Finished(journal);
        Assert.True(!finished || completedSteps >= 12, "the run finished early, before step " + completedSteps);
        var r = UpgradeHarness.Run(c).AssertClean();
        var result = r.Single<UpgradeResult>();
        Assert.Equal(!finished, result.Resumed);
        await UpgradeHarness.AssertUpgradedAsync(c, result, before);
    }

    private static bool Finished(string journal) =>
        File.Exists(journal) && System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(journal))?["finished"] is { } f && f.GetValueKind() != System.Text.Json.JsonValueKind.Null;

    private static int Completed(string journal)
    {
        try { return File.Exists(journal) ? File.ReadAllText(journal).Split("\"key\"").Length - 1 : 0; }
        catch (IOException) { return 0; }
    }
}

public class SafeUpgradeResumeEarlyTests : SafeUpgradeResumeTestsBase
{
    // Steps of a 2-node plan: 1-4 km2 stop/wipe/bundle/start, 5 wait epoch, 6 wait replicated, 7 verify.
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    [InlineData(7)]
    public Task Stopped_after_step_resumes(int step) => StopAfterAndResumeAsync(step);
}

public class SafeUpgradeResumeLateTests : SafeUpgradeResumeTestsBase
{
    // 8 verify again, 9-12 km1 stop/wipe/bundle/start, 13 wait replicated (14 final verify ends the run).
    [Theory]
    [InlineData(8)]
    [InlineData(9)]
    [InlineData(10)]
    [InlineData(11)]
    [InlineData(12)]
    [InlineData(13)]
    public Task Stopped_after_step_resumes(int step) => StopAfterAndResumeAsync(step);
}

public class SafeUpgradeResumeReverifyTests
{
    /// <summary>Yes to km2's stop, wipe and bundle; No at km1's stop: the run ends right after the first half verified twice.</summary>
    private static async Task<string> FirstHalfVerifiedThenDeclinedAsync(SimCluster c)
    {
        var before = (await c.StatusAsync("km1")).Checksum!;
        var declined = UpgradeHarness.SingleError(UpgradeHarness.Run(c, "-Confirm", host: new RecordingHost(0, 0, 0, 2)));
        Assert.Equal("UpgradeDeclined,Invoke-KmSafeUpgrade", declined.FullyQualifiedErrorId);
        Assert.Contains("\"key\": \"first:VerifyAgain\"", File.ReadAllText(UpgradeHarness.Journal(c)));
        return before;
    }

    /// <summary>The node keeps running but stops registering (RegistrationFails) until its registration has lapsed.</summary>
    private static Task LapseRegistrationAsync(SimCluster c, string node)
    {
        c.SetFaults(node, new Simulator.Node.Faults { RegistrationFails = true });
        return SimCluster.EventuallyAsync(() => c.StatusAsync(node), s => KmPs.Core.Status.NodeRegistration.IsExpired(s.RegistrationExpiration, s.Epoch),
            TimeSpan.FromSeconds(20), node + "'s registration stale");
    }

    private static DateTimeOffset VerifiedAgainAt(SimCluster c) =>
        System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(UpgradeHarness.Journal(c)))!["completed"]!.AsArray()
            .Single(x => (string?)x!["key"] == "first:VerifyAgain")!["at"]!.GetValue<DateTimeOffset>();

    [Fact]
    public async Task Resumed_run_verifies_the_first_half_again_before_touching_the_second()
    {
        await using var c = await UpgradeHarness.ClusterAsync(2);
        var before = await FirstHalfVerifiedThenDeclinedAsync(c);
        // While no run watches, the upgraded first-half node keeps running but its registration lapses.
        await LapseRegistrationAsync(c, "km2");
        // It first waits (-TimeoutSec) for the first half to be replicated again, in vain: the fault is still on.
        var e = UpgradeHarness.SingleError(UpgradeHarness.Run(c, timeoutSec: 3));
        Assert.Equal("UpgradeStopped,Invoke-KmSafeUpgrade", e.FullyQualifiedErrorId);
        Assert.Contains("Before resuming with the second half, the first half no longer verifies", e.Exception.Message);
        Assert.Contains("km2: registration is stale", e.Exception.Message);
        await UpgradeHarness.AssertStoppedSafelyAsync(c, new[] { "km1" }, before);
    }

    /// <summary>
    /// The operator's fix, timed so that only a run that waits survives it: the node's fault is lifted once the
    /// run draws a replication wait's bar (its wait before verifying); a run that verifies at once finds the
    /// registration still lapsed and stops.
    /// </summary>
    private static Action<PowerShell> LiftFaultOnceItWaits(SimCluster c, string node) => ps =>
    {
        var lifted = 0;
        ps.Streams.Progress.DataAdded += (sender, e) =>
        {
            var bar = ((PSDataCollection<ProgressRecord>)sender!)[e.Index];
            if (bar.Activity.Contains("to replicate", StringComparison.Ordinal) && Interlocked.Exchange(ref lifted, 1) == 0)
                c.SetFaults(node, new Simulator.Node.Faults());
        };
    };

    /// <summary>
    /// Found by chaos (seed 2026, run 67): the operator fixed what stopped the run and ran the same command at
    /// once; the node whose registration had lapsed registers again only at its next epoch. The resumed run's
    /// first verification waits for that instead of stopping again (here the fix lands once it waits).
    /// </summary>
    [Fact]
    public async Task A_resumed_run_waits_for_a_registration_that_lapsed_while_no_run_watched_before_verifying()
    {
        await using var c = await UpgradeHarness.ClusterAsync(2);
        var before = await FirstHalfVerifiedThenDeclinedAsync(c);
        await LapseRegistrationAsync(c, "km2");
        var r = UpgradeHarness.Run(c, "-Confirm:$false -Verbose", watch: LiftFaultOnceItWaits(c, "km2")).AssertClean();
        Assert.Contains(r.Verbose, v => v.Message == "Resumed run: the first half verified again before the second half.");
        await UpgradeHarness.AssertUpgradedAsync(c, r.Single<UpgradeResult>(), before);
    }

    /// <summary>The same at the final verification: the run stopped just before it, with a node's registration lapsed meanwhile.</summary>
    [Fact]
    public async Task A_run_resumed_at_its_final_verification_waits_for_a_lapsed_registration()
    {
        await using var c = await UpgradeHarness.ClusterAsync(2);
        var before = (await c.StatusAsync("km1")).Checksum!;
        UpgradeHarness.Run(c).AssertClean();
        // As if the run had been stopped right before its final verification.
        var journal = UpgradeHarness.Journal(c);
        var doc = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(journal))!;
        var completed = doc["completed"]!.AsArray();
        completed.Remove(completed.Single(x => (string?)x!["key"] == "final:Verify"));
        doc["finished"] = null;
        File.WriteAllText(journal, doc.ToJsonString());
        await LapseRegistrationAsync(c, "km1");
        var result = UpgradeHarness.Run(c, watch: LiftFaultOnceItWaits(c, "km1")).AssertClean().Single<UpgradeResult>();
        Assert.True(result.Resumed);
        await UpgradeHarness.AssertUpgradedAsync(c, result, before);
    }

    [Fact]
    public async Task A_first_half_node_found_stopped_is_started_and_verified_twice_again_before_the_second_half()
    {
        await using var c = await UpgradeHarness.ClusterAsync(2);
        var before = await FirstHalfVerifiedThenDeclinedAsync(c);
        var firstVerify = VerifiedAgainAt(c);
        // While no run watches, the upgraded first-half node goes down (issue 9 #5: the journal's "started" is no longer true).
        Simulator.Cluster.NodeProcesses.Stop(c.Layout, "km2", TimeSpan.FromSeconds(20));
        var r = UpgradeHarness.Run(c, "-Confirm:$false -Verbose").AssertClean();
        Assert.Contains(r.Verbose, v => v.Message.StartsWith("Resume: km2: it is stopped though it was started on the new bundle", StringComparison.Ordinal));
        Assert.True(VerifiedAgainAt(c) > firstVerify, "the first half was not verified again before the second half");
        await UpgradeHarness.AssertUpgradedAsync(c, r.Single<UpgradeResult>(), before);
    }
}

/// <summary>
/// Issue 9 #5: between the stop and the resume the operator followed the tool's own advice (start
/// the node again) or rolled a node back; the resumed run finds what is true and redoes what is not.
/// </summary>
public class SafeUpgradeResumeStateTests : SafeUpgradeResumeTestsBase
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData(1)] // after km2's stop: its state and bundle unchanged
    [InlineData(2)] // after km2's wipe: it comes up on the old bundle with no state and replicates
    public Task A_node_started_again_by_hand_is_stopped_and_upgraded_on_resume(int step) =>
        StopAfterAndResumeAsync(step, async c =>
        {
            NodeProcesses.Start(c.Layout, "km2", Wait);
            await SimCluster.EventuallyAsync(() => c.StatusAsync("km2"), s => s.IsReady, Wait, "km2 ready again on the old version");
        });

    [Fact]
    public Task A_node_rolled_back_with_Restore_KmLocalState_is_upgraded_again_on_resume() =>
        StopAfterAndResumeAsync(4, async c =>
        {
            // The rollback of the README: Stop-KmNode, discard the new enclave's (still empty) state with
            // -Delete so the old state's backup stays the newest, Restore-KmLocalState, Set-KmRuntimeBundle
            // with the old ORC, Start-KmNode.
            using var ps = new PsEngine();
            ps.Run($"$all = Import-KmNode '{c.Layout.InventoryFile}'; $n = $all | Where-Object Name -eq km2; $km1 = $all | Where-Object Name -eq km1; " +
                   $"$n | Stop-KmNode -Confirm:$false; $n | Clear-KmLocalState -RequirePeer $km1 -Delete -Force -Confirm:$false; $n | Restore-KmLocalState -Confirm:$false; " +
                   $"$n | Set-KmRuntimeBundle -Path '{c.OldOrc}' -Confirm:$false; $n | Start-KmNode -Confirm:$false").AssertClean();
            var back = await SimCluster.EventuallyAsync(() => c.StatusAsync("km2"), s => s.IsReady, Wait, "km2 ready on the old version");
            Assert.Equal(c.Options.OldVersion, back.RegisteredVersion?.ToString());
        });
}
