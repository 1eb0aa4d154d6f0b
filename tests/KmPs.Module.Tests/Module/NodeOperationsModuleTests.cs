using System.Management.Automation;
using KmPs.Core.Diagnosis;
using KmPs.Core.Inventory;
using KmPs.Core.Replication;
using KmPs.Simulator.Shapes;
using KmPs.Core.Status;
using KmPs.Tests.Support;
using KmPs.Tests.Harness;

namespace KmPs.Module.Tests.Module;

public class NodeOperationsModuleTests
{
    [Fact]
    public async Task Test_KmReplication_reports_per_node_and_Quiet_gives_a_bool()
    {
        await using var a = await SnapshotNode.StartAsync(Statuses.Ready(SchemaGeneration.V24, "a"));
        await using var b = await SnapshotNode.StartAsync(Statuses.Ready(SchemaGeneration.V24, "b"));
        await using var c = await SnapshotNode.StartAsync(Statuses.Starting(SchemaGeneration.V24));
        using var ps = new PsEngine();
        var vars = new Dictionary<string, object?> { ["ok"] = new[] { a.Address, b.Address }, ["bad"] = new[] { a.Address, c.Address } };
        Assert.Equal(true, ps.Run("Test-KmReplication $ok -Quiet", vars).AssertClean().Output.Single().BaseObject);
        Assert.Equal(false, ps.Run("Test-KmReplication $bad -Quiet", vars).AssertClean().Output.Single().BaseObject);

        var report = ps.Run("$bad | Test-KmReplication -ExpectedVersion 0.3.3", vars).AssertClean().Single<ReplicationReport>();
        Assert.False(report.Ok);
        Assert.Equal(2, report.NodeCount);
        Assert.Equal(1, report.ReadyCount);
        var bad = report.Nodes.Single(n => !n.Ok);
        Assert.Contains(bad.Problems, p => p.Contains("not ready"));
        Assert.Contains(bad.Problems, p => p.Contains("init response"));
        Assert.Contains(bad.Problems, p => p.Contains("expected 0.3.3"));
        Assert.True(report.Nodes.Single(n => n.Ok).ChecksumAgrees);
    }

    [Fact]
    public async Task Test_KmReplication_Repeat_checks_again_one_epoch_later()
    {
        await using var a = await SnapshotNode.StartAsync(Statuses.Ready(SchemaGeneration.V22_2, "a"));
        using var ps = new PsEngine();
        var advance = Task.Run(async () =>
        {
            await Task.Delay(600);
            var s = Statuses.Ready(SchemaGeneration.V22_2, "a");
            s.Epoch = 101;
            a.Backend.State = s;
        });
        var r = ps.Run($"Test-KmReplication '{a.Address}' -Repeat 2 -MinEpochs 1 -TimeoutSec 20").AssertClean();
        await advance;
        var reports = r.Output.Select(o => (ReplicationReport)o.BaseObject).ToList();
        Assert.Equal(new[] { 1, 2 }, reports.Select(x => x.Round));
        Assert.Equal(new ulong[] { 100, 101 }, reports.Select(x => x.Epoch));
        Assert.All(reports, x => Assert.True(x.Ok));
    }

    [Fact]
    public async Task Wait_KmNode_returns_when_ready_and_times_out_with_what_it_saw()
    {
        await using var n = await SnapshotNode.StartAsync(Statuses.Starting(SchemaGeneration.V23_0));
        using var ps = new PsEngine();
        var flip = Task.Run(async () => { await Task.Delay(700); n.Backend.State = Statuses.Ready(SchemaGeneration.V23_0); });
        var r = ps.Run($"Wait-KmNode '{n.Address}' -Until Replicated -Version 0.3.3 -TimeoutSec 20 -PollIntervalMs 100").AssertClean();
        await flip;
        Assert.Equal("ready", r.Single<KmStatus>().Status);
        // Each bar fits 80 columns with its activity, and names the node it waits for.
        var bar = r.Progress.First(p => p.RecordType == ProgressRecordType.Processing);
        Assert.Equal("Waiting for 0.3.3 to replicate", bar.Activity);
        Assert.StartsWith($"0/1 done; {n.Address}: starting", bar.StatusDescription);
        Assert.True($"{bar.Activity} [{bar.StatusDescription.Replace(n.Address.ToString(), "km1")}]".Length <= 80, bar.StatusDescription);
        Assert.Equal(-1, bar.ParentActivityId);

        // Under a parent bar (as Invoke-KmSafeUpgrade draws its step bar).
        var nested = ps.Run($"Wait-KmNode '{n.Address}' -Until Ready -ParentProgressId 10 -PollIntervalMs 100").AssertClean();
        Assert.All(nested.Progress, p => Assert.Equal(10, p.ParentActivityId));

        var t = ps.Run($"Wait-KmNode '{n.Address}' -Until Epoch -Epoch 999 -TimeoutSec 1 -PollIntervalMs 100");
        var err = Assert.Single(t.Errors); // a terminating error of the statement
        Assert.Equal("WaitTimeout,KmPs.Cmdlets.WaitKmNodeCommand", err.FullyQualifiedErrorId);
        Assert.Contains("epoch 100", err.Exception.Message);
    }

    // Found by chaos (seed 2026, run 67): a resumed final verification failed at once on a registration that had
    // lapsed while its fault was on; the wait before it must wait for what Test-KmReplication checks, a fresh one too.
    [Fact]
    public async Task Wait_KmNode_until_Replicated_waits_while_a_registration_has_lapsed()
    {
        var lapsed = Statuses.Ready(SchemaGeneration.V24);
        lapsed.RegistrationExpiration = 99; // the node is at epoch 100: it stopped registering
        await using var n = await SnapshotNode.StartAsync(lapsed);
        using var ps = new PsEngine();
        var t = ps.Run($"Wait-KmNode '{n.Address}' -Until Replicated -Version 0.3.3 -TimeoutSec 1 -PollIntervalMs 100");
        var err = Assert.Single(t.Errors);
        Assert.Equal("WaitTimeout,KmPs.Cmdlets.WaitKmNodeCommand", err.FullyQualifiedErrorId);
        Assert.Contains("registration is stale (expires at epoch 99, the network is at epoch 100)", err.Exception.Message);

        // It registers again: the wait ends.
        var flip = Task.Run(async () => { await Task.Delay(700); n.Backend.State = Statuses.Ready(SchemaGeneration.V24); });
        var r = ps.Run($"Wait-KmNode '{n.Address}' -Until Replicated -Version 0.3.3 -TimeoutSec 20 -PollIntervalMs 100").AssertClean();
        await flip;
        Assert.Equal(102UL, r.Single<KmStatus>().RegistrationExpiration);
    }

    // Found by the schedule explorer (n3/g24/fault:KillNode@5:km1): an epoch wait that read one node ran to its
    // timeout when that node was killed. The epoch is the chain's: any node that answers tells it.
    [Fact]
    public async Task Wait_KmNode_until_an_epoch_is_not_held_by_a_node_that_does_not_answer()
    {
        await using var n = await SnapshotNode.StartAsync(Statuses.Ready(SchemaGeneration.V24));
        using var dead = new TempDir();
        var gone = "unix:" + Path.Combine(dead.Path, "internal.sock"); // first: its chain is the one the ETA would read
        using var ps = new PsEngine();
        var flip = Task.Run(async () => { await Task.Delay(700); var s = Statuses.Ready(SchemaGeneration.V24); s.Epoch = 101; n.Backend.State = s; });
        var r = ps.Run($"Wait-KmNode '{gone}','{n.Address}' -Until Epoch -Epoch 101 -TimeoutSec 20 -PollIntervalMs 100").AssertClean();
        await flip;
        Assert.Equal(101UL, r.Single<KmStatus>().Epoch); // the statuses of the nodes that answered
        Assert.Contains(r.Progress, p => p.RecordType == ProgressRecordType.Processing && p.StatusDescription.Contains("epoch"));

        // Ready and Replicated still hold for every node: the silent one times the wait out, named.
        var t = ps.Run($"Wait-KmNode '{gone}','{n.Address}' -Until Ready -TimeoutSec 1 -PollIntervalMs 100");
        var err = Assert.Single(t.Errors);
        Assert.Equal("WaitTimeout,KmPs.Cmdlets.WaitKmNodeCommand", err.FullyQualifiedErrorId);
        Assert.Contains("unreachable", err.Exception.Message);
    }

    [Fact]
    public async Task Wait_KmNode_is_cancelled_by_Stop()
    {
        await using var n = await SnapshotNode.StartAsync(Statuses.Starting(SchemaGeneration.V24));
        using var ps = new PsEngine();
        using var shell = PowerShell.Create();
        shell.Runspace = ps.Runspace;
        shell.AddScript($"Wait-KmNode '{n.Address}' -Until Ready -TimeoutSec 600");
        var async = shell.BeginInvoke();
        await Task.Delay(500);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        shell.Stop();
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5));
        Assert.Equal(PSInvocationState.Stopped, shell.InvocationStateInfo.State);
    }

    [Fact]
    public async Task Get_KmUpgradeEpoch_lists_deployments_and_refuses_unknown_versions()
    {
        await using var n = await SnapshotNode.StartAsync(Statuses.Ready(SchemaGeneration.V24));
        using var ps = new PsEngine();
        var all = ps.Run($"Get-KmUpgradeEpoch '{n.Address}'").AssertClean().Output.Select(o => (KmDeployment)o.BaseObject).ToList();
        Assert.Equal(new[] { "0.3.3", "0.4.0" }, all.Select(d => d.Version));
        Assert.True(all[0].IsActive);
        var v2 = ps.Run($"Get-KmUpgradeEpoch '{n.Address}' -Version 0.4.0").AssertClean().Single<KmDeployment>();
        Assert.Equal(120UL, v2.ValidFrom);
        Assert.Equal(20UL, v2.EpochsRemaining);
        Assert.False(v2.Reached);
        var r = ps.Run($"Get-KmUpgradeEpoch '{n.Address}' -Version 9.9.9");
        Assert.Equal("VersionNotDeployed,KmPs.Cmdlets.GetKmUpgradeEpochCommand", Assert.Single(r.Errors).FullyQualifiedErrorId);
    }

    [Fact]
    public async Task Get_KmUpgradeEpoch_shows_the_deployed_enclaves_and_the_25_bundle_checksum()
    {
        var a = new KmPs.Core.Sgx.EnclaveIdentity(new string('a', 64), new string('1', 64));
        var b = new KmPs.Core.Sgx.EnclaveIdentity(new string('b', 64), new string('2', 64));
        var status = Statuses.Ready(SchemaGeneration.V24);
        status.SoftwareVersion = "25.6.0";
        status.Deployments = new[]
        {
            new SimDeployment { Version = "0.3.3", ValidFrom = 10, Identity = a.ToString() },
            new SimDeployment { Version = "0.4.0", ValidFrom = 120, Identity = b.ToString(), ManifestHash = new string('c', 64) },
        };
        await using var n = await SnapshotNode.StartAsync(status);
        using var ps = new PsEngine();
        var all = ps.Run($"Get-KmUpgradeEpoch '{n.Address}'").AssertClean().Output.Select(o => (KmDeployment)o.BaseObject).ToList();
        Assert.Equal(new[] { a }, all[0].Enclaves);
        Assert.Equal(new[] { b }, all[1].Enclaves);
        Assert.Null(all[0].BundleChecksum);
        Assert.Equal(new string('c', 64), all[1].BundleChecksum);
        var text = string.Concat(ps.Run($"Get-KmUpgradeEpoch '{n.Address}' | Out-String -Width 80").AssertClean().Output.Select(o => o.ToString()));
        Assert.Contains("Enclave", text);
        Assert.Contains(b.Short, text);
        Assert.All(text.Split('\n'), l => Assert.True(l.TrimEnd().Length <= 80, l));
    }

    [Fact]
    public void Find_KmUpgradeProblem_recognises_the_real_panic_line()
    {
        using var dir = new TempDir();
        var log = dir.File("node.log");
        File.WriteAllLines(log, new[]
        {
            """{"level":"info","module":"node","msg":"starting","ts":"2022-11-11T13:38:00Z"}""",
            File.ReadAllText(TestVectors.File("enclave-panic.log")).Trim(),
            File.ReadAllText(TestVectors.File("enclave-panic.log")).Trim(),
            """{"level":"error","module":"worker/keymanager","msg":"failed to start","err":"worker/keymanager: expected a single runtime version (got 2)","ts":"2022-11-11T13:39:00Z"}""",
            "not json at all",
        });
        using var ps = new PsEngine();
        var found = ps.Run($"Find-KmUpgradeProblem -Path '{log}' -Name km1").AssertClean().Output.Select(o => (UpgradeProblem)o.BaseObject).ToList();
        Assert.Equal(new[] { "EnclavePanicAfterUpgrade", "TwoKeyManagerBundles" }, found.Select(f => f.Problem));
        Assert.Equal(2, found[0].Count);
        Assert.Equal("2022-11-11T13:38:18.805919693Z", found[0].FirstSeen);
        Assert.Contains("wipe", found[0].Fix);
        Assert.Equal("km1", found[0].Node);

        var missing = ps.Run($"Find-KmUpgradeProblem -Path '{dir.File("nope.log")}'");
        Assert.Equal("LogNotFound,KmPs.Cmdlets.FindKmUpgradeProblemCommand", Assert.Single(missing.Errors).FullyQualifiedErrorId);
    }

    [Fact]
    public void Other_cpu_hint_explains_the_panic()
    {
        var lines = new[]
        {
            """{"level":"warn","module":"runtime","msg":"DeoxysII unsealing failed: check if the CPU had changed; if yes, wipe 'worker-local-storage.badger.db' and resync/restart the node","ts":"t1"}""",
            File.ReadAllText(TestVectors.File("enclave-panic.log")).Trim(),
        };
        var found = UpgradeProblemFinder.Scan(lines, "n", "p");
        Assert.Equal("StateSealedOnOtherCpu", Assert.Single(found).Problem);
    }

    [Fact]
    public void New_KmNode_and_Import_KmNode_validate_and_pipe_by_property_name()
    {
        using var dir = new TempDir();
        var json = dir.File("nodes.json");
        File.WriteAllText(json, """
            { "nodes": [
              { "name": "km1", "dataDir": "/srv/km1/data", "runtimeId": "4000000000000000000000000000000000000000000000004a1a53dff2ae482d", "lifecycle": "Systemd", "unit": "oasis-km1.service" },
              { "name": "km2", "dataDir": "/srv/km2/data", "socket": "unix:/run/km2.sock" }
            ] }
            """);
        var psd1 = dir.File("nodes.psd1");
        File.WriteAllText(psd1, """
            @{ Nodes = @(
                @{ Name = 'km1'; DataDir = '/srv/km1/data'; StartScript = 'Start-Thing'; StopScript = 'Stop-Thing' }
                @{ Name = 'km2'; DataDir = '/srv/km2/data'; SystemdUnit = 'oasis-km2' }
            ) }
            """);
        using var ps = new PsEngine();
        var fromJson = ps.Run($"Import-KmNode '{json}'").AssertClean().Output.Select(o => (KmNode)o.BaseObject).ToList();
        Assert.Equal("unix:/srv/km1/data/internal.sock", fromJson[0].Socket);
        Assert.Equal(LifecycleKind.Systemd, fromJson[0].Lifecycle);
        Assert.Equal("unix:/run/km2.sock", fromJson[1].Socket);
        var fromPsd1 = ps.Run($"Import-KmNode '{psd1}'").AssertClean().Output.Select(o => (KmNode)o.BaseObject).ToList();
        Assert.Equal(LifecycleKind.Script, fromPsd1[0].Lifecycle);
        Assert.Equal(LifecycleKind.Systemd, fromPsd1[1].Lifecycle);

        var node = ps.Run("New-KmNode -Name km9 -DataDir /srv/km9/data -StartScript { 'up' } -StopScript { 'down' }").AssertClean().Single<KmNode>();
        Assert.Equal(LifecycleKind.Script, node.Lifecycle);
        Assert.Contains("'up'", node.StartScript);
    }

    [Theory]
    [InlineData("""{ "nodes": [] }""", "InventoryEmpty")]
    [InlineData("""{ "nodes": [ { "name": "a" } ] }""", "InvalidDataDir")]
    [InlineData("""{ "nodes": [ { "name": "a", "dataDir": "rel/data" } ] }""", "InvalidDataDir")]
    [InlineData("""{ "nodes": [ { "name": "a", "dataDir": "/" } ] }""", "InvalidDataDir")]
    [InlineData("""{ "nodes": [ { "name": "a", "dataDir": "/d", "socket": "tcp://1.2.3.4:1" } ] }""", "InvalidSocketAddress")]
    [InlineData("""{ "nodes": [ { "name": "a", "dataDir": "/d", "runtimeId": "00" } ] }""", "InvalidRuntimeId")]
    [InlineData("""{ "nodes": [ { "name": "a", "dataDir": "/d", "lifecycle": "Systemd" } ] }""", "InvalidLifecycle")]
    [InlineData("""{ "nodes": [ { "name": "a", "dataDir": "/d" }, { "name": "A", "dataDir": "/e" } ] }""", "InventoryDuplicate")]
    [InlineData("""{ "nodes": [ { "name": "a", "dataDir": "/d" }, { "name": "b", "dataDir": "/d/" } ] }""", "InventoryDuplicate")]
    [InlineData("""{ "nodes": [ { "name": "a", """, "InventoryInvalid")]
    public void Bad_inventory_files_are_clear_errors(string text, string errorId)
    {
        using var dir = new TempDir();
        var f = dir.File("inv.json");
        File.WriteAllText(f, text);
        using var ps = new PsEngine();
        var r = ps.Run($"Import-KmNode '{f}'");
        Assert.Empty(r.Output);
        Assert.NotEmpty(r.Errors);
        // Both entries of a duplicate are in doubt: one error each.
        Assert.All(r.Errors, e => Assert.Equal(errorId + ",KmPs.Cmdlets.ImportKmNodeCommand", e.FullyQualifiedErrorId));
    }

    [Fact]
    public void A_bad_entry_is_an_error_of_its_own_and_the_upgrade_refuses_the_incomplete_inventory()
    {
        // Issue 9 #12: the first bad entry used to end the import, and a piped upgrade then ran on a
        // subset while reporting "all nodes".
        using var dir = new TempDir();
        var f = dir.File("km.json");
        File.WriteAllText(f, """
            { "nodes": [
              { "name": "km1", "dataDir": "/srv/km1/data" },
              { "name": "km2", "dataDir": "srv/km2/data" },
              { "name": "km3", "dataDir": "/srv/km3/data" },
              { "name": "km4", "dataDir": "/srv/km4/data", "runtimeId": "xyz" }
            ] }
            """);
        using var ps = new PsEngine();
        var r = ps.Run($"Import-KmNode '{f}'");
        Assert.Equal(new[] { "km1", "km3" }, r.Output.Select(o => ((KmNode)o.BaseObject).Name));
        Assert.Equal(new[] { "InvalidDataDir,KmPs.Cmdlets.ImportKmNodeCommand", "InvalidRuntimeId,KmPs.Cmdlets.ImportKmNodeCommand" },
            r.Errors.Select(e => e.FullyQualifiedErrorId));
        Assert.Contains("km2", r.Errors[0].Exception.Message);
        Assert.Equal("km4", r.Errors[1].TargetObject);

        var before = TreeHash.Of(dir.Path);
        r = ps.Run($"Import-KmNode '{f}' -ErrorAction SilentlyContinue | Invoke-KmSafeUpgrade -BundlePath '{dir.File("none.orc")}' -Confirm:$false");
        var e = Assert.Single(r.Errors);
        Assert.Equal("InventoryIncomplete,Invoke-KmSafeUpgrade", e.FullyQualifiedErrorId);
        Assert.Contains("km2", e.Exception.Message);
        Assert.Contains("km4", e.Exception.Message);
        Assert.Equal(before, TreeHash.Of(dir.Path));
        // A subset chosen on purpose is refused the same way: the inventory is the list of nodes to upgrade.
        File.WriteAllText(f, """{ "nodes": [ { "name": "km1", "dataDir": "/srv/km1/data" }, { "name": "km3", "dataDir": "/srv/km3/data" } ] }""");
        r = ps.Run($"Import-KmNode '{f}' | Where-Object Name -ne km3 | Invoke-KmSafeUpgrade -BundlePath '{dir.File("none.orc")}' -Confirm:$false");
        Assert.Equal("InventoryIncomplete,Invoke-KmSafeUpgrade", Assert.Single(r.Errors).FullyQualifiedErrorId);
    }

    [Fact]
    public void Psd1_inventory_with_code_is_refused()
    {
        using var dir = new TempDir();
        var f = dir.File("inv.psd1");
        File.WriteAllText(f, "@{ Nodes = @( @{ Name = (Get-Process); DataDir = '/d' } ) }");
        using var ps = new PsEngine();
        Assert.Equal("InventoryInvalid,KmPs.Cmdlets.ImportKmNodeCommand", Assert.Single(ps.Run($"Import-KmNode '{f}'").Errors).FullyQualifiedErrorId);
    }

    [Fact]
    public async Task Stop_and_Start_KmNode_run_the_scripts_and_watch_the_socket()
    {
        var node = await SnapshotNode.StartAsync(Statuses.Ready(SchemaGeneration.V24));
        var dataDir = node.DataDir;
        using var ps = new PsEngine();
        // The stop script stops the in-process server through a .NET call, like a service manager would.
        var vars = new Dictionary<string, object?> { ["srv"] = node, ["dd"] = dataDir };
        var stop = ps.Run("""
            $n = New-KmNode -Name km1 -DataDir $dd -StartScript { throw 'start failed on purpose' } -StopScript { $srv.Server.DisposeAsync().AsTask().Wait() }
            $n | Stop-KmNode -WhatIf
            (Test-KmReplication $n.Socket -Quiet)
            $n | Stop-KmNode -Confirm:$false -TimeoutSec 10
            """, vars).AssertClean();
        Assert.Equal(true, stop.Output[0].BaseObject); // still up after -WhatIf
        var result = (KmLifecycleResult)stop.Output[1].BaseObject;
        Assert.Equal("Stopped", result.State);
        Assert.False(Path.Exists(Path.Combine(dataDir, "internal.sock")));

        var start = ps.Run("$n | Start-KmNode -Confirm:$false -TimeoutSec 5", vars);
        Assert.Equal("LifecycleScriptFailed,KmPs.Cmdlets.StartKmNodeCommand", Assert.Single(start.Errors).FullyQualifiedErrorId);
        Assert.Contains("start failed on purpose", start.Errors[0].Exception.Message);

        var none = ps.Run("New-KmNode -Name km2 -DataDir $dd | Stop-KmNode -Confirm:$false", vars);
        Assert.Equal("NoLifecycle,KmPs.Cmdlets.StopKmNodeCommand", Assert.Single(none.Errors).FullyQualifiedErrorId);
    }
}

public class LifecycleConfirmTests
{
    [Theory]
    [InlineData("Start-KmNode", "-WhatIf", null)]
    [InlineData("Stop-KmNode", "-WhatIf", null)]
    [InlineData("Start-KmNode", "-Confirm", 2)]
    [InlineData("Stop-KmNode", "-Confirm", 3)]
    public void WhatIf_and_No_run_no_lifecycle_script(string command, string switchText, int? answer)
    {
        using var dir = new TempDir();
        var marker = dir.File("ran");
        var host = answer is null ? new RecordingHost() : new RecordingHost(answer.Value);
        using var ps = new PsEngine(host);
        var r = ps.Run($$"""
            $n = New-KmNode -Name km1 -DataDir '{{dir.Path}}' -StartScript { [IO.File]::WriteAllText('{{marker}}', 'start') } -StopScript { [IO.File]::WriteAllText('{{marker}}', 'stop') }
            $n | {{command}} {{switchText}} -TimeoutSec 1
            """).AssertClean();
        Assert.Empty(r.Output);
        Assert.False(File.Exists(marker));
        Assert.Equal(answer is null ? 0 : 1, host.Prompts.Count);
    }

    [Fact]
    public void Restore_WhatIf_and_No_change_nothing()
    {
        using var d = new FakeDataDir();
        var backup = Path.Combine(d.RuntimeDir, "worker-local-storage.badger.db.backup-20260101T000000Z");
        Directory.Move(d.StorageDir, backup);
        var before = d.Hash();
        var vars = new Dictionary<string, object?> { ["dd"] = d.DataDir, ["rid"] = d.RuntimeId };
        using (var ps = new PsEngine())
            Assert.Empty(ps.Run("Restore-KmLocalState -DataDir $dd -RuntimeId $rid -WhatIf", vars).AssertClean().Output);
        var no = new RecordingHost(2);
        using (var ps = new PsEngine(no))
            Assert.Empty(ps.Run("Restore-KmLocalState -DataDir $dd -RuntimeId $rid -Confirm", vars).AssertClean().Output);
        Assert.Single(no.Prompts);
        Assert.Equal(before, d.Hash());
        using (var ps = new PsEngine(new RecordingHost(0)))
            Assert.Single(ps.Run("Restore-KmLocalState -DataDir $dd -RuntimeId $rid -Confirm", vars).AssertClean().Output);
        Assert.True(Directory.Exists(d.StorageDir));
    }
}
