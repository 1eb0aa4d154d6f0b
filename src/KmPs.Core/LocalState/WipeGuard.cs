using KmPs.Control;
using KmPs.Status;

namespace KmPs.LocalState;

/// <summary>What a staying peer reported when the wipe was checked.</summary>
public sealed record PeerCheck(string Socket, string? Status, string? Checksum, string? Error);

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
        var problems = new List<string>();
        bool stopped;
        string nodeState;
        try
        {
            await ControlClient.For(node).GetStatusCborAsync(timeout, ct).ConfigureAwait(false);
            stopped = false;
            nodeState = "running (its control socket answers)";
            problems.Add($"the node is running: {node.Path} answers; stop it first (Stop-KmNode)");
        }
        catch (KmException e) when (e.ErrorId is "SocketNotFound" or "ConnectionRefused")
        {
            stopped = true;
            nodeState = e.ErrorId == "SocketNotFound" ? "stopped (no control socket)" : "stopped (socket refuses connections)";
        }
        catch (KmException e)
        {
            stopped = false;
            nodeState = "unknown: " + e.Message;
            problems.Add($"cannot prove the node is stopped: {e.Message}");
        }

        var distinct = peers.Where(p => p.Path != node.Path).Distinct().ToList();
        if (peers.Any(p => p.Path == node.Path)) problems.Add("the node to wipe is listed among its own required peers");
        if (distinct.Count == 0)
            problems.Add("no staying peer was given: wiping would leave no verified holder of the key material (use -RequirePeer)");

        var checks = await Task.WhenAll(distinct.Select(async p =>
        {
            try
            {
                var s = await ControlClient.For(p).GetStatusAsync(timeout, ct).ConfigureAwait(false);
                return (new PeerCheck(p.ToString(), s.Status, s.Checksum, s.InitResponseError), s);
            }
            catch (KmException e)
            {
                return (new PeerCheck(p.ToString(), null, null, e.Message), (KmStatus?)null);
            }
        })).ConfigureAwait(false);

        foreach (var (r, s) in checks)
        {
            if (s is null) problems.Add($"peer {r.Socket} cannot be read: {r.Error}");
            else if (s.RuntimeId != runtimeId) problems.Add($"peer {r.Socket} runs key manager runtime {s.RuntimeId ?? "(none)"}, not {runtimeId}");
            else if (r.Status != KmStatusWords.Ready) problems.Add($"peer {r.Socket} is {r.Status}, not ready");
            else if (r.Checksum is null) problems.Add($"peer {r.Socket} is ready but has registered no checksum (extra_info)");
            else if (s.ConsensusChecksum is not null && s.ConsensusChecksum != r.Checksum)
                problems.Add($"peer {r.Socket}'s checksum differs from the consensus key manager checksum it reports");
            else if (s.LastRegistration is null || (s.RegistrationExpiration ?? 0) <= s.Epoch)
                problems.Add($"peer {r.Socket}'s registration is stale (expires at epoch {s.RegistrationExpiration}, now {s.Epoch})");
        }
        var results = checks.Select(c => c.Item1).ToList();
        var checksums = results.Where(r => r.Checksum is not null).Select(r => r.Checksum!).Distinct().ToList();
        if (checksums.Count > 1)
            problems.Add($"staying peers disagree on the checksum ({string.Join(", ", checksums.Select(Hex.Short))}): the key material is not consistent");

        return new WipeCheck
        {
            NodeStopped = stopped,
            NodeState = nodeState,
            Peers = results,
            PeerChecksum = checksums.Count == 1 ? checksums[0] : null,
            Problems = problems,
        };
    }
}
