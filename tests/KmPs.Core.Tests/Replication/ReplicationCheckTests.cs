using KmPs.Core.Replication;
using KmPs.Core.Status;

namespace KmPs.Core.Tests.Replication;

/// <summary>
/// The replication verdict (<see cref="ReplicationCheck.Evaluate"/>, what Test-KmReplication and the
/// upgrade's two verifications decide on): each reason a node is not replicated, alone, and the case
/// where every node is.
/// </summary>
public class ReplicationCheckTests
{
    private const string Sum = "459917961a1500a1b2dad9f6ed54760caa6426a098d7e086fc909daf56926bf2";
    private static readonly string Other = new('7', 64);
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly OasisVersion V6 = new(0, 6, 0);

    /// <summary>A replicated 24+ node: ready, initialised with the checksum consensus reports, registered until 102 at epoch 100, synced.</summary>
    private static KmStatus Replicated(string checksum = Sum, string? consensus = Sum, string status = KmStatusWords.Ready, ulong epoch = 100,
        ulong? expiration = 102, bool registered = true, bool? synced = true, string? version = "0.6.0", bool initialised = true, string? initError = null) => new()
    {
        Status = status, Epoch = epoch, RegistrationExpiration = expiration, LastRegistration = registered ? T0 : null, ConsensusSynced = synced,
        ConsensusChecksum = consensus, RegisteredVersion = version is null ? null : OasisVersion.Parse(version), RetrievedAt = T0,
        InitResponse = initialised ? new KmInitResponse { Checksum = checksum, PolicyChecksum = "bb", IsSecure = true } : null,
        InitResponseError = initError,
    };

    private static ReplicationCheck.Input In(string name, KmStatus? s, string? error = null, OasisVersion? expected = null) => new(name, s, error, expected);

    private static ReplicationNodeResult Node(ReplicationReport r, string name) => r.Nodes.Single(n => n.Name == name);

    [Fact]
    public void Every_node_ready_with_the_consensus_checksum_fresh_and_synced_is_replicated()
    {
        var r = ReplicationCheck.Evaluate([In("km1", Replicated()), In("km2", Replicated(epoch: 101))], round: 2);
        Assert.True(r.Ok, string.Join("; ", r.Problems));
        Assert.Equal(Sum, r.Checksum);
        Assert.Equal(2, r.NodeCount);
        Assert.Equal(2, r.ReadyCount);
        Assert.Equal(101UL, r.Epoch);
        Assert.Equal(2, r.Round);
        Assert.Empty(r.Problems);
        Assert.All(r.Nodes, n =>
        {
            Assert.True(n.Ok);
            Assert.True(n.Ready && n.HasInitResponse && n.ChecksumAgrees && n.RegistrationFresh && n.VersionOk);
            Assert.Equal("0.6.0", n.Version);
        });
        Assert.Equal($"replicated: 2/2 nodes ready with checksum {Hex.Short(Sum)}", r.ToString());
    }

    [Fact]
    public void Older_nodes_that_report_no_consensus_checksum_and_no_sync_state_agree_with_each_other()
    {
        var old = Replicated(consensus: null, synced: null);
        Assert.True(ReplicationCheck.Evaluate([In("km1", old), In("km2", old)]).Ok);
    }

    [Fact]
    public void No_nodes_is_not_replicated()
    {
        var r = ReplicationCheck.Evaluate([]);
        Assert.False(r.Ok);
        Assert.Equal(["no nodes to check"], r.Problems);
        Assert.Null(r.Checksum);
        Assert.StartsWith("NOT replicated: no nodes to check", r.ToString());
    }

    [Fact]
    public void An_unreachable_node_is_not_replicated_and_says_why()
    {
        var r = ReplicationCheck.Evaluate([In("km1", Replicated()), In("km2", null, "SocketNotFound: no socket")]);
        Assert.False(r.Ok);
        var km2 = Node(r, "km2");
        Assert.Equal("unreachable", km2.Status);
        Assert.Equal(["cannot read status: SocketNotFound: no socket"], km2.Problems);
        Assert.Equal(["km2: cannot read status: SocketNotFound: no socket"], r.Problems);
        Assert.Equal(1, r.ReadyCount);
        Assert.Null(r.Checksum);
    }

    [Theory]
    [InlineData(KmStatusWords.Starting)]
    [InlineData(KmStatusWords.Stopped)]
    [InlineData(KmStatusWords.Absent)]
    public void A_node_that_is_not_ready_is_not_replicated(string status)
    {
        var r = ReplicationCheck.Evaluate([In("km1", Replicated()), In("km2", Replicated(status: status))]);
        Assert.False(r.Ok);
        Assert.False(Node(r, "km2").Ready);
        Assert.Contains($"key manager is {status}, not ready", Node(r, "km2").Problems);
        Assert.Equal(1, r.ReadyCount);
    }

    [Fact]
    public void A_node_registered_without_an_init_response_has_not_initialised()
    {
        var r = ReplicationCheck.Evaluate([In("km1", Replicated()), In("km2", Replicated(initialised: false))]);
        var km2 = Node(r, "km2");
        Assert.False(r.Ok);
        Assert.False(km2.HasInitResponse);
        Assert.False(km2.ChecksumAgrees);
        Assert.Contains(km2.Problems, p => p.Contains("extra_info null"));
    }

    [Fact]
    public void An_init_response_that_does_not_decode_says_so()
    {
        var r = ReplicationCheck.Evaluate([In("km1", Replicated(initialised: false, initError: "CBOR: unexpected end"))]);
        Assert.Contains("extra_info does not decode: CBOR: unexpected end", Node(r, "km1").Problems);
    }

    [Fact]
    public void Without_a_consensus_checksum_the_majority_is_the_reference_and_the_odd_node_is_named()
    {
        var r = ReplicationCheck.Evaluate([
            In("km1", Replicated(consensus: null)), In("km2", Replicated(consensus: null)), In("km3", Replicated(Other, consensus: null)),
        ]);
        Assert.False(r.Ok);
        Assert.True(Node(r, "km1").Ok);
        Assert.True(Node(r, "km2").Ok);
        Assert.False(Node(r, "km3").ChecksumAgrees);
        Assert.Contains($"checksum {Hex.Short(Other)} differs from {Hex.Short(Sum)}", Node(r, "km3").Problems);
        Assert.Contains("2 different checksums among the nodes", r.Problems);
    }

    [Fact]
    public void The_consensus_checksum_is_the_reference_even_against_a_majority()
    {
        // Two nodes agree with each other on a checksum consensus does not have: they are the ones that are wrong.
        var r = ReplicationCheck.Evaluate([In("km1", Replicated(Other)), In("km2", Replicated(Other)), In("km3", Replicated())]);
        Assert.False(r.Ok);
        Assert.True(Node(r, "km3").Ok);
        Assert.Contains($"checksum {Hex.Short(Other)} differs from {Hex.Short(Sum)}", Node(r, "km1").Problems);
        Assert.Contains("checksum differs from the consensus key manager status the node reports", Node(r, "km1").Problems);
    }

    [Fact]
    public void Nodes_that_report_different_consensus_checksums_are_not_replicated()
    {
        var r = ReplicationCheck.Evaluate([In("km1", Replicated()), In("km2", Replicated(Sum, consensus: Other))]);
        Assert.False(r.Ok);
        Assert.Contains("nodes report different consensus checksums", r.Problems);
    }

    [Fact]
    public void A_node_that_never_registered_is_not_replicated()
    {
        var r = ReplicationCheck.Evaluate([In("km1", Replicated(registered: false))]);
        Assert.False(Node(r, "km1").RegistrationFresh);
        Assert.Contains("never registered", Node(r, "km1").Problems);
    }

    [Theory]
    [InlineData(99UL, false)]
    [InlineData(100UL, true)]
    [InlineData(null, false)]
    public void A_registration_counts_until_its_expiration_epoch(ulong? expiration, bool fresh)
    {
        var r = ReplicationCheck.Evaluate([In("km1", Replicated(expiration: expiration))]);
        Assert.Equal(fresh, r.Ok);
        Assert.Equal(fresh, Node(r, "km1").RegistrationFresh);
        if (!fresh) Assert.Contains(Node(r, "km1").Problems, p => p.StartsWith("registration is stale", StringComparison.Ordinal));
    }

    // The rule Wait-KmNode -Until Replicated shares: against the network's epoch, not the node's own.
    [Fact]
    public void A_registration_problem_is_judged_at_the_network_epoch()
    {
        Assert.Null(ReplicationCheck.RegistrationProblem(Replicated(expiration: 102), 102));
        Assert.Equal("registration is stale (expires at epoch 102, the network is at epoch 103)", ReplicationCheck.RegistrationProblem(Replicated(expiration: 102), 103));
        Assert.Equal("never registered", ReplicationCheck.RegistrationProblem(Replicated(registered: false), 100));
        Assert.StartsWith("registration is stale", ReplicationCheck.RegistrationProblem(Replicated(expiration: null), 100));
    }

    [Fact]
    public void A_node_whose_consensus_is_not_synced_is_not_replicated()
    {
        var r = ReplicationCheck.Evaluate([In("km1", Replicated(synced: false))]);
        Assert.Contains("consensus is not synced (it sees epoch 100, the newest seen is 100)", Node(r, "km1").Problems);
    }

    [Fact]
    public void The_expected_version_must_be_the_registered_one()
    {
        Assert.True(ReplicationCheck.Evaluate([In("km1", Replicated(), expected: V6)]).Ok);
        var r = ReplicationCheck.Evaluate([In("km1", Replicated(version: "0.5.0"), expected: V6)]);
        Assert.False(Node(r, "km1").VersionOk);
        Assert.Contains("registered version 0.5.0 is not the expected 0.6.0", Node(r, "km1").Problems);
        var unregistered = ReplicationCheck.Evaluate([In("km1", Replicated(version: null), expected: V6)]);
        Assert.False(unregistered.Ok);
    }

    [Fact]
    public void Every_problem_of_every_node_is_listed_and_no_checksum_is_the_verdicts()
    {
        var r = ReplicationCheck.Evaluate([
            In("km1", Replicated(status: KmStatusWords.Starting, synced: false)),
            In("km2", null, "refused"),
            In("km3", Replicated()),
        ]);
        Assert.Equal(["km1: key manager is starting, not ready; consensus is not synced (it sees epoch 100, the newest seen is 100)", "km2: cannot read status: refused"], r.Problems);
        Assert.Null(r.Checksum);
        Assert.Equal(3, r.NodeCount);
        Assert.Equal(1, r.ReadyCount);
    }

    [Fact]
    public void The_network_epoch_at_a_read_is_the_newest_seen_at_or_before_it()
    {
        var reads = new[] { (T0, 100UL), (T0.AddSeconds(2), 103UL) };
        Assert.Equal(100UL, ReplicationCheck.NetworkEpochAt(T0, 100, reads));
        Assert.Equal(103UL, ReplicationCheck.NetworkEpochAt(T0.AddSeconds(3), 100, reads));
        Assert.Equal(105UL, ReplicationCheck.NetworkEpochAt(T0, 105, reads)); // its own epoch counts
        Assert.Equal(7UL, ReplicationCheck.NetworkEpochAt(T0, 7, []));
    }
}
