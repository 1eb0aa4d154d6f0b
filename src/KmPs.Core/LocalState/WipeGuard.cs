using KmPs.Core.Control;
using KmPs.Core.Status;

namespace KmPs.Core.LocalState;

/// <summary>What a staying peer reported when the wipe was checked.</summary>
public sealed record PeerCheck(string Socket, string? Status, string? Checksum, string? Error)
{
    public string? RuntimeId { get; init; }
    public string? ConsensusChecksum { get; init; }
    public bool Registered { get; init; }
    public ulong? RegistrationExpiration { get; init; }
    public ulong Epoch { get; init; }
    /// <summary>Whether the peer's consensus is synced (null when its status does not say).</summary>
    public bool? Synced { get; init; }
    /// <summary>When the status was read.</summary>
    public DateTimeOffset At { get; init; } = DateTimeOffset.UtcNow;
}

/// <summary>Whether the node to wipe is stopped, as seen on its own machine.</summary>
public sealed record NodeStopCheck(bool Stopped, string State, string? Problem);

/// <summary>The verdict of <see cref="WipeGuard"/>: every problem found, and what was seen.</summary>
public sealed class WipeCheck
{
    public bool NodeStopped { get; init; }
    public string NodeState { get; init; } = "";
    public IReadOnlyList<PeerCheck> Peers { get; init; } = Array.Empty<PeerCheck>();
    public string? PeerChecksum { get; init; }
    public IReadOnlyList<string> Problems { get; init; } = Array.Empty<string>();
    public bool Ok => Problems.Count == 0;
}

/// <summary>
/// Invariants 1 and 2, checked at the moment of the wipe: the node's control socket must not
/// answer (it is stopped), and at least one other node that stays untouched must be ready with the
/// same checksum as every other staying peer, so the wipe never takes the live holders of the key
/// material to zero.
/// </summary>
public static class WipeGuard
{
    /// <param name="runtimeId">The key manager runtime being wiped: every peer must hold that runtime's keys.</param>
    public static async Task<WipeCheck> CheckAsync(SocketAddress node, IReadOnlyList<SocketAddress> peers, string runtimeId, TimeSpan timeout, CancellationToken ct)
    {
        var stop = await CheckStoppedAsync(node, timeout, ct).ConfigureAwait(false);
        var distinct = peers.Where(p => p.Path != node.Path).Distinct().ToList();
        var results = await Task.WhenAll(distinct.Select(p => ReadPeerAsync(p, timeout, ct))).ConfigureAwait(false);
        return Evaluate(stop, peers.Any(p => p.Path == node.Path), results, runtimeId);
    }

    /// <summary>Invariant 1 alone: the node's control socket does not answer. Runs on the node's machine.</summary>
    public static async Task<NodeStopCheck> CheckStoppedAsync(SocketAddress node, TimeSpan timeout, CancellationToken ct)
    {
        try
        {
            await ControlClient.For(node).GetStatusCborAsync(timeout, ct).ConfigureAwait(false);
            return new NodeStopCheck(false, "running (its control socket answers)", $"the node is running: {node.Path} answers; stop it first (Stop-KmNode)");
        }
        catch (KmException e) when (e.ErrorId is "SocketNotFound" or "ConnectionRefused")
        {
            return new NodeStopCheck(true, e.ErrorId == "SocketNotFound" ? "stopped (no control socket)" : "stopped (socket refuses connections)", null);
        }
        catch (KmException e)
        {
            return new NodeStopCheck(false, "unknown: " + e.Message, $"cannot prove the node is stopped: {e.Message}");
        }
    }

    /// <summary>A staying peer's status as the guard needs it; an unreadable peer is reported, not thrown.</summary>
    public static async Task<PeerCheck> ReadPeerAsync(SocketAddress peer, TimeSpan timeout, CancellationToken ct)
    {
        try { return FromStatus(peer.ToString(), await ControlClient.For(peer).GetStatusAsync(timeout, ct).ConfigureAwait(false)); }
        catch (KmException e) { return new PeerCheck(peer.ToString(), null, null, e.Message); }
    }

    public static PeerCheck FromStatus(string peer, KmStatus s) => new(peer, s.Status, s.Checksum, s.InitResponseError)
    {
        RuntimeId = s.RuntimeId,
        ConsensusChecksum = s.ConsensusChecksum,
        Registered = s.LastRegistration is not null,
        RegistrationExpiration = s.RegistrationExpiration,
        Epoch = s.Epoch,
        Synced = s.ConsensusSynced,
        At = s.RetrievedAt,
    };

    /// <summary>Peers that look stale only against a newer epoch read after them: read them again before judging.</summary>
    public static IReadOnlyList<PeerCheck> Suspects(IReadOnlyList<PeerCheck> peers)
    {
        var read = peers.Where(p => p.Status is not null).ToList();
        if (read.Count == 0) return Array.Empty<PeerCheck>();
        var newest = read.MaxBy(p => (p.Epoch, p.At))!;
        return read.Where(p => p.At < newest.At && NodeRegistration.IsExpired(p.RegistrationExpiration, newest.Epoch)).ToList();
    }

    /// <summary>
    /// The verdict from what was seen: the node stopped, at least one staying peer, every peer of the
    /// same runtime, synced, ready, registered and fresh, with one checksum agreeing with consensus.
    /// Peers may have been read anywhere (on other machines through their sessions).
    /// </summary>
    /// <param name="newestEpoch">The newest epoch the caller saw before these reads (on any node). Freshness is
    /// judged against it and against what other peers reported at or before each read, not against
    /// each peer's own epoch: a peer that stopped syncing reports the epoch it stalled at, and its
    /// registration looks fresh to itself forever (read <see cref="Suspects"/> again first).</param>
    public static WipeCheck Evaluate(NodeStopCheck node, bool nodeAmongPeers, IReadOnlyList<PeerCheck> peers, string runtimeId, ulong? newestEpoch = null)
    {
        var reads = peers.Where(p => p.Status is not null).Select(p => (p.At, p.Epoch)).ToList();
        var problems = new List<string>();
        if (node.Problem is not null) problems.Add(node.Problem);
        if (nodeAmongPeers) problems.Add("the node to wipe is listed among its own required peers");
        if (peers.Count == 0)
            problems.Add("no staying peer was given: wiping would leave no verified holder of the key material (use -RequirePeer)");
        foreach (var r in peers)
        {
            if (r.Status is null) problems.Add($"peer {r.Socket} cannot be read: {r.Error}");
            else if (r.RuntimeId != runtimeId) problems.Add($"peer {r.Socket} runs key manager runtime {r.RuntimeId ?? "(none)"}, not {runtimeId}");
            else if (r.Status != KmStatusWords.Ready) problems.Add($"peer {r.Socket} is {r.Status}, not ready");
            else if (r.Checksum is null) problems.Add($"peer {r.Socket} is ready but has registered no checksum (extra_info)");
            else if (r.ConsensusChecksum is not null && r.ConsensusChecksum != r.Checksum)
                problems.Add($"peer {r.Socket}'s checksum differs from the consensus key manager checksum it reports");
            else if (r.Synced == false)
                problems.Add($"peer {r.Socket}'s consensus is not synced (it sees epoch {r.Epoch}): the network may already have dropped it");
            else if (Math.Max(newestEpoch ?? 0, Replication.ReplicationCheck.NetworkEpochAt(r.At, r.Epoch, reads)) is var network
                     && (!r.Registered || NodeRegistration.IsExpired(r.RegistrationExpiration, network)))
                problems.Add($"peer {r.Socket}'s registration is stale (expires at epoch {r.RegistrationExpiration}, the network is at epoch {network})");
        }
        var checksums = peers.Where(r => r.Checksum is not null).Select(r => r.Checksum!).Distinct().ToList();
        if (checksums.Count > 1)
            problems.Add($"staying peers disagree on the checksum ({string.Join(", ", checksums.Select(Hex.Short))}): the key material is not consistent");

        return new WipeCheck
        {
            NodeStopped = node.Stopped,
            NodeState = node.State,
            Peers = peers,
            PeerChecksum = checksums.Count == 1 ? checksums[0] : null,
            Problems = problems,
        };
    }
}
