using KmPs.Core.Inventory;
using KmPs.Core.Orchestration;
using KmPs.Tests.Support;
using KmPs.Tests.Harness;

namespace KmPs.Scenario.Tests.Scenarios;

/// <summary>Invoke-KmSafeUpgrade in a hosted engine against a simulated cluster.</summary>
public class SafeUpgradeModuleTests
{
    private static Dictionary<string, object?> Variables(SimCluster c) => new()
    {
        ["inv"] = c.Layout.InventoryFile, ["orc"] = c.NewOrc, ["journal"] = Path.Combine(c.Root, "journal.json"),
    };

    [Fact]
    public async Task Two_nodes_upgrade_one_at_a_time()
    {
        // A first half of one node: its verification must not trip over a scalar where a list was meant.
        await using var c = await SimCluster.StartAsync(nodes: 2, epochMs: 300, upgradeIn: 4);
        using var ps = new PsEngine();
        var r = ps.Run("Invoke-KmSafeUpgrade -InventoryPath $inv -BundlePath $orc -JournalPath $journal -Confirm:$false -TimeoutSec 60", Variables(c));
        r.AssertClean();
        var result = r.Single<UpgradeResult>();
        Assert.True(result.Success);
        Assert.Equal(new[] { "km2" }, result.Plan!.FirstHalf);
        Assert.Equal(2, c.Audit().Holders);
    }

    [Fact]
    public async Task Confirm_prompts_only_before_the_destructive_steps()
    {
        await using var c = await SimCluster.StartAsync(nodes: 2, epochMs: 300, upgradeIn: 4);
        // Stop, Wipe and SetBundle of each of the two nodes: six prompts, answered Yes; a seventh throws.
        var host = new RecordingHost(0, 0, 0, 0, 0, 0);
        using var ps = new PsEngine(host);
        var r = ps.Run("Invoke-KmSafeUpgrade -InventoryPath $inv -BundlePath $orc -JournalPath $journal -Confirm -TimeoutSec 60", Variables(c));
        r.AssertClean();
        Assert.True(r.Single<UpgradeResult>().Success);
        Assert.Equal(6, host.Prompts.Count);
        Assert.All(host.Prompts, p => Assert.Matches(@"""(Stop|Move|Point) km[12]", p));
    }

    [Fact]
    public async Task A_step_that_stopped_its_node_and_then_failed_resumes()
    {
        // km2's stop command stops the node and then fails: the step is not recorded as done, yet km2
        // is down. Running the same command again (cause fixed) must resume, not refuse at pre-flight.
        await using var c = await SimCluster.StartAsync(nodes: 2, epochMs: 300, upgradeIn: 4);
        var inventory = File.ReadAllText(c.Layout.InventoryFile);
        var nodes = InventoryFile.ParseJson(inventory, "inventory").ToList();
        var km2 = nodes.Single(n => n.Name == "km2");
        km2.StopScript += "; throw 'stop command lost its connection'";
        File.WriteAllText(c.Layout.InventoryFile, InventoryFile.ToJson(nodes));
        using var ps = new PsEngine();
        const string upgrade = "Invoke-KmSafeUpgrade -InventoryPath $inv -BundlePath $orc -JournalPath $journal -Confirm:$false -TimeoutSec 60";
        var first = ps.Run(upgrade, Variables(c));
        Assert.Contains(first.Errors, e => e.FullyQualifiedErrorId.StartsWith("UpgradeStopped", StringComparison.Ordinal));
        Assert.Equal(2, c.Audit().Holders);

        File.WriteAllText(c.Layout.InventoryFile, inventory);
        var again = ps.Run(upgrade, Variables(c));
        again.AssertClean();
        var result = again.Single<UpgradeResult>();
        Assert.True(result.Success);
        Assert.True(result.Resumed);
    }

    [Fact]
    public void Waits_on_node_calls_end_at_Ctrl_C_and_cancel_what_they_waited_for()
    {
        // The orchestrator's waits (the pre-flight reads every node at once) go through Invoke-KmAwait;
        // one blocking GetResult() there would hold Ctrl+C until the slowest node's timeout.
        using var ps = new PsEngine();
        using var shell = System.Management.Automation.PowerShell.Create();
        shell.Runspace = ps.Runspace;
        shell.AddScript("& (Get-Module OasisKeyManager).NestedModules[0] { $global:kmCancel = [System.Threading.CancellationTokenSource]::new(); " +
                        "Invoke-KmAwait ([System.Threading.Tasks.Task]::Delay(60000, $global:kmCancel.Token)) $global:kmCancel; 'not stopped' }");
        var run = shell.BeginInvoke();
        Thread.Sleep(1000);
        Assert.False(run.IsCompleted);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        shell.Stop();
        Assert.True(run.AsyncWaitHandle.WaitOne(TimeSpan.FromSeconds(10)));
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(3), $"stopping took {sw.Elapsed}");
        Assert.Equal(System.Management.Automation.PSInvocationState.Stopped, shell.InvocationStateInfo.State);
        var cancel = (CancellationTokenSource)ps.Runspace.SessionStateProxy.GetVariable("kmCancel");
        Assert.True(cancel.IsCancellationRequested);
    }

    [Fact]
    public void Ctrl_C_in_the_pre_flight_stops_at_once_though_a_node_hangs()
    {
        using var dir = new TempDir();
        // Node a's socket accepts connections and never answers: reading it would take the 15 s timeout.
        var hang = Path.Combine(dir.Path, "hang.sock");
        using var listener = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
        listener.Bind(new System.Net.Sockets.UnixDomainSocketEndPoint(hang));
        listener.Listen(8);
        Directory.CreateDirectory(Path.Combine(dir.Path, "a"));
        Directory.CreateDirectory(Path.Combine(dir.Path, "b"));
        using var ps = new PsEngine();
        using var shell = System.Management.Automation.PowerShell.Create();
        shell.Runspace = ps.Runspace;
        shell.AddScript($"$n = @(New-KmNode -Name a -DataDir '{dir.File("a")}' -Socket 'unix:{hang}' -RuntimeId {TestOrcs.TestnetKm}; " +
                        $"New-KmNode -Name b -DataDir '{dir.File("b")}' -RuntimeId {TestOrcs.TestnetKm}); " +
                        $"Invoke-KmSafeUpgrade -Node $n -BundlePath '{dir.File("new.orc")}' -JournalPath '{dir.File("j.json")}' -Confirm:$false");
        var run = shell.BeginInvoke();
        Thread.Sleep(3000);
        // (No look at shell.Streams here: enumerating a running pipeline's stream blocks until it ends.)
        Assert.False(run.IsCompleted, "the pre-flight should still be waiting for node a");
        var sw = System.Diagnostics.Stopwatch.StartNew();
        shell.Stop();
        Assert.True(run.AsyncWaitHandle.WaitOne(TimeSpan.FromSeconds(30)));
        var took = sw.Elapsed;
        Assert.True(took < TimeSpan.FromSeconds(3), $"stopping took {took}");
        Assert.True(shell.InvocationStateInfo.State == System.Management.Automation.PSInvocationState.Stopped,
            $"{shell.InvocationStateInfo.State} after {took}: {string.Join(" | ", shell.Streams.Error)}");
        Assert.False(File.Exists(dir.File("j.json")));
    }
}
