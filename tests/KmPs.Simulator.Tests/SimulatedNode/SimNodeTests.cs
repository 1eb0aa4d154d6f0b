using Grpc.Core;
using KmPs.Core.Status;
using KmPs.Simulator.Cluster;
using KmPs.Simulator.Node;
using KmPs.Simulator.Shapes;
using static KmPs.Simulator.Tests.SimulatedNode.InProcessCluster;

namespace KmPs.Simulator.Tests.SimulatedNode;

/// <summary>
/// The simulated node's pieces run in this process on a fake clock (<see cref="InProcessCluster"/>):
/// each transition of the node, each fault, step by step and deterministic.
/// </summary>
public class SimNodeTests
{
    private static string Checksum(SimNodeStatus s) => s.ConsensusChecksumHex!;

    // ---- bootstrap and replication

    [Fact]
    public void Bootstrap_one_node_generates_and_the_others_replicate_from_it()
    {
        using var c = Bootstrapped(3);
        var statuses = new[] { "km1", "km2", "km3" }.Select(c.Status).ToList();
        Assert.All(statuses, s => Assert.Equal(KmStatusWords.Ready, s.KmStatus));
        Assert.All(statuses, s => Assert.NotNull(s.ExtraInfoBase64));
        Assert.Equal(c.Chain.KeyManagerStatus()!.Checksum, Checksum(statuses[0]));
        Assert.Equal("km1", c.Chain.KeyManagerStatus()!.GeneratedBy);
        Assert.Contains("generated master secret", c.LogMessages("km1"));
        Assert.Contains("replicated master secret from km1", c.LogMessages("km2"));
        Assert.Contains("replicating master secret to peer", c.LogMessages("km1"));
        Assert.All(new[] { "km1", "km2", "km3" }, n => Assert.True(Sealing.HasState(c.StorageDir(n))));
        Assert.Equal(3, c.Status("km1").ConsensusNodes);
        Assert.Single(c.LogMessages("km2"), m => m == "registered with init response, key manager ready");
    }

    [Fact]
    public void Before_24_only_the_node_with_the_may_generate_flag_generates()
    {
        using var c = new InProcessCluster();
        c.Start("km1", generation: SchemaGeneration.V22_2);
        c.TickAll();
        c.TickAll();
        Assert.Null(c.Chain.KeyManagerStatus());
        Assert.Equal(KmStatusWords.Starting, c.Status("km1").KmStatus);
        c.Start("km2", generation: SchemaGeneration.V22_2, mayGenerate: true);
        c.TickAll();
        Assert.Equal("km2", c.Chain.KeyManagerStatus()!.GeneratedBy);
        Assert.True(c.Status("km2").MayGenerate);
        c.TickAll();
        Assert.Equal(KmStatusWords.Ready, c.Status("km1").KmStatus);
        Assert.Contains("replicated master secret from km2", c.LogMessages("km1"));
    }

    [Fact]
    public void A_wiped_node_on_the_new_version_preregisters_and_replicates_only_from_its_upgrade_epoch()
    {
        using var c = Bootstrapped(3, newVersionFrom: 4);
        var checksum = Checksum(c.Status("km1"));
        c.UpgradeWiped("km3");
        c.TickAll();
        c.TickAll();
        var early = c.Status("km3");
        Assert.True(early.Epoch < 4);
        Assert.Equal(KmStatusWords.Starting, early.KmStatus);
        Assert.True(early.Registered);
        Assert.Null(early.ExtraInfoBase64);
        Assert.Null(c.Chain.Registration("km3")!.Checksum); // pre-registered: extra_info null
        Assert.Equal(NewVersion.ToString(), c.Chain.Registration("km3")!.Version);

        c.RunEpochs(4 - (int)early.Epoch);
        var late = c.Status("km3");
        Assert.Equal(KmStatusWords.Ready, late.KmStatus);
        Assert.Equal(checksum, Hex.Encode(Sealing.Checksum(c.Node("km3").State.Secret!)));
        Assert.Contains("replicated master secret from km1", c.LogMessages("km3"));
        // Sealed by the new enclave on km3's CPU: only that enclave there unseals it.
        Assert.Equal(Sealing.UnsealResult.Ok, Sealing.TryUnseal(c.StorageDir("km3"), NewEnclave, SimKeysCpu("km3"), out _));
        Assert.Equal(Sealing.UnsealResult.OtherEnclave, Sealing.TryUnseal(c.StorageDir("km3"), OldEnclave, SimKeysCpu("km3"), out _));
    }

    private static byte[] SimKeysCpu(string name) => KmPs.Simulator.Shapes.SimKeys.Derive("cpu-" + name, "cpu");

    // ---- the policy

    [Fact]
    public void A_policy_without_the_new_enclave_keeps_it_starting_logging_once_an_epoch_until_the_update()
    {
        using var c = Bootstrapped(2);
        c.SetPolicy(DenyingPolicy(2));
        var served = c.LogMessages("km1").Count(m => m == "replicating master secret to peer");
        c.UpgradeWiped("km2");
        c.TickAll(); // pre-registers
        c.TickAll(); // asks: the policy lets it ask nobody but itself
        c.TickAll(); // the same epoch: not logged again
        const string failed = "failed to initialize enclave";
        Assert.Single(c.LogMessages("km2"), m => m == failed);
        Assert.Contains(c.LogLines("km2"), l => l.Contains("failed to replicate master secret: mismatched enclave identity", StringComparison.Ordinal));
        Assert.Equal(c.Epoch, c.Node("km2").State.RefusalLoggedEpoch);
        Assert.Equal(served, c.LogMessages("km1").Count(m => m == "replicating master secret to peer")); // never asked
        c.RunEpochs(1);
        Assert.Equal(2, c.LogMessages("km2").Count(m => m == failed));
        Assert.Equal(KmStatusWords.Starting, c.Status("km2").KmStatus);

        c.SetPolicy(AllowingPolicy(3));
        c.TickAll();
        Assert.Contains("replicated master secret from km1", c.LogMessages("km2"));
        c.TickAll();
        Assert.Equal(KmStatusWords.Ready, c.Status("km2").KmStatus);
    }

    [Fact]
    public void A_source_refuses_a_registered_requester_the_policy_does_not_let_it_serve()
    {
        using var c = Bootstrapped(1);
        var stranger = Enclave("stranger");
        c.Chain.Register(new ChainRegistration { Node = "km9", Identity = stranger.ToString(), Version = "0.5.0", Expiration = c.Epoch + 2 });
        var e = Assert.Throws<RpcException>(() => c.Node("km1").Api.Replicate(ReplicationWire.EncodeRequest("km9", stranger)));
        Assert.Equal(StatusCode.PermissionDenied, e.StatusCode);
        Assert.Equal(ReplicationRules.NotAuthorized, e.Status.Detail);
        Assert.Contains("refused to replicate master secret to peer", c.LogMessages("km1"));
        // Not registered at all: not in the access list.
        var e2 = Assert.Throws<RpcException>(() => c.Node("km1").Api.Replicate(ReplicationWire.EncodeRequest("km8", NewEnclave)));
        Assert.Equal("keymanager: peer not in access list", e2.Status.Detail);
    }

    // ---- faults

    [Theory]
    [InlineData("refuse", "keymanager: replication refused")]
    [InlineData("unreachable", "p2p: failed to dial peer")]
    public void Fault_a_source_that_will_not_serve_leaves_the_new_node_starting_until_cleared(string kind, string error)
    {
        using var c = Bootstrapped(2);
        c.SetFaults("km1", kind == "refuse" ? new Faults { RefuseReplication = true } : new Faults { Unreachable = true });
        c.UpgradeWiped("km2");
        c.TickAll();
        c.TickAll();
        Assert.Equal(KmStatusWords.Starting, c.Status("km2").KmStatus);
        Assert.Contains(c.LogLines("km2"), l => l.Contains("replication from peer failed", StringComparison.Ordinal) && l.Contains(error, StringComparison.Ordinal));
        Assert.Equal(kind == "refuse", c.Node("km1").State.Faults.RefuseReplication);

        c.SetFaults("km1", Faults.None);
        c.TickAll();
        c.TickAll();
        Assert.Equal(KmStatusWords.Ready, c.Status("km2").KmStatus);
    }

    [Fact]
    public void Fault_seal_write_error_keeps_the_replicated_secret_out_until_it_can_be_written()
    {
        using var c = Bootstrapped(2);
        c.SetFaults("km2", new Faults { SealWriteError = true });
        c.UpgradeWiped("km2");
        c.TickAll();
        c.TickAll();
        Assert.Contains("failed to persist master secret", c.LogMessages("km2"));
        Assert.False(Sealing.HasState(c.StorageDir("km2")));
        Assert.Null(c.Node("km2").State.Secret);
        Assert.Equal(KmStatusWords.Starting, c.Status("km2").KmStatus);

        c.SetFaults("km2", Faults.None);
        c.TickAll();
        Assert.True(Sealing.HasState(c.StorageDir("km2")));
        Assert.Equal(KmStatusWords.Ready, c.Status("km2").KmStatus);
    }

    [Fact]
    public void Fault_seal_write_error_on_generation_leaves_no_secret_held_but_the_chain_initialised()
    {
        using var c = new InProcessCluster();
        c.Start("km1");
        c.SetFaults("km1", new Faults { SealWriteError = true });
        c.TickAll();
        Assert.NotNull(c.Chain.KeyManagerStatus());
        Assert.Null(c.Node("km1").State.Secret);
        Assert.Contains("failed to persist master secret", c.LogMessages("km1"));
    }

    [Fact]
    public void Fault_registration_failing_shows_in_the_status_is_logged_once_and_clears()
    {
        using var c = new InProcessCluster();
        c.Start("km1");
        c.SetFaults("km1", new Faults { RegistrationFails = true });
        c.TickAll();
        c.TickAll();
        var s = c.Status("km1");
        Assert.Equal(KmStatusWords.Starting, s.KmStatus);
        Assert.False(s.Registered);
        Assert.False(s.LastAttemptSuccessful);
        Assert.Equal(RegistrationWorker.SimulatedFailure, s.LastAttemptError);
        Assert.NotNull(s.LastAttemptUnix);
        Assert.Null(s.LastRegistrationUnix);
        Assert.Null(c.Chain.Registration("km1"));
        Assert.Single(c.LogMessages("km1"), m => m == "failed to register node");
        // It holds the secret all along: generated, sealed, just never published.
        Assert.NotNull(c.Node("km1").State.Secret);

        c.SetFaults("km1", Faults.None);
        c.TickAll();
        s = c.Status("km1");
        Assert.Equal(KmStatusWords.Ready, s.KmStatus);
        Assert.True(s.LastAttemptSuccessful);
        Assert.Null(s.LastAttemptError);
    }

    [Fact]
    public void Fault_crash_while_replicating_exits_before_sealing_and_a_restart_replicates()
    {
        using var c = Bootstrapped(2);
        c.SetFaults("km2", new Faults { CrashWhileReplicating = true });
        var crashing = c.UpgradeWiped("km2");
        Assert.Equal(TickOutcome.Continue, c.TickAll()["km2"]); // pre-registers
        Assert.Equal(TickOutcome.Crash, c.TickAll()["km2"]);
        Assert.Contains("simulated crash while replicating", c.LogMessages("km2"));
        Assert.False(Sealing.HasState(c.StorageDir("km2")));
        Assert.Null(crashing.State.Secret);
        Assert.Equal(70, SecretAcquisition.CrashExitCode);

        c.SetFaults("km2", Faults.None);
        c.Start("km2", newVersion: true);
        c.TickAll();
        c.TickAll();
        Assert.Equal(KmStatusWords.Ready, c.Status("km2").KmStatus);
    }

    [Fact]
    public async Task Fault_slow_start_opens_the_control_socket_only_when_the_delay_is_over()
    {
        using var c = new InProcessCluster();
        var node = c.Start("km1");
        c.SetFaults("km1", new Faults { SlowStartMs = 5000 });
        var socket = Path.Combine(c.Layout.DataDir("km1"), "internal.sock");
        using var stop = new CancellationTokenSource();
        var run = node.RunAsync(stop.Token);
        await Task.Delay(300);
        Assert.False(File.Exists(socket));
        Assert.Equal(5000, node.Faults.SlowStartMs);
        c.Advance(TimeSpan.FromMilliseconds(4900));
        await Task.Delay(300);
        Assert.False(File.Exists(socket));
        c.Advance(TimeSpan.FromMilliseconds(100));
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!File.Exists(socket) && DateTime.UtcNow < deadline && !run.IsCompleted) await Task.Delay(50);
        Assert.True(File.Exists(socket), run.IsFaulted ? run.Exception!.ToString() : "no socket after the delay");
        stop.Cancel();
        Assert.Equal(0, await run);
        Assert.False(File.Exists(socket));
    }

    // ---- restarts and wipes

    [Fact]
    public void A_node_restarted_by_hand_loads_its_sealed_secret_and_registers_again()
    {
        using var c = Bootstrapped(2);
        var checksum = Checksum(c.Status("km2"));
        c.Kill("km2");
        c.RunEpochs(3); // km2's registration expires meanwhile
        Assert.Equal(1, c.Status("km1").ConsensusNodes);
        var restarted = c.Start("km2");
        Assert.Equal(KmStatusWords.Starting, c.Status("km2").KmStatus);
        c.TickAll();
        Assert.Contains("loaded master secret from local storage", c.LogMessages("km2"));
        Assert.Equal(KmStatusWords.Ready, c.Status("km2").KmStatus);
        Assert.Equal(checksum, Hex.Encode(Sealing.Checksum(restarted.State.Secret!)));
        Assert.Equal(2, c.Status("km1").ConsensusNodes);
    }

    [Fact]
    public void A_forgotten_wipe_panics_with_the_real_line_retrying_with_a_doubling_backoff_and_never_becomes_ready()
    {
        using var c = Bootstrapped(2);
        c.Kill("km2");
        c.Start("km2", newVersion: true); // state still sealed by the old enclave
        c.TickAll();
        c.TickAll(); // within the 250 ms backoff: not tried again
        Assert.Single(c.LogMessages("km2"), m => m == SecretAcquisition.RuntimePanicLine);
        Assert.Contains(c.LogLines("km2"), l => l.Contains("\"backoff_ms\":250", StringComparison.Ordinal));
        c.Advance(TimeSpan.FromMilliseconds(250));
        c.TickAll();
        Assert.Equal(2, c.LogMessages("km2").Count(m => m == SecretAcquisition.RuntimePanicLine));
        Assert.Contains(c.LogLines("km2"), l => l.Contains("\"backoff_ms\":500", StringComparison.Ordinal));
        Assert.Equal(TimeSpan.FromMilliseconds(1000), c.Node("km2").State.Unseal.Backoff);
        c.RunEpochs(3);
        Assert.Equal(KmStatusWords.Starting, c.Status("km2").KmStatus);
        Assert.DoesNotContain(c.LogMessages("km2"), m => m.StartsWith("DeoxysII", StringComparison.Ordinal));
    }

    [Fact]
    public void State_copied_from_another_cpu_warns_about_the_cpu_and_panics()
    {
        using var c = Bootstrapped(2);
        c.Kill("km2");
        File.Copy(Path.Combine(c.StorageDir("km1"), Sealing.SealedFileName), Path.Combine(c.StorageDir("km2"), Sealing.SealedFileName), overwrite: true);
        c.Start("km2");
        c.TickAll();
        var log = c.LogMessages("km2");
        Assert.Contains(log, m => m.StartsWith("DeoxysII unsealing failed: check if the CPU had changed", StringComparison.Ordinal));
        Assert.Contains(SecretAcquisition.RuntimePanicLine, log);
        Assert.Equal(KmStatusWords.Starting, c.Status("km2").KmStatus);
    }

    // ---- shutdown

    [Fact]
    public async Task Shutdown_of_a_registered_node_shows_stopped_deregisters_at_the_next_epoch_then_exits_once()
    {
        using var c = Bootstrapped(2);
        var node = c.Node("km2");
        var epoch = c.Epoch;
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => node.Api.RequestShutdownAsync(wait: false, CancellationToken.None))));
        Assert.Single(c.LogMessages("km2"), m => m == "shutdown requested, deregistering");
        Assert.Equal(new ShutdownRequest(epoch + 1), node.State.Shutdown);
        Assert.Equal(KmStatusWords.Stopped, c.Status("km2").KmStatus);
        var waiting = node.Api.RequestShutdownAsync(wait: true, CancellationToken.None);

        Assert.Equal(TickOutcome.Continue, node.Tick()); // same epoch: still registered, not registering again
        Assert.False(c.Chain.Registration("km2")!.Deregistered);
        Assert.False(waiting.IsCompleted);
        c.Advance(TimeSpan.FromMilliseconds(EpochMs));
        Assert.Equal(TickOutcome.Exit, node.Tick());
        Assert.True(c.Chain.Registration("km2")!.Deregistered);
        await waiting.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(node.Exited.IsCompleted);
        Assert.Equal(1, c.Status("km1").ConsensusNodes);
    }

    [Fact]
    public async Task Shutdown_of_a_node_that_never_registered_exits_at_its_next_tick()
    {
        using var c = new InProcessCluster();
        var node = c.Start("km1");
        c.SetFaults("km1", new Faults { RegistrationFails = true });
        c.TickAll();
        await node.Api.RequestShutdownAsync(wait: false, CancellationToken.None);
        Assert.Equal(new ShutdownRequest(0), node.State.Shutdown);
        Assert.Equal(TickOutcome.Exit, node.Tick());
        Assert.Contains("deregistered, shutting down", c.LogMessages("km1"));
    }

    // ---- one consistent snapshot

    [Fact]
    public async Task Readers_racing_the_tick_always_see_one_consistent_status()
    {
        using var c = Bootstrapped(2);
        var node = c.Node("km2");
        var problems = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var done = new CancellationTokenSource();
        var readers = Enumerable.Range(0, 2).Select(_ => Task.Run(() =>
        {
            while (!done.IsCancellationRequested)
            {
                var s = node.Api.Status();
                if (s.LastAttemptSuccessful != (s.LastAttemptError is null)) problems.Enqueue($"attempt ok={s.LastAttemptSuccessful} error={s.LastAttemptError}");
                if (s.ExtraInfoBase64 is not null && s.KmStatus != KmStatusWords.Ready) problems.Enqueue("init response while " + s.KmStatus);
                if (s.Registered && s.RegistrationExpiration is null) problems.Enqueue("registered without expiration");
                if (c.Clock.EpochAtHeight(s.Height) != s.Epoch) problems.Enqueue($"epoch {s.Epoch} at height {s.Height}");
            }
        })).ToList();
        for (var i = 0; i < 400; i++)
        {
            c.SetFaults("km2", i % 2 == 0 ? new Faults { RegistrationFails = true } : Faults.None);
            c.Advance(TimeSpan.FromMilliseconds(EpochMs));
            node.Tick();
        }
        done.Cancel();
        await Task.WhenAll(readers);
        Assert.Empty(problems);
        Assert.Equal(KmStatusWords.Ready, c.Status("km2").KmStatus);
    }
}
