using Grpc.Core;
using KmPs.Core.Status;
using KmPs.Simulator.Cluster;
using KmPs.Simulator.Node;
using KmPs.Simulator.Shapes;
using static KmPs.Simulator.Tests.SimulatedNode.InProcessCluster;

namespace KmPs.Simulator.Tests.SimulatedNode;

/// <summary>The simulated node's rules as pure functions: no files, no clock, no processes.</summary>
public class SimNodeRuleTests
{
    private static readonly byte[] Secret = SimKeys.Derive("master", "secret");

    private static SimNodeContext Ctx(bool newVersion = false) => new("km1",
        new NodeSetup("/x/data", RuntimeId, "/x/b.orc", newVersion ? NewVersion : OldVersion, newVersion ? NewEnclave : OldEnclave, "/x/node.log"),
        SimKeys.Derive("cpu", "cpu"), "/x/p2p/km1.sock", SchemaGeneration.V24, "24.3.2", false);

    private static readonly ChainDeployment[] Deployments =
    {
        new() { Version = OldVersion.ToString(), ValidFrom = 1, Identity = OldEnclave.ToString() },
        new() { Version = NewVersion.ToString(), ValidFrom = 20, Identity = NewEnclave.ToString() },
    };

    private static SimNodeState Ready => SimNodeState.Initial with
    {
        Secret = Secret,
        Registration = RegistrationState.None with { Registered = true, Epoch = 5, Expiration = 7, WithSecret = true },
    };

    // ---- the state cell

    private sealed record Counter(int N);

    [Fact]
    public void The_state_cell_loses_no_transition_when_threads_race()
    {
        var cell = new StateCell<Counter>(new Counter(0));
        var threads = Enumerable.Range(0, 4).Select(_ => new Thread(() =>
        {
            for (var i = 0; i < 20_000; i++) cell.Update(c => c with { N = c.N + 1 });
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        Assert.Equal(80_000, cell.Value.N);
    }

    [Fact]
    public void A_transition_that_changes_nothing_swaps_nothing_and_says_so()
    {
        var start = new Counter(1);
        var cell = new StateCell<Counter>(start);
        var (old, now) = cell.Update(c => c);
        Assert.Same(start, old);
        Assert.Same(start, now);
        var (old2, now2) = cell.Update(c => c with { N = 2 });
        Assert.Same(start, old2);
        Assert.Equal(2, now2.N);
        Assert.Same(now2, cell.Value);
    }

    // ---- the state's derived words

    [Fact]
    public void The_status_word_follows_the_registration_and_a_shutdown_shows_stopped()
    {
        Assert.Equal(KmStatusWords.Starting, SimNodeState.Initial.KmStatus);
        Assert.False(SimNodeState.Initial.IsReady);
        Assert.Equal(KmStatusWords.Ready, Ready.KmStatus);
        var stopping = Ready with { Shutdown = new ShutdownRequest(6) };
        Assert.Equal(KmStatusWords.Stopped, stopping.ReportedKmStatus);
        // Readiness (IsReady, and whether it serves peers) is the worker's: it still holds the secret.
        Assert.True(stopping.IsReady);
    }

    // ---- registration

    [Fact]
    public void Registration_is_due_each_new_epoch_and_as_soon_as_the_secret_arrives_but_not_after_a_shutdown()
    {
        var registered = SimNodeState.Initial with { Registration = RegistrationState.None with { Registered = true, Epoch = 5 } };
        Assert.True(RegistrationWorker.Due(SimNodeState.Initial, 5));
        Assert.False(RegistrationWorker.Due(registered, 5));
        Assert.True(RegistrationWorker.Due(registered, 6));
        Assert.True(RegistrationWorker.Due(registered with { Secret = Secret }, 5));
        Assert.False(RegistrationWorker.Due(Ready, 5));
        Assert.False(RegistrationWorker.Due(registered with { Shutdown = new ShutdownRequest(6) }, 6));
    }

    [Fact]
    public void A_node_without_the_secret_preregisters_with_no_checksum_expiring_two_epochs_later()
    {
        var a = RegistrationWorker.Attempt(Ctx(), SimNodeState.Initial, Deployments, 5, 1_900_000_000);
        Assert.Null(a.Error);
        Assert.False(a.BecameReady);
        Assert.NotNull(a.Descriptor);
        Assert.Null(a.Descriptor!.Checksum);
        Assert.Equal((5ul, 7ul), (a.Descriptor.Epoch, a.Descriptor.Expiration));
        Assert.Equal("unix:/x/p2p/km1.sock", a.Descriptor.P2p);
        Assert.Equal(OldEnclave.ToString(), a.Descriptor.Identity);
        Assert.Equal(new RegistrationState(true, 5, 7, false, 1_900_000_000, 1_900_000_000, true, null), a.Next);
    }

    [Fact]
    public void The_first_registration_with_the_secret_carries_its_checksum_and_makes_the_node_ready_once()
    {
        var s = SimNodeState.Initial with { Secret = Secret };
        var first = RegistrationWorker.Attempt(Ctx(), s, Deployments, 5, 10);
        Assert.True(first.BecameReady);
        Assert.Equal(Hex.Encode(Sealing.Checksum(Secret)), first.Descriptor!.Checksum);
        var second = RegistrationWorker.Attempt(Ctx(), s with { Registration = first.Next }, Deployments, 6, 20);
        Assert.False(second.BecameReady);
        Assert.True(second.Next.WithSecret);
        Assert.Equal(8ul, second.Next.Expiration);
    }

    [Fact]
    public void A_failing_registration_keeps_the_last_descriptor_and_records_the_attempt()
    {
        var s = Ready with { Faults = new Faults { RegistrationFails = true } };
        var a = RegistrationWorker.Attempt(Ctx(), s, Deployments, 6, 99);
        Assert.Null(a.Descriptor);
        Assert.Equal(RegistrationWorker.SimulatedFailure, a.Error);
        Assert.Equal(s.Registration with { LastAttemptUnix = 99, LastAttemptOk = false, LastAttemptError = RegistrationWorker.SimulatedFailure }, a.Next);
    }

    [Fact]
    public void The_registry_refuses_an_enclave_its_version_does_not_deploy()
    {
        var other = new[] { new ChainDeployment { Version = OldVersion.ToString(), ValidFrom = 1, Identity = Enclave("rebuilt").ToString() } };
        var a = RegistrationWorker.Attempt(Ctx(), SimNodeState.Initial, other, 5, 10);
        Assert.Equal(RegistrationWorker.UnknownEnclaveVersion, a.Error);
        Assert.False(a.Next.Registered);
        // A version with no deployment at all: the same refusal.
        Assert.Equal(RegistrationWorker.UnknownEnclaveVersion, RegistrationWorker.Attempt(Ctx(newVersion: true), SimNodeState.Initial, other, 5, 10).Error);
    }

    // ---- the unseal backoff

    [Fact]
    public void The_enclave_restart_backoff_doubles_from_250_ms_to_8_s()
    {
        var t0 = new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);
        Assert.True(UnsealRetry.Initial.Due(t0));
        var r = UnsealRetry.Initial;
        var waits = new List<double>();
        for (var i = 0; i < 8; i++)
        {
            var next = r.After(t0);
            waits.Add((next.NextAttempt - t0).TotalMilliseconds);
            r = next;
        }
        Assert.Equal(new double[] { 250, 500, 1000, 2000, 4000, 8000, 8000, 8000 }, waits);
        var once = UnsealRetry.Initial.After(t0);
        Assert.False(once.Due(t0 + TimeSpan.FromMilliseconds(249)));
        Assert.True(once.Due(t0 + TimeSpan.FromMilliseconds(250)));
    }

    // ---- the replication source

    [Fact]
    public void A_source_down_or_set_to_refuse_answers_before_its_enclave_is_asked()
    {
        Assert.Null(ReplicationSource.Gate(Faults.None));
        Assert.Equal(ReplicationSource.Refused, ReplicationSource.Gate(new Faults { RefuseReplication = true }));
        Assert.Equal(ReplicationSource.Unreachable, ReplicationSource.Gate(new Faults { RefuseReplication = true, Unreachable = true }));
        Assert.Equal(StatusCode.Unavailable, ReplicationSource.Unreachable.ToRpc().StatusCode);
        Assert.Equal("p2p: failed to dial peer", ReplicationSource.Unreachable.ToRpc().Status.Detail);
    }

    [Fact]
    public void A_source_serves_only_a_ready_enclave_to_a_registered_requester_the_policy_lets_it_serve()
    {
        var policy = AllowingPolicy();
        var newId = NewEnclave.ToString();
        ChainRegistration Reg(string? identity = null, ulong expiration = 7, bool deregistered = false) =>
            new() { Node = "km3", Identity = identity ?? newId, Expiration = expiration, Deregistered = deregistered };

        Assert.Null(ReplicationSource.Decide(Ready, OldEnclave, Reg(), newId, policy, 6));
        Assert.Equal(ReplicationSource.NotInitialized, ReplicationSource.Decide(SimNodeState.Initial, OldEnclave, Reg(), newId, policy, 6));
        // Holding the secret but not yet registered with it: not ready, serves nobody.
        Assert.Equal(ReplicationSource.NotInitialized, ReplicationSource.Decide(SimNodeState.Initial with { Secret = Secret }, OldEnclave, Reg(), newId, policy, 6));
        Assert.Equal(ReplicationSource.NotInAccessList, ReplicationSource.Decide(Ready, OldEnclave, null, newId, policy, 6));
        Assert.Equal(ReplicationSource.NotInAccessList, ReplicationSource.Decide(Ready, OldEnclave, Reg(deregistered: true), newId, policy, 6));
        Assert.Equal(ReplicationSource.NotInAccessList, ReplicationSource.Decide(Ready, OldEnclave, Reg(expiration: 5), newId, policy, 6));
        // Asking with another identity than the one it registered (its attestation).
        Assert.Equal(ReplicationSource.NotInAccessList, ReplicationSource.Decide(Ready, OldEnclave, Reg(), OldEnclave.ToString(), policy, 6));
        Assert.Equal(ReplicationSource.NotAuthorized, ReplicationSource.Decide(Ready, OldEnclave, Reg(), newId, DenyingPolicy(), 6));
        // Another instance of the same enclave is always served.
        Assert.Null(ReplicationSource.Decide(Ready, OldEnclave, Reg(OldEnclave.ToString()), OldEnclave.ToString(), DenyingPolicy(), 6));
    }

    // ---- the policy rules (keymanager/src/policy/cached.rs)

    [Fact]
    public void A_requester_replicates_only_from_enclaves_listing_it_and_only_with_an_entry_of_its_own()
    {
        var old = OldEnclave.ToString();
        var @new = NewEnclave.ToString();
        Assert.Equal(new HashSet<string> { @new, old }, ReplicationRules.MayReplicateFrom(AllowingPolicy(), @new));
        // The old enclave lists the new one, but the new one has no entry: it asks nobody else.
        var noEntry = AllowingPolicy();
        noEntry.Enclaves.RemoveAll(e => e.Enclave == @new);
        Assert.Equal(new HashSet<string> { @new }, ReplicationRules.MayReplicateFrom(noEntry, @new));
        Assert.Equal(new HashSet<string> { @new }, ReplicationRules.MayReplicateFrom(DenyingPolicy(), @new));
        // Case does not matter (hex).
        Assert.Contains(old, ReplicationRules.MayReplicateFrom(AllowingPolicy(), @new.ToUpperInvariant()));

        Assert.True(ReplicationRules.MayReplicateSecret(AllowingPolicy(), old, @new));
        Assert.False(ReplicationRules.MayReplicateSecret(DenyingPolicy(), old, @new));
        Assert.True(ReplicationRules.MayReplicateSecret(DenyingPolicy(), old, old.ToUpperInvariant()));
        Assert.False(ReplicationRules.MayReplicateSecret(AllowingPolicy(), @new, old));
    }

    // ---- the committee

    [Fact]
    public void The_committee_is_the_registered_unexpired_nodes_with_the_consensus_checksum_on_a_deployed_version()
    {
        var status = new ChainKeyManagerStatus { IsInitialized = true, Checksum = "aa" };
        ChainRegistration R(string node, string? checksum = "aa", ulong expiration = 7, string version = "0.5.0", bool deregistered = false) =>
            new() { Node = node, Checksum = checksum, Expiration = expiration, Version = version, Deregistered = deregistered };
        var regs = new[]
        {
            R("ok"), R("pre", checksum: null), R("other", checksum: "bb"), R("expired", expiration: 5),
            R("undeployed", version: "0.7.0"), R("gone", deregistered: true), R("new", version: "0.6.0"),
        };
        Assert.Equal(new[] { "ok", "new" }, Chain.CommitteeOf(status, Deployments, regs, 6).Select(r => r.Node));
        Assert.Empty(Chain.CommitteeOf(null, Deployments, regs, 6));
    }

    // ---- the status view

    [Fact]
    public void The_status_shows_one_snapshot_at_one_moment()
    {
        var chain = new ChainView(new ChainKeyManagerStatus { IsInitialized = true, Checksum = Hex.Encode(Sealing.Checksum(Secret))! },
            new ChainPolicyState { Current = AllowingPolicy() }, Deployments,
            new[] { new ChainRegistration { Node = "km1", Checksum = Hex.Encode(Sealing.Checksum(Secret)), Expiration = 7, Version = "0.5.0" } });
        var at = new ChainMoment(6, 51, 1_900_000_000);
        var ready = NodeStatusView.Build(Ctx(), Ready, chain, at);
        Assert.Equal(KmStatusWords.Ready, ready.KmStatus);
        Assert.NotNull(ready.ExtraInfoBase64);
        Assert.Equal((6ul, 51L, 1_900_000_000L), (ready.Epoch, ready.Height, ready.LatestTimeUnix!.Value));
        Assert.Equal(new[] { "km1" }, ready.CommitteeSeeds);
        Assert.Equal(7ul, ready.RegistrationExpiration);

        // The secret but no registration with it yet: no init response in extra_info, still starting.
        var unpublished = NodeStatusView.Build(Ctx(), SimNodeState.Initial with { Secret = Secret }, chain, at);
        Assert.Null(unpublished.ExtraInfoBase64);
        Assert.Equal(KmStatusWords.Starting, unpublished.KmStatus);

        Assert.Equal(KmStatusWords.Stopped, NodeStatusView.Build(Ctx(), Ready with { Shutdown = new ShutdownRequest(7) }, chain, at).KmStatus);
    }

    [Fact]
    public void A_moment_reads_the_clock_once_so_its_epoch_and_height_agree()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(1_000_000));
        var clock = new EpochClock(1_000_000, 1000, 1, time);
        for (var i = 0; i < 50; i++)
        {
            var at = ChainMoment.Of(clock);
            Assert.Equal(clock.EpochAtHeight(at.Height), at.Epoch);
            time.Advance(TimeSpan.FromMilliseconds(97));
        }
    }
}
