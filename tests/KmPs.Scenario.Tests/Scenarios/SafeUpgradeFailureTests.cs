using System.Management.Automation;
using KmPs.Core.Diagnosis;
using KmPs.Core.Orchestration;
using KmPs.Simulator.Cluster;
using KmPs.Simulator.Node;
using KmPs.Core;
using KmPs.Tests.Harness;

namespace KmPs.Scenario.Tests.Scenarios;

/// <summary>Failures during the run: it stops at once, untouched nodes stay as they were, keys survive.</summary>
public class SafeUpgradeFailureTests
{
    [Fact]
    public async Task Replication_that_never_happens_times_out_and_leaves_the_second_half_untouched()
    {
        await using var c = await UpgradeHarness.ClusterAsync(4);
        var before = (await c.StatusAsync("km1")).Checksum!;
        // Every node refuses: not only the staying half, but also km4, which still runs the old
        // version while km3 upgrades and could otherwise serve it once the epoch has passed.
        foreach (var n in c.Names) c.SetFaults(n, new Faults { RefuseReplication = true });
        var r = UpgradeHarness.Run(c, timeoutSec: 6);
        Assert.True(r.Errors.Count + (r.Terminating is null ? 0 : 1) == 1,
            $"expected one error; output: {string.Join(" | ", r.Output.Select(o => o.ToString()))}; journal: {File.ReadAllText(UpgradeHarness.Journal(c))}");
        var e = UpgradeHarness.SingleError(r);
        Assert.Equal("UpgradeStopped,Invoke-KmSafeUpgrade", e.FullyQualifiedErrorId);
        Assert.Contains("Timed out", e.Exception.Message);
        Assert.Contains("km1 [untouched]", e.Exception.Message);
        Assert.Contains("What to do", e.Exception.Message);
        await UpgradeHarness.AssertStoppedSafelyAsync(c, new[] { "km1", "km2" }, before);
    }

    [Fact]
    public async Task New_node_crashing_while_replicating_stops_the_run()
    {
        await using var c = await UpgradeHarness.ClusterAsync(2);
        var before = (await c.StatusAsync("km1")).Checksum!;
        c.SetFaults("km2", new Faults { CrashWhileReplicating = true });
        var e = UpgradeHarness.SingleError(UpgradeHarness.Run(c, timeoutSec: 8));
        Assert.Equal("UpgradeStopped,Invoke-KmSafeUpgrade", e.FullyQualifiedErrorId);
        Assert.Contains("km2", e.Exception.Message);
        await UpgradeHarness.AssertStoppedSafelyAsync(c, new[] { "km1" }, before);
        Assert.Contains("simulated crash while replicating", c.Log("km2"));
    }

    [Fact]
    public async Task Peer_lost_mid_run_blocks_the_next_wipe()
    {
        await using var c = await UpgradeHarness.ClusterAsync(4);
        var before = (await c.StatusAsync("km1")).Checksum!;
        using var ps = new PsEngine();
        using var shell = PowerShell.Create();
        shell.Runspace = ps.Runspace;
        shell.AddScript(UpgradeHarness.Command(c));
        var run = shell.BeginInvoke();
        // As soon as the first node of the first half is back, a staying peer dies.
        await SimCluster.EventuallyAsync(() => Task.FromResult(File.Exists(UpgradeHarness.Journal(c)) ? File.ReadAllText(UpgradeHarness.Journal(c)) : ""),
            j => j.Contains("km3:Start"), TimeSpan.FromSeconds(30), "km3 started");
        NodeProcesses.Kill(c.Layout, "km1");
        await Task.Factory.FromAsync(run, _ => { });
        var e = Assert.Single(shell.Streams.Error);
        Assert.Equal("UpgradeStopped,Invoke-KmSafeUpgrade", e.FullyQualifiedErrorId);
        Assert.Contains("Refusing to wipe", e.Exception.Message);
        // The step's own error stays reachable for scripts, with its stable id.
        Assert.Equal("WipeRefused", Assert.IsType<KmException>(e.Exception.InnerException).ErrorId);
        // km4 was stopped but not wiped; km2 untouched; the key material lives on km2.
        Assert.True(c.Audit().Nodes.Single(n => n.Name == "km4").HasState);
        Assert.Contains("km4 is stopped with its state and bundle unchanged", e.Exception.Message);
        await UpgradeHarness.AssertStoppedSafelyAsync(c, new[] { "km2" }, before);
    }

    [Fact]
    public async Task Start_that_fails_says_how_the_node_was_left_and_the_same_command_resumes()
    {
        await using var c = await UpgradeHarness.ClusterAsync(2);
        var before = (await c.StatusAsync("km1")).Checksum!;
        using var ps = new PsEngine();
        string Upgrade(string km2Start) =>
            $"$n = @(Import-KmNode '{c.Layout.InventoryFile}'); {km2Start}" +
            $"Invoke-KmSafeUpgrade -Node $n -BundlePath '{c.NewOrc}' -JournalPath '{UpgradeHarness.Journal(c)}' -TimeoutSec 30 -NodeTimeoutSec 30 -Confirm:$false";
        var e = UpgradeHarness.SingleError(ps.Run(Upgrade("$n[1].StartScript = 'throw \"the unit failed to start\"'; ")));
        Assert.Equal("UpgradeStopped,Invoke-KmSafeUpgrade", e.FullyQualifiedErrorId);
        Assert.Contains("Step 4 failed (Start km2", e.Exception.Message);
        Assert.Contains("the unit failed to start", e.Exception.Message);
        Assert.Contains("What to do: km2 did not come up on the new version: its config points at the new bundle and its old state was moved aside", e.Exception.Message);
        // The rollback that works on a node that started: its new (keyless) state is discarded first, so Restore takes the old one.
        Assert.Contains("Stop-KmNode, Clear-KmLocalState -Delete", e.Exception.Message);
        Assert.Contains("Restore-KmLocalState, Set-KmRuntimeBundle with the old ORC, Start-KmNode", e.Exception.Message);
        Assert.Equal("LifecycleScriptFailed", Assert.IsType<KmException>(e.Exception.InnerException).ErrorId);
        await UpgradeHarness.AssertStoppedSafelyAsync(c, new[] { "km1" }, before);
        Assert.Contains(c.NewOrc, File.ReadAllText(c.Layout.ConfigFile("km2")));

        // The cause fixed, the same command resumes with km2's start.
        var result = ps.Run(Upgrade("")).AssertClean().Single<UpgradeResult>();
        Assert.True(result.Resumed);
        await UpgradeHarness.AssertUpgradedAsync(c, result, before);
    }

    [Fact]
    public async Task Forgotten_wipe_after_a_stopped_run_is_found_by_the_diagnosis()
    {
        await using var c = await UpgradeHarness.ClusterAsync(2, upgradeIn: 1);
        // An operator finishes a node by hand and forgets the wipe.
        var node = (await Task.FromResult(KmPs.Core.Inventory.InventoryFile.ParseJson(File.ReadAllText(c.Layout.InventoryFile), c.Layout.InventoryFile)))[1];
        using var ps = new PsEngine();
        ps.Run($"$n = Import-KmNode '{c.Layout.InventoryFile}' | Where-Object Name -eq km2; $n | Stop-KmNode -Confirm:$false; $n | Set-KmRuntimeBundle -Path '{c.NewOrc}' -Confirm:$false; $n | Start-KmNode -Confirm:$false").AssertClean();
        await SimCluster.EventuallyAsync(() => Task.FromResult(c.Log("km2")), l => l.Contains("Enclave panicked"), TimeSpan.FromSeconds(20), "panic");
        var found = ps.Run($"Import-KmNode '{c.Layout.InventoryFile}' | Find-KmUpgradeProblem").AssertClean()
            .Output.Select(o => (UpgradeProblem)o.BaseObject).ToList();
        var p = Assert.Single(found);
        Assert.Equal("km2", p.Node);
        Assert.Equal("EnclavePanicAfterUpgrade", p.Problem);
        Assert.Equal(node.LogPath, p.LogPath);
        // The orchestrator's pre-flight refuses to go on with a node in that state.
        var e = UpgradeHarness.SingleError(UpgradeHarness.Run(c));
        Assert.Equal("PreflightFailed,Invoke-KmSafeUpgrade", e.FullyQualifiedErrorId);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public async Task Answering_No_at_a_prompt_stops_the_run_there(int yesBefore)
    {
        await using var c = await UpgradeHarness.ClusterAsync(2);
        var before = (await c.StatusAsync("km1")).Checksum!;
        var answers = Enumerable.Repeat(0, yesBefore).Append(2).ToArray(); // Yes..., then No
        var host = new RecordingHost(answers);
        var e = UpgradeHarness.SingleError(UpgradeHarness.Run(c, "-Confirm", host: host));
        Assert.Equal("UpgradeDeclined,Invoke-KmSafeUpgrade", e.FullyQualifiedErrorId);
        Assert.Equal(yesBefore + 1, host.Prompts.Count);
        // The states as data: what the journal says was done to each node, and the node the run stopped at.
        var report = Assert.IsType<KmPs.Core.Orchestration.UpgradeStopReport>(e.TargetObject is System.Management.Automation.PSObject p ? p.BaseObject : e.TargetObject);
        Assert.Equal(new[] { "km1", "km2" }, report.Nodes.Select(n => n.Name));
        // km2 (the first half) gets a prompt before Stop, Wipe and SetBundle; its Start follows the third unasked.
        Assert.Equal(yesBefore < 3 ? new[] { "Stop", "Wipe", "SetBundle" }.Take(yesBefore) : new[] { "Stop", "Wipe", "SetBundle", "Start" }, report.Node("km2")!.Done);
        Assert.Equal(yesBefore < 3 ? "km2" : "km1", report.Step!.Node);
        var journal = File.ReadAllText(UpgradeHarness.Journal(c));
        var destructive = new[] { "km2:Stop", "km2:Wipe", "km2:SetBundle", "km1:Stop", "km1:Wipe", "km1:SetBundle" };
        for (var i = 0; i < destructive.Length; i++)
            Assert.Equal(i < yesBefore, journal.Contains(destructive[i]));
        Assert.True(c.Audit().KeyMaterialExists);
        if (yesBefore < 3) await UpgradeHarness.AssertStoppedSafelyAsync(c, new[] { "km1" }, before);
    }
}
