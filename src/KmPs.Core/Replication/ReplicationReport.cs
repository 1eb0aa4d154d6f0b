using KmPs.Core.Status;

namespace KmPs.Core.Replication;

/// <summary>One node's part of a replication check.</summary>
public sealed class ReplicationNodeResult
{
    public string Name { get; init; } = "";
    public string Status { get; init; } = "";
    public string? Version { get; init; }
    public string? Checksum { get; init; }
    public ulong Epoch { get; init; }
    public DateTimeOffset? LastRegistration { get; init; }
    public bool Ready { get; init; }
    public bool HasInitResponse { get; init; }
    public bool ChecksumAgrees { get; init; }
    public bool RegistrationFresh { get; init; }
    public bool VersionOk { get; init; }
    public string[] Problems { get; init; } = Array.Empty<string>();
    public bool Ok => Problems.Length == 0;
}

/// <summary>Output of Test-KmReplication: per node and overall.</summary>
public sealed class ReplicationReport
{
    public bool Ok { get; init; }
    /// <summary>The checksum all nodes agree on (null when they do not).</summary>
    public string? Checksum { get; init; }
    public int NodeCount { get; init; }
    public int ReadyCount { get; init; }
    public ulong Epoch { get; init; }
    /// <summary>1 for a single check; the round number with -Repeat.</summary>
    public int Round { get; init; } = 1;
    public IReadOnlyList<ReplicationNodeResult> Nodes { get; init; } = Array.Empty<ReplicationNodeResult>();
    public IReadOnlyList<string> Problems { get; init; } = Array.Empty<string>();
    public DateTimeOffset CheckedAt { get; init; } = DateTimeOffset.UtcNow;

    public override string ToString() => Ok
        ? $"replicated: {ReadyCount}/{NodeCount} nodes ready with checksum {Hex.Short(Checksum)}"
        : $"NOT replicated: {string.Join("; ", Problems)}";
}

/// <summary>
/// The operator guide's "verify replication", made machine-checkable the way oasis-core's e2e test
/// does (keymanager_upgrade.go ensureReplicationWorked): every node ready, registered with an
/// init response, all checksums equal and equal to the consensus checksum where the node reports
/// it, consensus synced, registration fresh (expiration not behind the newest epoch any node
/// reports), and (optionally) the expected version.
/// </summary>
public static class ReplicationCheck
{
    public sealed record Input(string Name, KmStatus? Status, string? Error, OasisVersion? ExpectedVersion = null);

    /// <summary>
    /// The epoch the network had reached, as far as these reads prove, when <paramref name="at"/>'s
    /// node was read: its own epoch, or a newer one another node reported at or before that moment.
    /// Reads taken later do not count (the epoch may have turned in between), which is why a node
    /// that looks stale only against later reads is read again (see <see cref="Suspects"/>).
    /// </summary>
    public static ulong NetworkEpochAt(DateTimeOffset at, ulong own, IEnumerable<(DateTimeOffset At, ulong Epoch)> reads) =>
        reads.Where(r => r.At <= at).Select(r => r.Epoch).Append(own).Max();

    /// <summary>
    /// Why a node's registration does not count at the network's epoch (null: it does): never
    /// registered, or its descriptor expired (a node that stopped registering drops out of the committee).
    /// Wait-KmNode -Until Replicated waits for the same.
    /// </summary>
    public static string? RegistrationProblem(KmStatus s, ulong network) =>
        s.LastRegistration is null ? "never registered"
        : NodeRegistration.IsExpired(s.RegistrationExpiration, network) ? $"registration is stale (expires at epoch {s.RegistrationExpiration}, the network is at epoch {network})"
        : null;

    /// <summary>Nodes whose registration looks stale against a newer epoch read after them: read them again, then evaluate.</summary>
    public static IReadOnlyList<string> Suspects(IReadOnlyList<Input> inputs)
    {
        var read = inputs.Where(i => i.Status is not null).Select(i => i.Status!).ToList();
        if (read.Count == 0) return Array.Empty<string>();
        var newest = read.MaxBy(s => (s.Epoch, s.RetrievedAt))!;
        return inputs.Where(i => i.Status is { } s && s.RetrievedAt < newest.RetrievedAt && NodeRegistration.IsExpired(s.RegistrationExpiration, newest.Epoch))
            .Select(i => i.Name).ToList();
    }

    public static ReplicationReport Evaluate(IReadOnlyList<Input> inputs, int round = 1)
    {
        var problems = new List<string>();
        if (inputs.Count == 0) problems.Add("no nodes to check");
        var checksums = inputs.Select(i => i.Status?.Checksum).Where(c => c is not null).Distinct().ToList();
        var consensus = inputs.Select(i => i.Status?.ConsensusChecksum).Where(c => c is not null).Distinct().ToList();
        var majority = inputs.Select(i => i.Status?.Checksum).Where(c => c is not null)
            .GroupBy(c => c).OrderByDescending(g => g.Count()).Select(g => g.Key).FirstOrDefault();
        var reference = consensus.Count == 1 ? consensus[0] : majority;
        var epoch = inputs.Select(i => i.Status?.Epoch ?? 0).DefaultIfEmpty(0UL).Max();

        var results = new List<ReplicationNodeResult>();
        foreach (var i in inputs)
        {
            var p = new List<string>();
            var s = i.Status;
            if (s is null)
            {
                p.Add($"cannot read status: {i.Error}");
                results.Add(new ReplicationNodeResult { Name = i.Name, Status = "unreachable", Problems = p.ToArray() });
                continue;
            }
            var ready = s.Status == KmStatusWords.Ready;
            if (!ready) p.Add($"key manager is {s.Status}, not ready");
            var hasInit = s.InitResponse is not null;
            if (!hasInit) p.Add(s.InitResponseError is null
                ? "registered without an init response (extra_info null): the enclave has not initialised"
                : $"extra_info does not decode: {s.InitResponseError}");
            var agrees = hasInit && s.Checksum == reference;
            if (hasInit && !agrees) p.Add($"checksum {Hex.Short(s.Checksum)} differs from {Hex.Short(reference)}");
            if (s.ConsensusChecksum is not null && hasInit && s.ConsensusChecksum != s.Checksum)
                p.Add("checksum differs from the consensus key manager status the node reports");
            // Against the newest epoch any node reports: a node that stopped syncing sees its own epoch stand still.
            var network = NetworkEpochAt(s.RetrievedAt, s.Epoch, inputs.Where(x => x.Status is not null).Select(x => (x.Status!.RetrievedAt, x.Status.Epoch)));
            var registration = RegistrationProblem(s, network);
            var fresh = registration is null;
            if (!fresh) p.Add(registration!);
            if (s.ConsensusSynced == false) p.Add($"consensus is not synced (it sees epoch {s.Epoch}, the newest seen is {epoch})");
            var versionOk = i.ExpectedVersion is null || s.RegisteredVersion == i.ExpectedVersion;
            if (!versionOk) p.Add($"registered version {s.RegisteredVersion} is not the expected {i.ExpectedVersion}");
            results.Add(new ReplicationNodeResult
            {
                Name = i.Name, Status = s.Status, Version = s.RegisteredVersion?.ToString(), Checksum = s.Checksum, Epoch = s.Epoch,
                LastRegistration = s.LastRegistration, Ready = ready, HasInitResponse = hasInit, ChecksumAgrees = agrees,
                RegistrationFresh = fresh, VersionOk = versionOk, Problems = p.ToArray(),
            });
        }
        if (checksums.Count > 1) problems.Add($"{checksums.Count} different checksums among the nodes");
        if (consensus.Count > 1) problems.Add("nodes report different consensus checksums");
        problems.AddRange(results.Where(r => !r.Ok).Select(r => $"{r.Name}: {string.Join("; ", r.Problems)}"));
        return new ReplicationReport
        {
            Ok = problems.Count == 0,
            Checksum = problems.Count == 0 ? reference : null,
            NodeCount = inputs.Count,
            ReadyCount = results.Count(r => r.Ready),
            Epoch = epoch,
            Round = round,
            Nodes = results,
            Problems = problems,
        };
    }
}
