using KmPs.Core.Inventory;
using KmPs.Core.Orchestration;
using KmPs.Core.Status;
using KmPs.Scenario.Tests.Remoting;
using KmPs.Tests.Support;
using KmPs.Tests.Harness;

namespace KmPs.Scenario.Tests.Scenarios;

/// <summary>
/// Invoke-KmSafeUpgrade -InventoryPath on a mixed inventory over real SSH: km1 and km3 are local
/// (this machine, root), km2 and km4 each on an SSH machine of its own (an unprivileged user owning
/// the node's folder and its 0700 data dir, the module on that user's module path). Import-KmNode
/// opens the sessions with the entries' HostName, UserName, Port and KeyFilePath; every operation on
/// km2 and km4 runs on their machine as their user. Their start and stop scripts record who ran them
/// (user and pid), and their node processes run under that user's uid.
/// </summary>
[Collection(SshCollection.Name)]
public class SafeUpgradeRemoteTests(SshFixture fixture)
{
    private SshMachines Ssh => fixture.Ssh;

    private sealed class Mixed : IAsyncDisposable
    {
        public required SimCluster Cluster { get; init; }
        /// <summary>The remote nodes and their machines.</summary>
        public required Dictionary<string, SshMachines.Machine> Machines { get; init; }
        /// <summary>The inventory entries as the cluster's machines serve them (without the test's markers).</summary>
        public required List<KmNode> Nodes { get; init; }
        /// <summary>The new ORC as the admin host has it: another folder and file name than the nodes' bundles.</summary>
        public required string AdminOrc { get; init; }
        /// <summary>The admin host's engine with the module imported, set up to reach the SSH machines.</summary>
        public required PsEngine Engine { get; init; }
        /// <summary>The cluster's checksum before the upgrade.</summary>
        public required string Before { get; init; }
        public string Inventory => Path.Combine(Cluster.Root, "inventory-remote.json");
        public string Marker(string node) => Path.Combine(Cluster.Root, "markers", node);

        /// <summary>"stop" or "start", the user that ran the script and its pid, one per run of a lifecycle script of the node.</summary>
        public List<(string What, string User, int Pid)> Marks(string node) =>
            !File.Exists(Marker(node)) ? new() : File.ReadAllLines(Marker(node)).Select(l => l.Split(' ')).Select(f => (f[0], f[1], int.Parse(f[2]))).ToList();

        public int NodeUid(string node) => SshMachines.ProcessUid(int.Parse(File.ReadAllText(Cluster.Layout.PidFile(node)).Trim()));

        public async ValueTask DisposeAsync()
        {
            Engine.Run("Get-PSSession | Remove-PSSession");
            Engine.Dispose();
            await Cluster.DisposeAsync();
        }
    }

    /// <summary>The cluster with km2 and km4 on the first two machines, the admin engine and the inventory file.</summary>
    private async Task<Mixed> StartAsync(string km4StopExtra = "")
    {
        var engine = Task.Run(() => new PsEngine());
        var cluster = await SimCluster.StartAsync(4, SchemaGeneration.V24, UpgradeHarness.EpochMs, start: false);
        try
        {
            var machines = new Dictionary<string, SshMachines.Machine> { ["km2"] = Ssh.Machines[0], ["km4"] = Ssh.Machines[1] };
            var nodes = await Ssh.StartClusterAsync(cluster.Layout, machines);
            var admin = Directory.CreateDirectory(Path.Combine(cluster.Root, "admin")).FullName;
            var orc = Path.Combine(admin, "km-next.orc");
            File.Copy(cluster.NewOrc, orc);
            UnixModes.SetMode(Directory.CreateDirectory(Path.Combine(cluster.Root, "markers")).FullName, "1777");
            var m = new Mixed
            {
                Cluster = cluster, Machines = machines, Nodes = nodes, AdminOrc = orc, Engine = await engine,
                Before = (await cluster.StatusAsync("km1")).Checksum!,
            };
            WriteInventory(m, km4StopExtra);
            return m;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// The inventory, the remote nodes' scripts recording who ran them; <paramref name="km4StopExtra"/>
    /// runs after km4's stop script; <paramref name="users"/> replaces the SSH user of some nodes.
    /// </summary>
    private static void WriteInventory(Mixed m, string km4StopExtra = "", Dictionary<string, string>? users = null)
    {
        var nodes = InventoryFile.ParseJson(InventoryFile.ToJson(m.Nodes), m.Inventory);
        foreach (var n in nodes.Where(n => m.Machines.ContainsKey(n.Name)))
        {
            string Mark(string what) => $"[System.IO.File]::AppendAllText('{m.Marker(n.Name)}', \"{what} $([Environment]::UserName) $PID`n\"); ";
            n.StartScript = Mark("start") + n.StartScript;
            n.StopScript = Mark("stop") + n.StopScript + (n.Name == "km4" && km4StopExtra.Length > 0 ? "; " + km4StopExtra : "");
            if (users?.TryGetValue(n.Name, out var user) == true) n.UserName = user;
        }
        File.WriteAllText(m.Inventory, InventoryFile.ToJson(nodes));
    }

    /// <summary>Nothing changed: no byte of the cluster, no journal, no script run on any machine, every node still ready.</summary>
    private static async Task AssertUntouchedAsync(Mixed m, string before)
    {
        var c = m.Cluster;
        Assert.Equal(before, UpgradeHarness.Snapshot(c));
        Assert.False(File.Exists(UpgradeHarness.Journal(c)));
        foreach (var n in m.Machines.Keys) Assert.Empty(m.Marks(n));
        foreach (var n in c.Names) Assert.True((await c.StatusAsync(n)).IsReady, n);
    }

    private static string Upgrade(Mixed m) =>
        $"Invoke-KmSafeUpgrade -InventoryPath '{m.Inventory}' -BundlePath '{m.AdminOrc}' -JournalPath '{UpgradeHarness.Journal(m.Cluster)}' -TimeoutSec 30 -NodeTimeoutSec 30 -Confirm:$false";

    /// <summary>How many SSH logins each user made since the sshd log had <paramref name="from"/> characters.</summary>
    private Dictionary<string, int> Logins(int from) =>
        Ssh.SshdLog[from..].Split('\n').Where(l => l.StartsWith("Accepted publickey for ", StringComparison.Ordinal))
            .GroupBy(l => l.Split(' ')[3]).ToDictionary(g => g.Key, g => g.Count());

    [Fact]
    public async Task Mixed_local_and_remote_inventory_upgrades_like_a_local_one_each_remote_node_run_by_its_machines_user()
    {
        await using var m = await StartAsync();
        var (c, ps) = (m.Cluster, m.Engine);
        var log = Ssh.SshdLog.Length;
        var result = ps.Run(Upgrade(m)).AssertClean().Single<UpgradeResult>();

        await UpgradeHarness.AssertUpgradedAsync(c, result, m.Before);
        Assert.Equal(new[] { "km3", "km4" }, result.Plan!.FirstHalf);
        Assert.All(result.Nodes, n => Assert.Equal(c.Options.NewVersion, n.AfterVersion));
        Assert.All(result.Nodes, n => Assert.NotNull(n.BackupPath));
        // One SSH login per remote machine, by its user; the run closed its sessions when it ended.
        Assert.Equal(m.Machines.Values.ToDictionary(x => x.UserName, _ => 1), Logins(log));
        Assert.Empty(ps.Run("Get-PSSession | Where-Object State -eq Opened").Output);
        foreach (var (node, machine) in m.Machines)
        {
            // Stopped and started by the machine's user, both in the run's one session there; the node
            // it started runs as that user, and its new state is that user's, in its 0700 data dir.
            var marks = m.Marks(node);
            Assert.Equal(new[] { ("stop", machine.UserName), ("start", machine.UserName) }, marks.Select(x => (x.What, x.User)));
            Assert.Equal(marks[0].Pid, marks[1].Pid);
            Assert.Equal(machine.Uid, m.NodeUid(node));
            Assert.Equal("rwx------", UnixModes.Mode(c.Layout.DataDir(node)));
            Assert.Equal(machine.Uid, SshMachines.OwnerUid(c.Layout.LocalStorageDir(node, c.Spec.KmRuntimeId)));
        }
        Assert.Equal(0, m.NodeUid("km1"));
        // The ORC was copied beside every node's bundle, remote and local alike: no config names the admin host's file.
        var copied = Path.Combine(c.Layout.BundlesDir, "km-next.orc");
        Assert.Equal(File.ReadAllBytes(m.AdminOrc), File.ReadAllBytes(copied));
        foreach (var n in c.Names) Assert.Contains(copied, File.ReadAllText(c.Layout.ConfigFile(n)));
        foreach (var n in c.Names) Assert.DoesNotContain(m.AdminOrc, File.ReadAllText(c.Layout.ConfigFile(n)));
        Assert.Empty(Directory.GetFiles(c.Layout.BundlesDir, ".*upload*"));
    }

    [Fact]
    public async Task Session_killed_during_a_step_stops_the_run_safely_naming_the_node_and_the_same_command_resumes_it()
    {
        // km4's session dies in the middle of its Stop step, right after the node stopped: its pwsh on the machine is killed.
        await using var m = await StartAsync(km4StopExtra: "[System.Diagnostics.Process]::GetCurrentProcess().Kill()");
        var (c, ps) = (m.Cluster, m.Engine);
        var km4 = m.Machines["km4"];
        var e = UpgradeHarness.SingleError(ps.Run(Upgrade(m)));

        Assert.Equal("UpgradeStopped,Invoke-KmSafeUpgrade", e.FullyQualifiedErrorId);
        var text = e.Exception.Message;
        Assert.Contains("Step 5 failed (Stop km4", text);
        Assert.Contains("Node 'km4': the remoting session", text);
        Assert.Contains($"km4 on {km4.HostName} [untouched]: unknown: its remoting session is lost", text);
        Assert.Contains("km3 [done: Stop, Wipe, SetBundle, Start]", text);
        Assert.Contains("What to do: the session to km4's machine was lost", text);
        var killed = Assert.Single(m.Marks("km4"));
        Assert.Equal(("stop", km4.UserName), (killed.What, killed.User));
        Assert.False(Directory.Exists($"/proc/{killed.Pid}"), "the session's pwsh still runs");
        // No km4 step completed; the journal knows its Stop had begun, so a resumed run treats km4 as touched.
        var journal = File.ReadAllText(UpgradeHarness.Journal(c));
        Assert.DoesNotContain("\"key\": \"km4:", journal);
        Assert.Contains("\"inProgress\": \"km4:Stop\"", journal);
        // Nothing after the lost step ran: km4 keeps its state, the second half is untouched, the keys live.
        Assert.True(c.Audit().Nodes.Single(n => n.Name == "km4").HasState);
        await UpgradeHarness.AssertStoppedSafelyAsync(c, new[] { "km1", "km2" }, m.Before);

        // The operator starts km4 again on its machine and runs the same command: new sessions, and it resumes.
        WriteInventory(m);
        ps.Run($"$km4 = Import-KmNode '{m.Inventory}' | Where-Object {{ $_.Name -eq 'km4' }}; " +
               "$null = $km4 | Start-KmNode -Confirm:$false; $null = $km4 | Wait-KmNode -Until Ready -TimeoutSec 30; Remove-PSSession $km4.Session").AssertClean();
        var result = ps.Run(Upgrade(m)).AssertClean().Single<UpgradeResult>();
        Assert.True(result.Resumed);
        await UpgradeHarness.AssertUpgradedAsync(c, result, m.Before);
        var marks = m.Marks("km4");
        Assert.Equal(new[] { "stop", "start", "stop", "start" }, marks.Select(x => x.What));
        Assert.All(marks, x => Assert.Equal(km4.UserName, x.User));
        Assert.Equal(marks[2].Pid, marks[3].Pid); // the resumed run's one session
        Assert.DoesNotContain(killed.Pid, marks.Skip(1).Select(x => x.Pid));
        Assert.Equal(km4.Uid, m.NodeUid("km4"));
    }

    [Fact]
    public async Task WhatIf_on_a_mixed_inventory_changes_no_byte_on_any_machine_and_copies_no_bundle()
    {
        await using var m = await StartAsync();
        var c = m.Cluster;
        var before = UpgradeHarness.Snapshot(c);
        var pids = c.Names.ToDictionary(n => n, n => File.ReadAllText(c.Layout.PidFile(n)));
        var result = m.Engine.Run(Upgrade(m).Replace("-Confirm:$false", "-WhatIf")).AssertClean().Single<UpgradeResult>();
        Assert.True(result.WhatIf);
        Assert.Equal(before, UpgradeHarness.Snapshot(c));
        Assert.Equal(pids, c.Names.ToDictionary(n => n, n => File.ReadAllText(c.Layout.PidFile(n))));
        Assert.False(File.Exists(Path.Combine(c.Layout.BundlesDir, "km-next.orc")));
        Assert.False(File.Exists(UpgradeHarness.Journal(c)));
        foreach (var n in m.Machines.Keys) Assert.Empty(m.Marks(n));
        foreach (var n in c.Names) Assert.True((await c.StatusAsync(n)).IsReady, n);
    }

    [Fact]
    public async Task A_wrong_orc_is_refused_before_any_machine_is_touched()
    {
        await using var m = await StartAsync();
        var c = m.Cluster;
        var before = UpgradeHarness.Snapshot(c);
        var other = Path.Combine(c.Root, "admin", "compute.orc");
        KmPs.Core.Bundles.OrcWriter.Write(other, new KmPs.Core.Bundles.OrcSpec
        {
            RuntimeId = "000000000000000000000000000000000000000000000000a6d1e3ebf60dff6c", Version = new OasisVersion(0, 6, 0),
            Elf = new byte[] { 0x7f, 0x45, 0x4c, 0x46 }, Sgx = new byte[64],
        });
        var e = UpgradeHarness.SingleError(m.Engine.Run(Upgrade(m).Replace(m.AdminOrc, other)));
        Assert.True(e.FullyQualifiedErrorId == "PreflightFailed,Invoke-KmSafeUpgrade", e.FullyQualifiedErrorId + ": " + e.Exception.Message);
        Assert.Contains("not a key manager bundle", e.Exception.Message);
        await AssertUntouchedAsync(m, before);
    }

    [Fact]
    public async Task An_SSH_user_without_the_right_to_a_nodes_data_dir_is_refused_before_any_machine_is_touched()
    {
        await using var m = await StartAsync();
        var c = m.Cluster;
        // km2's entry logs in as another user: sshd lets it in, km2's data dir (0700, its own user's) does not.
        var intruder = Ssh.Machines[2];
        WriteInventory(m, users: new() { ["km2"] = intruder.UserName });
        var before = UpgradeHarness.Snapshot(c);
        var e = UpgradeHarness.SingleError(m.Engine.Run(Upgrade(m)));
        Assert.True(e.FullyQualifiedErrorId == "PreflightFailed,Invoke-KmSafeUpgrade", e.FullyQualifiedErrorId + ": " + e.Exception.Message);
        // Both of what km2's user cannot do, named, with the error ids: look into the data dir, see the socket.
        var text = e.Exception.Message;
        void Says(string part) => Assert.True(text.Contains(part, StringComparison.Ordinal), $"'{part}' not in: {text}");
        Says($"km2: Whether '{c.Layout.DataDir("km2")}/runtimes' exists cannot be seen by this user (permission denied)");
        Says($"(on {m.Machines["km2"].HostName}) (LocalStateUnreadable)");
        Says($"km2: cannot read its status: Whether a control socket is at {c.Layout.SocketPath("km2")} cannot be seen by this user");
        Assert.DoesNotContain("km4", text);
        await AssertUntouchedAsync(m, before);
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
        Assert.Contains($"km2 on {m.Machines["km2"].HostName} [untouched]", e.Exception.Message);
        // The first half (km3 here, km4 on its machine) went; km1 and km2 (on its machine) were never touched.
        Assert.Empty(m.Marks("km2"));
        Assert.Equal(new[] { "stop", "start" }, m.Marks("km4").Select(x => x.What));
        await UpgradeHarness.AssertStoppedSafelyAsync(c, new[] { "km1", "km2" }, m.Before);
    }
}
