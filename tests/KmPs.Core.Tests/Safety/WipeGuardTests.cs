using KmPs.Core.LocalState;
using KmPs.Core.Status;
using KmPs.Tests.Support;

namespace KmPs.Core.Tests.Safety;

/// <summary>
/// Invariants 1 and 2 as the guard decides them (<see cref="WipeGuard.Evaluate"/>), from what was
/// seen: every reason to refuse a wipe, each alone, and the one case that allows it. The reads
/// themselves (sockets) are the module's and scenario tests'; here only the verdict.
/// </summary>
public class WipeGuardTests
{
    private const string Km = TestOrcs.TestnetKm;
    private const string Sum = "459917961a1500a1b2dad9f6ed54760caa6426a098d7e086fc909daf56926bf2";
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly NodeStopCheck Stopped = new(true, "stopped (no control socket)", null);
    private static readonly NodeStopCheck Running = new(false, "running (its control socket answers)", "the node is running: /n/internal.sock answers; stop it first (Stop-KmNode)");

    /// <summary>A staying peer as a 24+ node reports it: ready, synced, registered until epoch 102, at epoch 100.</summary>
    private static PeerCheck Fresh(string socket = "unix:/p1/internal.sock", string checksum = Sum) =>
        new(socket, KmStatusWords.Ready, checksum, null)
        {
            RuntimeId = Km, ConsensusChecksum = checksum, Registered = true, RegistrationExpiration = 102, Epoch = 100, Synced = true, At = T0,
        };

    private static WipeCheck Evaluate(params PeerCheck[] peers) => WipeGuard.Evaluate(Stopped, false, peers, Km);

    private static string Only(WipeCheck check)
    {
        Assert.False(check.Ok);
        return Assert.Single(check.Problems);
    }

    [Fact]
    public void A_stopped_node_and_one_fresh_ready_peer_allow_the_wipe()
    {
        var peer = Fresh();
        var check = Evaluate(peer);
        Assert.True(check.Ok);
        Assert.Empty(check.Problems);
        Assert.True(check.NodeStopped);
        Assert.Equal("stopped (no control socket)", check.NodeState);
        Assert.Equal(Sum, check.PeerChecksum);
        Assert.Equal([peer], check.Peers);
    }

    [Fact]
    public void Several_peers_with_one_checksum_allow_it_and_that_checksum_is_the_verdicts()
    {
        var check = Evaluate(Fresh("unix:/p1/internal.sock"), Fresh("unix:/p2/internal.sock"), Fresh("unix:/p3/internal.sock"));
        Assert.True(check.Ok);
        Assert.Equal(Sum, check.PeerChecksum);
    }

    [Fact]
    public void A_peer_of_an_older_version_that_reports_no_consensus_checksum_and_no_sync_state_still_counts()
    {
        // 22.2 statuses have neither the consensus key manager checksum nor a sync flag: what is not said is not held against the peer.
        var check = Evaluate(Fresh() with { ConsensusChecksum = null, Synced = null });
        Assert.True(check.Ok, string.Join("; ", check.Problems));
    }

    [Fact]
    public void A_running_node_is_refused_with_the_stop_checks_own_words()
    {
        var check = WipeGuard.Evaluate(Running, false, [Fresh()], Km);
        Assert.Equal(Running.Problem, Only(check));
        Assert.False(check.NodeStopped);
        Assert.Equal(Running.State, check.NodeState);
    }

    [Fact]
    public void A_node_whose_stop_cannot_be_proven_is_refused()
    {
        var unknown = new NodeStopCheck(false, "unknown: permission denied", "cannot prove the node is stopped: permission denied");
        Assert.Equal(unknown.Problem, Only(WipeGuard.Evaluate(unknown, false, [Fresh()], Km)));
    }

    [Fact]
    public void The_node_listed_among_its_own_peers_is_refused()
    {
        Assert.Contains("listed among its own required peers", Only(WipeGuard.Evaluate(Stopped, true, [Fresh()], Km)));
    }

    [Fact]
    public void No_peer_at_all_is_refused_a_wipe_would_leave_no_verified_holder()
    {
        var text = Only(WipeGuard.Evaluate(Stopped, false, [], Km));
        Assert.Contains("no staying peer", text);
        Assert.Contains("-RequirePeer", text);
    }

    [Fact]
    public void An_unreadable_peer_is_refused_with_its_error()
    {
        var text = Only(Evaluate(new PeerCheck("unix:/p1/internal.sock", null, null, "SocketNotFound: no socket")));
        Assert.Equal("peer unix:/p1/internal.sock cannot be read: SocketNotFound: no socket", text);
    }

    [Theory]
    [InlineData("000000000000000000000000000000000000000000000000f80306c9858e7279", "000000000000000000000000000000000000000000000000f80306c9858e7279")]
    [InlineData("4000000000000000000000000000000000000000000000008c5ea5e49b4bc9ac", "4000000000000000000000000000000000000000000000008c5ea5e49b4bc9ac")]
    [InlineData(null, "(none)")]
    public void A_peer_of_another_runtime_holds_other_keys_and_is_refused(string? runtime, string named)
    {
        Assert.Equal($"peer unix:/p1/internal.sock runs key manager runtime {named}, not {Km}", Only(Evaluate(Fresh() with { RuntimeId = runtime })));
    }

    [Theory]
    [InlineData(KmStatusWords.Starting)]
    [InlineData(KmStatusWords.Absent)]
    [InlineData("stopped")]
    public void A_peer_that_is_not_ready_is_refused(string status)
    {
        Assert.Equal($"peer unix:/p1/internal.sock is {status}, not ready", Only(Evaluate(Fresh() with { Status = status })));
    }

    [Fact]
    public void A_ready_peer_without_a_registered_checksum_is_refused()
    {
        Assert.Contains("has registered no checksum (extra_info)", Only(Evaluate(Fresh() with { Checksum = null })));
    }

    [Fact]
    public void A_peer_whose_checksum_differs_from_the_consensus_it_reports_is_refused()
    {
        Assert.Contains("checksum differs from the consensus key manager checksum", Only(Evaluate(Fresh() with { ConsensusChecksum = new string('0', 64) })));
    }

    [Fact]
    public void A_peer_whose_consensus_is_not_synced_is_refused()
    {
        Assert.Contains("consensus is not synced (it sees epoch 100)", Only(Evaluate(Fresh() with { Synced = false })));
    }

    [Fact]
    public void A_peer_that_never_registered_is_refused_as_stale()
    {
        Assert.Contains("registration is stale", Only(Evaluate(Fresh() with { Registered = false })));
    }

    [Theory]
    [InlineData(99UL, true)]   // expired before the epoch it is in
    [InlineData(100UL, false)] // expires with this epoch: still registered during it
    [InlineData(null, true)]   // no expiration known: counts as expired
    public void A_peer_whose_registration_expired_is_refused(ulong? expiration, bool refused)
    {
        var check = Evaluate(Fresh() with { RegistrationExpiration = expiration });
        Assert.Equal(!refused, check.Ok);
        if (refused) Assert.Contains("registration is stale", Only(check));
    }

    [Fact]
    public void Freshness_is_judged_against_the_newest_epoch_the_caller_saw_not_the_peers_own()
    {
        Assert.True(WipeGuard.Evaluate(Stopped, false, [Fresh()], Km, newestEpoch: 102).Ok);
        var text = Only(WipeGuard.Evaluate(Stopped, false, [Fresh()], Km, newestEpoch: 103));
        Assert.Contains("expires at epoch 102, the network is at epoch 103", text);
        // An older newest epoch than the peer's own changes nothing: the larger one counts.
        Assert.True(WipeGuard.Evaluate(Stopped, false, [Fresh()], Km, newestEpoch: 7).Ok);
    }

    [Fact]
    public void Freshness_counts_a_newer_epoch_another_peer_reported_before_this_one_was_read()
    {
        var stalled = Fresh("unix:/p1/internal.sock") with { At = T0.AddSeconds(1) };
        var ahead = Fresh("unix:/p2/internal.sock") with { Epoch = 110, RegistrationExpiration = 112, At = T0 };
        Assert.Contains("peer unix:/p1/internal.sock's registration is stale", Only(Evaluate(stalled, ahead)));
        // Read after the stalled one: the epoch may have turned in between, so it proves nothing (yet).
        Assert.True(Evaluate(stalled with { At = T0 }, ahead with { At = T0.AddSeconds(1) }).Ok);
    }

    [Fact]
    public void Peers_that_disagree_on_the_checksum_are_refused_and_no_checksum_is_the_verdicts()
    {
        var other = new string('7', 64);
        var check = Evaluate(Fresh("unix:/p1/internal.sock"), Fresh("unix:/p2/internal.sock", other));
        var text = Only(check);
        Assert.StartsWith("staying peers disagree on the checksum (45991796", text);
        Assert.Contains(", 77777777", text);
        Assert.Null(check.PeerChecksum);
    }

    [Fact]
    public void Every_problem_is_listed_at_once_one_per_peer()
    {
        var check = WipeGuard.Evaluate(Running, true, [
            Fresh("unix:/p1/internal.sock") with { Status = KmStatusWords.Starting, Synced = false }, // not ready (and unsynced): one problem
            new PeerCheck("unix:/p2/internal.sock", null, null, "refused"),
            Fresh("unix:/p3/internal.sock"),
        ], Km);
        Assert.Equal(4, check.Problems.Count);
        Assert.Equal(Running.Problem, check.Problems[0]);
        Assert.Contains("listed among its own required peers", check.Problems[1]);
        Assert.Equal("peer unix:/p1/internal.sock is starting, not ready", check.Problems[2]);
        Assert.StartsWith("peer unix:/p2/internal.sock cannot be read", check.Problems[3]);
        // A good peer among bad ones does not make the verdict good.
        Assert.False(check.Ok);
    }

    [Fact]
    public void A_peer_check_is_made_from_a_status_as_read()
    {
        var s = new KmStatus
        {
            Status = KmStatusWords.Ready, RuntimeId = Km, ConsensusChecksum = Sum, Epoch = 100, RegistrationExpiration = 102,
            LastRegistration = T0, ConsensusSynced = true, RetrievedAt = T0,
            InitResponse = new KmInitResponse { Checksum = Sum, PolicyChecksum = "bb", IsSecure = true },
        };
        Assert.Equal(Fresh("unix:/p1/internal.sock"), WipeGuard.FromStatus("unix:/p1/internal.sock", s));
        var unregistered = WipeGuard.FromStatus("unix:/p1/internal.sock", new KmStatus { Status = KmStatusWords.Starting, InitResponseError = "bad cbor" });
        Assert.False(unregistered.Registered);
        Assert.Null(unregistered.Checksum);
        Assert.Equal("bad cbor", unregistered.Error);
    }

    [Fact]
    public void Suspects_are_peers_that_look_stale_only_against_a_later_read()
    {
        Assert.Empty(WipeGuard.Suspects([]));
        Assert.Empty(WipeGuard.Suspects([new PeerCheck("x", null, null, "unreadable")]));
        Assert.Empty(WipeGuard.Suspects([Fresh("a"), Fresh("b")]));
        var early = Fresh("early");
        var late = Fresh("late") with { Epoch = 103, RegistrationExpiration = 105, At = T0.AddSeconds(2) };
        Assert.Equal([early], WipeGuard.Suspects([early, late]));
    }
}
