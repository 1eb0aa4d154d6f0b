using KmPs.Core.LocalState;
using KmPs.Core.Replication;
using KmPs.Core.Status;

namespace KmPs.Core.Tests.Safety;

/// <summary>
/// Issue 9 #4: "freshly registered" is judged against the newest epoch any node reports, and a peer
/// must be synced. A peer that stopped syncing at epoch 100 reports epoch 100 forever, and its
/// registration (expiring at 102) looks fresh to itself while the network is at epoch 140.
/// </summary>
public class FreshnessTests
{
    private const string Km = "4000000000000000000000000000000000000000000000004a1a53dff2ae482d";
    private static readonly NodeStopCheck Stopped = new(true, "stopped (no control socket)", null);

    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    private static PeerCheck Peer(string name, ulong epoch, ulong expires, bool? synced = true, int atMs = 0) =>
        new(name, KmStatusWords.Ready, "aa", null)
        { RuntimeId = Km, Registered = true, RegistrationExpiration = expires, Epoch = epoch, Synced = synced, At = T0.AddMilliseconds(atMs) };

    [Fact]
    public void A_stalled_peer_is_stale_against_the_newest_epoch_another_peer_reported_before_it_was_read()
    {
        var check = WipeGuard.Evaluate(Stopped, false, [Peer("stalled", 100, 102, atMs: 10), Peer("live", 140, 142)], Km);
        Assert.False(check.Ok);
        Assert.Contains(check.Problems, p => p.Contains("stalled") && p.Contains("stale") && p.Contains("140"));
        Assert.DoesNotContain(check.Problems, p => p.Contains("peer live"));
    }

    [Fact]
    public void A_peer_read_before_the_epoch_turned_is_a_suspect_to_read_again_not_a_verdict()
    {
        // Read at 12:00:00.000 in epoch 100 (expiring 102); another peer read 2 s later already saw epoch 103.
        var early = Peer("early", 100, 102);
        var late = Peer("late", 103, 105, atMs: 2000);
        Assert.True(WipeGuard.Evaluate(Stopped, false, [early, late], Km).Ok);
        Assert.Equal([early], WipeGuard.Suspects([early, late]));
        // Read again after the newer read: a stalled peer answers the same and is now stale; a live one has moved on.
        Assert.False(WipeGuard.Evaluate(Stopped, false, [early with { At = T0.AddSeconds(3) }, late], Km).Ok);
        Assert.True(WipeGuard.Evaluate(Stopped, false, [Peer("early", 103, 105, atMs: 3000), late], Km).Ok);
    }

    [Theory]
    [InlineData(101UL, false)]
    [InlineData(102UL, false)]
    [InlineData(103UL, true)]
    public void A_registration_lapses_only_after_its_expiration_epoch_as_in_oasis_core(ulong networkEpoch, bool stale)
    {
        // Expiring at 102: still registered during epoch 102 (Node.IsExpired is Expiration < epoch).
        Assert.Equal(stale, NodeRegistration.IsExpired(102, networkEpoch));
        var check = WipeGuard.Evaluate(Stopped, false, [Peer("p", networkEpoch, 102)], Km);
        Assert.Equal(!stale, check.Ok);
        var r = ReplicationCheck.Evaluate([new("a", Status(networkEpoch, 102), null), new("b", Status(networkEpoch, 102), null)]);
        Assert.Equal(!stale, r.Ok);
        Assert.True(NodeRegistration.IsExpired(null, 0)); // no expiration known counts as expired
    }

    [Fact]
    public void The_newest_epoch_seen_elsewhere_counts_too()
    {
        // The orchestrator has seen the network at epoch 140 on other nodes than the staying peers.
        Assert.True(WipeGuard.Evaluate(Stopped, false, [Peer("p", 100, 102)], Km).Ok);
        var check = WipeGuard.Evaluate(Stopped, false, [Peer("p", 100, 102)], Km, newestEpoch: 140);
        Assert.Contains(check.Problems, p => p.Contains("stale"));
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(null, true)]
    [InlineData(true, true)]
    public void A_peer_whose_consensus_is_syncing_does_not_count(bool? synced, bool ok)
    {
        var check = WipeGuard.Evaluate(Stopped, false, [Peer("p", 100, 102, synced)], Km);
        Assert.Equal(ok, check.Ok);
        if (!ok) Assert.Contains(check.Problems, p => p.Contains("not synced"));
    }

    private static KmStatus Status(ulong epoch, ulong expires, bool? synced = true, int atMs = 0) => new()
    {
        RetrievedAt = T0.AddMilliseconds(atMs),
        Status = KmStatusWords.Ready, Epoch = epoch, RegistrationExpiration = expires, LastRegistration = DateTimeOffset.UnixEpoch,
        ConsensusSynced = synced,
        InitResponse = new KmInitResponse { Checksum = "aa", PolicyChecksum = "bb", IsSecure = true },
    };

    [Fact]
    public void Replication_report_judges_every_registration_against_the_newest_epoch()
    {
        var inputs = new ReplicationCheck.Input[] { new("stalled", Status(100, 102), null), new("live", Status(140, 142, atMs: 5), null) };
        Assert.Equal(["stalled"], ReplicationCheck.Suspects(inputs));
        // Read again, after the live node's read: still epoch 100, expiring 102.
        var r = ReplicationCheck.Evaluate([new("stalled", Status(100, 102, atMs: 10), null), inputs[1]]);
        Assert.False(r.Ok);
        var stalled = r.Nodes.Single(n => n.Name == "stalled");
        Assert.False(stalled.RegistrationFresh);
        Assert.Contains(stalled.Problems, p => p.Contains("stale") && p.Contains("140"));
        Assert.True(r.Nodes.Single(n => n.Name == "live").Ok);
    }

    [Fact]
    public void Replication_report_refuses_a_node_that_is_not_synced()
    {
        var r = ReplicationCheck.Evaluate([new("a", Status(100, 102, synced: false), null), new("b", Status(100, 102), null)]);
        Assert.False(r.Ok);
        Assert.Contains(r.Nodes.Single(n => n.Name == "a").Problems, p => p.Contains("not synced"));
    }
}
