using KmPs.Core.Config;
using KmPs.Core.Diagnosis;
using KmPs.Simulator.Cluster;
using KmPs.Simulator.Node;
using KmPs.Core.Status;
using KmPs.Core;
using KmPs.Tests.Support;
using KmPs.Tests.Harness;

namespace KmPs.Scenario.Tests.Scenarios;

/// <summary>The simulated key manager node, as real processes: sealing, replication, faults, lifecycle.</summary>
public class SimulatorScenarioTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);   // an upper bound only: a node process can take 10-20 s to start on 2 busy cores

    private static void UpgradeOnDisk(SimCluster c, string node, bool wipe)
    {
        if (wipe) Directory.Delete(c.Layout.LocalStorageDir(node, c.Spec.KmRuntimeId), true);
        var config = NodeConfig.Load(c.Layout.ConfigFile(node));
        ConfigEditor.Save(ConfigEditor.SetKmBundlePath(config, c.NewOrc));
    }

    [Theory]
    [InlineData(SchemaGeneration.V22_2)]
    [InlineData(SchemaGeneration.V23_0)]
    [InlineData(SchemaGeneration.V24)]
    public async Task Bootstrap_generates_once_and_every_node_replicates(SchemaGeneration g)
    {
        await using var c = await SimCluster.StartAsync(3, g);
        var statuses = await Task.WhenAll(c.Names.Select(c.StatusAsync));
        Assert.All(statuses, s => Assert.Equal(KmStatusWords.Ready, s.Status));
        Assert.All(statuses, s => Assert.Equal(g, s.SchemaGeneration));
        Assert.Single(statuses.Select(s => s.Checksum).Distinct());
        Assert.All(statuses, s => Assert.Equal(new OasisVersion(0, 5, 0), s.RegisteredVersion));
        if (g != SchemaGeneration.V22_2) Assert.All(statuses, s => Assert.Equal(s.Checksum, s.ConsensusChecksum));
        var audit = c.Audit();
        Assert.Equal(3, audit.Holders);
        Assert.Equal(statuses[0].Checksum, audit.ExpectedChecksum);
        // The config layout matches the generation (22.2 flag style vs 23.0+ config.yml).
        Assert.Equal(g == SchemaGeneration.V22_2 ? ConfigLayout.V22_2 : ConfigLayout.V23, NodeConfig.Load(c.Layout.ConfigFile("km1")).Layout);
    }

    [Fact]
    public async Task A_running_node_holds_its_state_the_way_badger_does_and_a_wipe_with_the_wrong_socket_is_refused()
    {
        await using var c = await SimCluster.StartAsync(2);
        var storage = c.Layout.LocalStorageDir("km1", c.Spec.KmRuntimeId);
        // Badger's pid file, and the folder itself flock'ed: util-linux's flock cannot take it.
        var pid = int.Parse(File.ReadAllText(Path.Combine(storage, "LOCK")).Trim());
        var flock = System.Diagnostics.Process.Start("flock", ["-x", "-n", storage, "true"])!;
        flock.WaitForExit();
        Assert.Equal(1, flock.ExitCode);

        var before = TreeHash.Of(storage);
        using var ps = new PsEngine();
        var r = ps.Run("Clear-KmLocalState -DataDir $dd -RuntimeId $rid -Socket unix:/tmp/not-the-node.sock -RequirePeer $peer -Confirm:$false",
            new Dictionary<string, object?> { ["dd"] = c.Layout.DataDir("km1"), ["rid"] = c.Spec.KmRuntimeId, ["peer"] = c.Socket("km2") });
        var e = Assert.Single(r.Errors);
        Assert.Equal("LocalStateInUse,KmPs.Cmdlets.ClearKmLocalStateCommand", e.FullyQualifiedErrorId);
        Assert.Contains($"pid {pid}", e.Exception.Message);
        Assert.Equal(before, TreeHash.Of(storage));
        Assert.Equal(KmStatusWords.Ready, (await c.StatusAsync("km1")).Status);
    }

    [Fact]
    public async Task Wiped_v2_node_replicates_only_after_the_upgrade_epoch()
    {
        await using var c = await SimCluster.StartAsync(3, upgradeIn: 1000);
        var checksum = (await c.StatusAsync("km1")).Checksum!;
        NodeProcesses.Stop(c.Layout, "km3", Wait);
        UpgradeOnDisk(c, "km3", wipe: true);
        NodeProcesses.Start(c.Layout, "km3", Wait);
        // The runtime owner moves the upgrade epoch to a few epochs from now.
        var upgradeEpoch = ClusterControl.Deploy(c.Layout, c.Options.NewVersion, 6);
        var early = await SimCluster.EventuallyAsync(() => c.StatusAsync("km3"), s => s.RegisteredVersion is not null, Wait, "pre-registration");
        Assert.True(early.Epoch < upgradeEpoch);
        Assert.Equal(KmStatusWords.Starting, early.Status);
        Assert.Null(early.InitResponse);
        Assert.Equal(new OasisVersion(0, 6, 0), early.RegisteredVersion); // pre-registered, extra_info null

        var ready = await SimCluster.EventuallyAsync(() => c.StatusAsync("km3"), s => s.IsReady, Wait, "km3 ready");
        Assert.True(ready.Epoch >= upgradeEpoch, $"ready at epoch {ready.Epoch}, before the upgrade epoch {upgradeEpoch}");
        Assert.Equal(checksum, ready.Checksum);
        Assert.Contains("replicated master secret from", c.Log("km3"));
        Assert.Equal(3, c.Audit().Holders);
    }

    [Fact]
    public async Task Forgotten_wipe_panics_with_the_real_log_line_and_never_becomes_ready()
    {
        await using var c = await SimCluster.StartAsync(2, upgradeIn: 2);
        NodeProcesses.Stop(c.Layout, "km2", Wait);
        UpgradeOnDisk(c, "km2", wipe: false);
        NodeProcesses.Start(c.Layout, "km2", Wait);
        await SimCluster.EventuallyAsync(() => Task.FromResult(c.Log("km2")), l => l.Contains("Enclave panicked"), Wait, "panic logged");
        await Task.Delay(c.Options.EpochIntervalMs * 4);
        Assert.Equal(KmStatusWords.Starting, (await c.StatusAsync("km2")).Status);

        var panic = File.ReadLines(c.Layout.LogFile("km2")).First(l => l.Contains("Enclave panicked"));
        var vector = File.ReadAllText(TestVectors.File("enclave-panic.log")).Trim();
        Assert.Equal(vector[..vector.IndexOf(",\"ts\"", StringComparison.Ordinal)], panic[..panic.IndexOf(",\"ts\"", StringComparison.Ordinal)]);
        var found = UpgradeProblemFinder.Scan(File.ReadLines(c.Layout.LogFile("km2")), "km2", c.Layout.LogFile("km2"));
        Assert.Equal("EnclavePanicAfterUpgrade", Assert.Single(found).Problem);
        // The old state is still there and the old enclave could still read it.
        Assert.Single(c.Audit().Nodes.Single(n => n.Name == "km2").RecoverableCopies);
    }

    [Fact]
    public async Task State_copied_to_another_cpu_cannot_be_unsealed()
    {
        await using var c = await SimCluster.StartAsync(2);
        NodeProcesses.Stop(c.Layout, "km2", Wait);
        File.WriteAllBytes(c.Layout.CpuFile("km2"), System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        NodeProcesses.Start(c.Layout, "km2", Wait);
        await SimCluster.EventuallyAsync(() => Task.FromResult(c.Log("km2")), l => l.Contains("Enclave panicked"), Wait, "panic logged");
        var found = UpgradeProblemFinder.Scan(File.ReadLines(c.Layout.LogFile("km2")), "km2", "");
        Assert.Equal("StateSealedOnOtherCpu", Assert.Single(found).Problem);
        var audit = c.Audit();
        Assert.False(audit.Nodes.Single(n => n.Name == "km2").HoldsKeyMaterial);
        Assert.Equal(1, audit.Holders);
    }

    [Fact]
    public async Task A_launched_node_is_found_even_if_its_start_command_dies_before_recording_it()
    {
        // What a start command killed right after launching leaves behind (a stopped pipeline, a chaos
        // kill): a node process, and no starter left to record its pid. A second start must find it
        // rather than launch a second process on the same data dir.
        await using var c = await SimCluster.StartAsync(2, start: false);
        var pid = NodeProcesses.Launch(c.Layout, "km1");
        try
        {
            await SimCluster.EventuallyAsync(() => Task.FromResult(NodeProcesses.IsRunning(c.Layout, "km1", out var p) ? p : 0),
                p => p == pid, TimeSpan.FromSeconds(10), "km1 findable by its pid file");
            Assert.Equal(pid, NodeProcesses.Start(c.Layout, "km1", Wait));
            Assert.True(NodeProcesses.Stop(c.Layout, "km1", Wait));
            Assert.False(NodeProcesses.IsRunning(c.Layout, "km1", out _));
        }
        finally { try { System.Diagnostics.Process.GetProcessById(pid).Kill(); } catch (ArgumentException) { } }
    }

    [Fact]
    public async Task Two_key_manager_bundles_is_a_startup_error()
    {
        await using var c = await SimCluster.StartAsync(2, start: false);
        var cfg = c.Layout.ConfigFile("km1");
        File.WriteAllText(cfg, File.ReadAllText(cfg).Replace($"    - \"{c.OldOrc}\"", $"    - \"{c.OldOrc}\"\n    - \"{c.NewOrc}\""));
        var e = Assert.Throws<InvalidOperationException>(() => NodeProcesses.Start(c.Layout, "km1", Wait));
        Assert.Contains("exited during startup", e.Message);
        Assert.Contains("expected a single runtime version (got 2)", c.Log("km1"));
        var found = UpgradeProblemFinder.Scan(File.ReadLines(c.Layout.LogFile("km1")), "km1", "");
        Assert.Equal("TwoKeyManagerBundles", Assert.Single(found).Problem);
    }

    [Fact]
    public async Task Unknown_key_in_a_23_config_is_a_startup_error()
    {
        await using var c = await SimCluster.StartAsync(2, SchemaGeneration.V23_0, start: false);
        File.AppendAllText(c.Layout.ConfigFile("km1"), "datadir: /somewhere\n");
        Assert.Throws<InvalidOperationException>(() => NodeProcesses.Start(c.Layout, "km1", Wait));
        Assert.Contains("unknown configuration key 'datadir'", c.Log("km1"));
    }

    [Fact]
    public async Task Digest_mismatch_refuses_to_start()
    {
        await using var c = await SimCluster.StartAsync(2, start: false);
        var bytes = File.ReadAllBytes(c.OldOrc);
        bytes[^100] ^= 0xff; // inside the zip's last stored file or directory: either way the bundle is bad
        File.WriteAllBytes(c.OldOrc, bytes);
        Assert.Throws<InvalidOperationException>(() => NodeProcesses.Start(c.Layout, "km1", Wait));
        Assert.Contains("failed to start node", c.Log("km1"));
    }

    [Fact]
    public async Task Shutdown_through_the_control_api_deregisters_then_exits_and_sigterm_exits_now()
    {
        await using var c = await SimCluster.StartAsync(2);
        var client = KmPs.Core.Control.ControlClient.For(KmPs.Core.Control.SocketAddress.Parse(c.Socket("km2")));
        await client.RequestShutdownAsync(wait: true, TimeSpan.FromSeconds(10));
        Assert.True(NodeProcesses.IsRunning(c.Layout, "km2", out var pid) == false || NodeProcesses.WaitExit(pid, Wait));
        Assert.True(new Chain(c.Layout).Registration("km2")!.Deregistered);
        Assert.False(Path.Exists(c.Layout.SocketPath("km2")));

        NodeProcesses.Stop(c.Layout, "km1", Wait);
        Assert.False(Path.Exists(c.Layout.SocketPath("km1")));
        Assert.False(new Chain(c.Layout).Registration("km1")!.Deregistered); // SIGTERM: registration left to expire
    }

    [Fact]
    public async Task Fault_slow_start_delays_the_socket()
    {
        await using var c = await SimCluster.StartAsync(2);
        NodeProcesses.Stop(c.Layout, "km2", Wait);
        c.SetFaults("km2", new Faults { SlowStartMs = 1500 });
        var sw = System.Diagnostics.Stopwatch.StartNew();
        NodeProcesses.Start(c.Layout, "km2", Wait);
        Assert.True(sw.ElapsedMilliseconds >= 1400, $"socket after {sw.ElapsedMilliseconds} ms");
    }

    [Fact]
    public async Task Fault_registration_failing_keeps_the_node_starting_with_the_error()
    {
        await using var c = await SimCluster.StartAsync(2, SchemaGeneration.V23_0);
        NodeProcesses.Stop(c.Layout, "km2", Wait);
        c.SetFaults("km2", new Faults { RegistrationFails = true });
        NodeProcesses.Start(c.Layout, "km2", Wait);
        var s = await SimCluster.EventuallyAsync(() => c.StatusAsync("km2"), s => s.LastAttemptSuccessful == false, Wait, "failed attempt");
        Assert.Contains("simulated registration failure", s.LastAttemptError);
        await Task.Delay(c.Options.EpochIntervalMs * 3);
        Assert.Equal(KmStatusWords.Starting, (await c.StatusAsync("km2")).Status);
    }

    [Theory]
    [InlineData("refuse")]
    [InlineData("unreachable")]
    public async Task Fault_peers_that_will_not_serve_replication_leave_the_new_node_starting(string kind)
    {
        await using var c = await SimCluster.StartAsync(2, upgradeIn: 1);
        c.SetFaults("km1", kind == "refuse" ? new Faults { RefuseReplication = true } : new Faults { Unreachable = true });
        NodeProcesses.Stop(c.Layout, "km2", Wait);
        UpgradeOnDisk(c, "km2", wipe: true);
        NodeProcesses.Start(c.Layout, "km2", Wait);
        await Task.Delay(c.Options.EpochIntervalMs * 5);
        Assert.Equal(KmStatusWords.Starting, (await c.StatusAsync("km2")).Status);
        Assert.Contains(kind == "refuse" ? "replication refused" : "failed to dial peer", c.Log("km2"));
        // Lift the fault: it replicates.
        c.SetFaults("km1", new Faults());
        await SimCluster.EventuallyAsync(() => c.StatusAsync("km2"), s => s.IsReady, Wait, "km2 ready");
    }

    [Fact]
    public async Task Fault_crash_while_replicating_exits_and_leaves_a_stale_socket()
    {
        await using var c = await SimCluster.StartAsync(2, upgradeIn: 1);
        NodeProcesses.Stop(c.Layout, "km2", Wait);
        UpgradeOnDisk(c, "km2", wipe: true);
        c.SetFaults("km2", new Faults { CrashWhileReplicating = true });
        var pid = NodeProcesses.Start(c.Layout, "km2", Wait);
        Assert.True(NodeProcesses.WaitExit(pid, Wait));
        Assert.True(Path.Exists(c.Layout.SocketPath("km2")));
        // Once the dying process is gone, the socket file it left refuses connections.
        await SimCluster.EventuallyAsync(async () =>
        {
            try { await c.StatusAsync("km2"); return "answered"; }
            catch (KmException e) { return e.ErrorId; }
        }, id => id == "ConnectionRefused", Wait, "stale socket refusing connections");
        Assert.False(c.Audit().Nodes.Single(n => n.Name == "km2").HasState);
    }

    [Fact]
    public async Task Fault_seal_write_error_keeps_the_node_from_becoming_ready()
    {
        await using var c = await SimCluster.StartAsync(2, upgradeIn: 1);
        NodeProcesses.Stop(c.Layout, "km2", Wait);
        UpgradeOnDisk(c, "km2", wipe: true);
        c.SetFaults("km2", new Faults { SealWriteError = true });
        NodeProcesses.Start(c.Layout, "km2", Wait);
        await SimCluster.EventuallyAsync(() => Task.FromResult(c.Log("km2")), l => l.Contains("failed to persist master secret"), Wait, "seal error");
        Assert.Equal(KmStatusWords.Starting, (await c.StatusAsync("km2")).Status);
    }

    [Theory]
    [InlineData(SchemaGeneration.V22_2)]
    [InlineData(SchemaGeneration.V23_0)]
    [InlineData(SchemaGeneration.V24)]
    public async Task Every_generation_answers_Get_KmStatus_in_the_module(SchemaGeneration g)
    {
        await using var c = await SimCluster.StartAsync(2, g);
        using var ps = new PsEngine();
        var r = ps.Run($"Import-KmNode '{c.Layout.InventoryFile}' | Get-KmStatus").AssertClean();
        var statuses = r.Output.Select(o => (KmStatus)o.BaseObject).ToList();
        Assert.Equal(new[] { "km1", "km2" }, statuses.Select(s => s.Name));
        Assert.All(statuses, s => Assert.Equal(g, s.SchemaGeneration));
        Assert.All(statuses, s => Assert.True(s.IsReady));
        var raw = ps.Run($"(Get-KmStatus '{c.Socket("km1")}' -Raw).registration.descriptor.runtimes[0].version.minor").AssertClean();
        Assert.Equal(5L, raw.Output.Single().BaseObject);
    }
}
