using System.Management.Automation.Runspaces;
using KmPs.Inventory;
using KmPs.Orchestration;
using KmPs.Tests.Infrastructure;

namespace KmPs.Tests.Scenarios;

/// <summary>
/// Invoke-KmSafeUpgrade -InventoryPath on a mixed inventory: km1 and km3 local, km2 and km4 with a
/// HostName, each on its own "machine" (a remote host process). New-PSSession -HostName would
/// start ssh; here a function of that name (PowerShell resolves functions before cmdlets) hands
/// out real PSRP sessions to the host processes instead, so everything past the SSH transport is
/// the real path. Every operation on km2 and km4 runs in their host process: their start and stop
/// scripts write that process's $PID, and killing the process breaks that node's step.
/// </summary>
public class SafeUpgradeRemoteTests
{
    private static readonly string[] RemoteNodes = { "km2", "km4" };

    private sealed class Mixed : IAsyncDisposable
    {
        public required SimCluster Cluster { get; init; }
        public required RemoteHost[] Hosts { get; init; }
        /// <summary>The new ORC as the admin host has it: another folder and file name than the nodes' bundles.</summary>
        public required string AdminOrc { get; init; }
        /// <summary>The admin host's engine with the module imported and New-PSSession standing in for SSH.</summary>
        public required PsEngine Engine { get; init; }
        /// <summary>The cluster's checksum before the upgrade.</summary>
        public string Before { get; set; } = "";
        public string Inventory => Path.Combine(Cluster.Root, "inventory-remote.json");

        public string Marker(string node) => Path.Combine(Cluster.Root, $"ran-{node}");

        public async ValueTask DisposeAsync()
        {
            Engine.Dispose();
            foreach (var h in Hosts) h.Dispose();
            await Cluster.DisposeAsync();
        }
    }

    /// <summary>The cluster, the two hosts and the admin engine, started at once; the inventory file written.</summary>
    private static async Task<Mixed> StartAsync(string km4StopExtra = "")
    {
        var hosts = RemoteHost.StartManyAsync(RemoteNodes.Length);
        var engine = Task.Run(() => new PsEngine());
        var cluster = await UpgradeHarness.ClusterAsync(4);
        var admin = Directory.CreateDirectory(Path.Combine(cluster.Root, "admin")).FullName;
        var orc = Path.Combine(admin, "km-next.orc");
        File.Copy(cluster.NewOrc, orc);
        var m = new Mixed { Cluster = cluster, Hosts = await hosts, AdminOrc = orc, Engine = await engine };
        m.Before = (await cluster.StatusAsync("km1")).Checksum!;
        WriteInventory(m, km4StopExtra);
        Connect(m, m.Hosts[0].Connect(), m.Hosts[1].Connect());
        return m;
    }

    /// <summary>
    /// The cluster's inventory with km2 and km4 on other machines (HostName, UserName), their scripts
    /// recording where they ran; <paramref name="km4StopExtra"/> runs after km4's stop script.
    /// </summary>
    private static void WriteInventory(Mixed m, string km4StopExtra = "")
    {
        var c = m.Cluster;
        var nodes = InventoryFile.ParseJson(File.ReadAllText(c.Layout.InventoryFile), c.Layout.InventoryFile);
        foreach (var n in nodes.Where(n => RemoteNodes.Contains(n.Name)))
        {
            string Mark(string what) => $"[System.IO.File]::AppendAllText('{m.Marker(n.Name)}', \"{what} $PID`n\"); ";
            n.HostName = $"{n.Name}.example.org";
            n.UserName = "oasis";
            n.StartScript = Mark("start") + n.StartScript;
            n.StopScript = Mark("stop") + n.StopScript + (n.Name == "km4" && km4StopExtra.Length > 0 ? "; " + km4StopExtra : "");
        }
        File.WriteAllText(m.Inventory, InventoryFile.ToJson(nodes));
    }

    /// <summary>New-PSSession -HostName km2.example.org / km4.example.org gives these sessions, and records the calls in $opened.</summary>
    private static void Connect(Mixed m, PSSession km2Host, PSSession km4Host) =>
        m.Engine.Run("""
            $global:opened = [System.Collections.Generic.List[string]]::new()
            $global:hostSessions = @{ 'km2.example.org' = $s1; 'km4.example.org' = $s2 }
            function global:New-PSSession {
                [CmdletBinding()]
                param([string] $HostName, [string] $UserName)
                $global:opened.Add("$UserName@$HostName")
                $global:hostSessions[$HostName]
            }
            """, new Dictionary<string, object?> { ["s1"] = km2Host, ["s2"] = km4Host }).AssertClean();

    private static string Upgrade(Mixed m) =>
        $"Invoke-KmSafeUpgrade -InventoryPath '{m.Inventory}' -BundlePath '{m.AdminOrc}' -JournalPath '{UpgradeHarness.Journal(m.Cluster)}' -TimeoutSec 30 -NodeTimeoutSec 30 -Confirm:$false";

    [Fact]
    public async Task Mixed_local_and_remote_inventory_upgrades_like_a_local_one()
    {
        await using var m = await StartAsync();
        var (c, before, ps) = (m.Cluster, m.Before, m.Engine);
        var r = ps.Run(Upgrade(m)).AssertClean();
        var result = r.Single<UpgradeResult>();

        await UpgradeHarness.AssertUpgradedAsync(c, result, before);
        Assert.Equal(new[] { "km3", "km4" }, result.Plan!.FirstHalf);
        Assert.All(result.Nodes, n => Assert.Equal(c.Options.NewVersion, n.AfterVersion));
        Assert.All(result.Nodes, n => Assert.NotNull(n.BackupPath));
        // One SSH session per remote host, opened by the run and closed when it ended.
        Assert.Equal(new[] { "oasis@km2.example.org", "oasis@km4.example.org" }, ps.Run("$opened").Output.Select(o => o.ToString()));
        Assert.All(m.Hosts.Select(h => h.Sessions[0]), s => Assert.NotEqual(RunspaceState.Opened, s.Runspace.RunspaceStateInfo.State));
        // km2 and km4 were stopped and started by their own host process, nowhere else.
        for (var i = 0; i < RemoteNodes.Length; i++)
            Assert.Equal(new[] { $"stop {m.Hosts[i].Pid}", $"start {m.Hosts[i].Pid}" }, File.ReadAllLines(m.Marker(RemoteNodes[i])));
        // The ORC was copied beside every node's bundle, remote and local alike (issue 9 #7): no config
        // names the admin host's file.
        var copied = Path.Combine(c.Layout.BundlesDir, "km-next.orc");
        Assert.Equal(File.ReadAllBytes(m.AdminOrc), File.ReadAllBytes(copied));
        foreach (var n in c.Names) Assert.Contains(copied, File.ReadAllText(c.Layout.ConfigFile(n)));
        foreach (var n in c.Names) Assert.DoesNotContain(m.AdminOrc, File.ReadAllText(c.Layout.ConfigFile(n)));
        Assert.Empty(Directory.GetFiles(c.Layout.BundlesDir, ".*upload*"));
    }

    [Fact]
    public async Task Session_lost_during_a_step_stops_the_run_safely_naming_the_node_and_a_new_session_resumes_it()
    {
        // km4's machine goes away in the middle of its Stop step, right after the node stopped.
        await using var m = await StartAsync(km4StopExtra: "[System.Diagnostics.Process]::GetCurrentProcess().Kill()");
        var (c, before, ps) = (m.Cluster, m.Before, m.Engine);
        var e = UpgradeHarness.SingleError(ps.Run(Upgrade(m)));

        Assert.True(m.Hosts[1].HasExited);
        Assert.Equal("UpgradeStopped,Invoke-KmSafeUpgrade", e.FullyQualifiedErrorId);
        var text = e.Exception.Message;
        Assert.Contains("Step 5 failed (Stop km4", text);
        Assert.Contains("Node 'km4': the remoting session", text);
        Assert.Contains("km4 on km4.example.org [untouched]: unknown: its remoting session is lost", text);
        Assert.Contains("km3 [done: Stop, Wipe, SetBundle, Start]", text);
        Assert.Contains("What to do: the session to km4's machine was lost", text);
        // No km4 step completed; the journal knows its Stop had begun, so a resumed run treats km4 as touched.
        var journal = File.ReadAllText(UpgradeHarness.Journal(c));
        Assert.DoesNotContain("\"key\": \"km4:", journal);
        Assert.Contains("\"inProgress\": \"km4:Stop\"", journal);
        // Nothing after the lost step ran: km4 keeps its state, the second half is untouched, the keys live.
        Assert.True(c.Audit().Nodes.Single(n => n.Name == "km4").HasState);
        await UpgradeHarness.AssertStoppedSafelyAsync(c, new[] { "km1", "km2" }, before);
        Assert.Equal($"stop {m.Hosts[1].Pid}", Assert.Single(File.ReadAllLines(m.Marker("km4"))));

        // The operator reconnects, starts km4 again on its machine and runs the same command: it resumes.
        using var again = await RemoteHost.StartAsync();
        WriteInventory(m);
        Connect(m, m.Hosts[0].Connect(), again.Connect());
        ps.Run($"$km4 = Import-KmNode '{m.Inventory}' | Where-Object {{ $_.Name -eq 'km4' }}; " +
               "$null = $km4 | Start-KmNode -Confirm:$false; $null = $km4 | Wait-KmNode -Until Ready -TimeoutSec 30").AssertClean();
        var result = ps.Run(Upgrade(m)).AssertClean().Single<UpgradeResult>();
        Assert.True(result.Resumed);
        await UpgradeHarness.AssertUpgradedAsync(c, result, before);
        Assert.Equal(new[] { $"stop {m.Hosts[1].Pid}", $"start {again.Pid}", $"stop {again.Pid}", $"start {again.Pid}" }, File.ReadAllLines(m.Marker("km4")));
    }

    [Fact]
    public async Task WhatIf_on_a_mixed_inventory_changes_no_byte_on_any_machine_and_copies_no_bundle()
    {
        await using var m = await StartAsync();
        var c = m.Cluster;
        var before = UpgradeHarness.Snapshot(c);
        var r = m.Engine.Run(Upgrade(m).Replace("-Confirm:$false", "-WhatIf")).AssertClean();
        var result = r.Single<UpgradeResult>();
        Assert.True(result.WhatIf);
        Assert.Equal(before, UpgradeHarness.Snapshot(c));
        Assert.False(File.Exists(Path.Combine(c.Layout.BundlesDir, "km-next.orc")));
        Assert.False(File.Exists(UpgradeHarness.Journal(c)));
        foreach (var n in RemoteNodes) Assert.False(File.Exists(m.Marker(n)), n + "'s lifecycle ran under -WhatIf");
    }

    [Fact]
    public async Task A_wrong_orc_is_refused_before_any_machine_is_touched()
    {
        await using var m = await StartAsync();
        var c = m.Cluster;
        var before = UpgradeHarness.Snapshot(c);
        var other = Path.Combine(c.Root, "admin", "compute.orc");
        KmPs.Bundles.OrcWriter.Write(other, new KmPs.Bundles.OrcSpec
        {
            RuntimeId = "000000000000000000000000000000000000000000000000a6d1e3ebf60dff6c", Version = new KmPs.Status.OasisVersion(0, 6, 0),
            Elf = new byte[] { 0x7f, 0x45, 0x4c, 0x46 }, Sgx = new byte[64],
        });
        var e = UpgradeHarness.SingleError(m.Engine.Run(Upgrade(m).Replace(m.AdminOrc, other)));
        Assert.True(e.FullyQualifiedErrorId == "PreflightFailed,Invoke-KmSafeUpgrade", e.FullyQualifiedErrorId + ": " + e.Exception.Message);
        Assert.Contains("not a key manager bundle", e.Exception.Message);
        Assert.Equal(before, UpgradeHarness.Snapshot(c));
        foreach (var n in RemoteNodes) Assert.False(File.Exists(m.Marker(n)));
        foreach (var n in c.Names) Assert.True((await c.StatusAsync(n)).IsReady, n);
    }

    [Fact]
    public async Task Replication_that_never_happens_on_a_remote_node_stops_the_run_with_the_second_half_untouched()
    {
        await using var m = await StartAsync();
        var c = m.Cluster;
        foreach (var n in c.Names) c.SetFaults(n, new KmPs.Simulator.Node.Faults { RefuseReplication = true });
        var e = UpgradeHarness.SingleError(m.Engine.Run(Upgrade(m).Replace("-TimeoutSec 30", "-TimeoutSec 6")));
        Assert.Equal("UpgradeStopped,Invoke-KmSafeUpgrade", e.FullyQualifiedErrorId);
        Assert.Contains("Timed out", e.Exception.Message);
        Assert.Contains("km2 on km2.example.org [untouched]", e.Exception.Message);
        // The first half (km3 here, km4 on its machine) went; km1 and km2 (on its machine) were never touched.
        Assert.False(File.Exists(m.Marker("km2")));
        Assert.Equal(new[] { $"stop {m.Hosts[1].Pid}", $"start {m.Hosts[1].Pid}" }, File.ReadAllLines(m.Marker("km4")));
        await UpgradeHarness.AssertStoppedSafelyAsync(c, new[] { "km1", "km2" }, m.Before);
    }
}
