using KmPs.Core.Status;
using KmPs.Tools;

namespace KmPs.Chaos;

/// <summary>A fault and when (milliseconds after the main call started) it is applied.</summary>
public sealed record ScheduledFault(FaultKind Kind, string? Node, int AtMs, int Value)
{
    public override string ToString() => Kind switch
    {
        FaultKind.DeclinePrompt => $"{Kind}(No at prompt {Value})",
        FaultKind.WrongOrc => $"{Kind}({WrongOrcKinds[Value]})",
        FaultKind.StopOrchestrator => $"{Kind}(@{AtMs}ms, resume after {Value}ms)",
        FaultKind.SlowStart => $"{Kind}({Node} {Value}ms @{AtMs}ms)",
        FaultKind.RestartedByHand => $"{Kind}(before the resume)",
        FaultKind.AliasEntry or FaultKind.SocketElsewhere => $"{Kind}({Node})",
        _ => $"{Kind}({Node} @{AtMs}ms)",
    };

    public static readonly string[] WrongOrcKinds = { "other runtime", "undeployed version", "corrupt file", "another build", "other network" };
}

/// <summary>Everything random about one run, drawn from (seed, run index) alone so a run can be replayed.</summary>
public sealed class RunPlan
{
    public int Index { get; init; }
    public int Seed { get; init; }
    public int Nodes { get; init; }
    public SchemaGeneration Generation { get; init; }
    public int EpochMs { get; init; }
    public int UpgradeInEpochs { get; init; }
    public int TimeoutSec { get; init; }
    public int NodeTimeoutSec { get; init; }
    public IReadOnlyList<string> FirstHalf { get; init; } = Array.Empty<string>();
    public IReadOnlyList<string> SecondHalf { get; init; } = Array.Empty<string>();
    public IReadOnlyList<ScheduledFault> Faults { get; init; } = Array.Empty<ScheduledFault>();

    public ScheduledFault? Fault(FaultKind kind) => Faults.FirstOrDefault(f => f.Kind == kind);

    public override string ToString() =>
        $"{Nodes} nodes, {Generations.Text(Generation)}, epoch {EpochMs} ms, upgrade in {UpgradeInEpochs} epochs, timeout {TimeoutSec} s; " +
        $"faults: {(Faults.Count == 0 ? "none" : string.Join(", ", Faults))}";

    /// <summary>The kinds chaos draws from, in this order (a seed's schedules depend on it).</summary>
    public static readonly FaultKind[] Kinds =
    {
        FaultKind.CrashWhileReplicating, FaultKind.ReplicationRefused, FaultKind.PeerUnreachable, FaultKind.RegistrationFails,
        FaultKind.SealWriteError, FaultKind.SlowStart, FaultKind.KillNode, FaultKind.StopOrchestrator, FaultKind.DeclinePrompt,
        FaultKind.WrongOrc, FaultKind.RestartedByHand, FaultKind.AliasEntry, FaultKind.SocketElsewhere,
    };

    public static RunPlan Generate(int seed, int index, bool quick)
    {
        var rng = new Random(unchecked(seed * 1_000_003 + index * 7919 + 17));
        var nodes = rng.Next(2, 6);
        var names = Enumerable.Range(1, nodes).Select(i => $"km{i}").ToList();
        // The planner's default: the last max(1, n/2) nodes of the inventory go first.
        var first = Math.Max(1, nodes / 2);
        var firstHalf = names.Skip(nodes - first).ToList();
        var secondHalf = names.Take(nodes - first).ToList();
        var generation = new[] { SchemaGeneration.V22_2, SchemaGeneration.V23_0, SchemaGeneration.V24 }[rng.Next(3)];
        var epochMs = rng.Next(200, 401);
        var upgradeIn = rng.Next(3, 13);
        var timeoutSec = rng.Next(10, 16);

        // 0, 1 or 2 faults (20/40/40), of distinct kinds.
        var roll = rng.Next(10);
        var count = roll < 2 ? 0 : roll < 6 ? 1 : 2;
        var kinds = Kinds.OrderBy(_ => rng.Next()).Take(count).ToList();
        // A node restarted by hand between two calls needs a call that stops.
        if (kinds.Contains(FaultKind.RestartedByHand) && !kinds.Contains(FaultKind.StopOrchestrator)) kinds.Add(FaultKind.StopOrchestrator);
        string Pick(IReadOnlyList<string> from) => from[rng.Next(from.Count)];
        IReadOnlyList<string> Upgrading() => rng.Next(10) < 7 || secondHalf.Count == 0 ? firstHalf : secondHalf;
        IReadOnlyList<string> Sources() => rng.Next(10) < 7 && secondHalf.Count > 0 ? secondHalf : names;
        const int horizon = 8000;
        var faults = kinds.Select(k => k switch
        {
            FaultKind.CrashWhileReplicating or FaultKind.SealWriteError => new ScheduledFault(k, Pick(Upgrading()), rng.Next(horizon), 0),
            FaultKind.SlowStart => new ScheduledFault(k, Pick(Upgrading()), rng.Next(horizon), rng.Next(500, 5001)),
            FaultKind.ReplicationRefused or FaultKind.PeerUnreachable => new ScheduledFault(k, Pick(Sources()), rng.Next(horizon), 0),
            FaultKind.RegistrationFails or FaultKind.KillNode => new ScheduledFault(k, Pick(names), rng.Next(horizon), 0),
            FaultKind.StopOrchestrator => new ScheduledFault(k, null, rng.Next(200, horizon + 1000), rng.Next(0, 1500)),
            // Three prompts a node: Stop, Wipe, SetBundle.
            FaultKind.DeclinePrompt => new ScheduledFault(k, null, 0, rng.Next(1, 3 * nodes + 1)),
            FaultKind.WrongOrc => new ScheduledFault(k, null, 0, rng.Next(ScheduledFault.WrongOrcKinds.Length)),
            FaultKind.RestartedByHand => new ScheduledFault(k, null, 0, 0),
            FaultKind.AliasEntry => new ScheduledFault(k, Pick(names), 0, 0),
            FaultKind.SocketElsewhere => new ScheduledFault(k, Pick(names), 0, 0),
            _ => throw new InvalidOperationException(k.ToString()),
        }).OrderBy(f => f.AtMs).ToList();

        return new RunPlan
        {
            Index = index, Seed = seed, Nodes = nodes, Generation = generation, EpochMs = epochMs, UpgradeInEpochs = upgradeIn,
            TimeoutSec = quick ? 8 : timeoutSec, NodeTimeoutSec = 10,
            FirstHalf = firstHalf, SecondHalf = secondHalf, Faults = faults,
        };
    }
}
