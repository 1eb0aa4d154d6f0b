using KmPs.Explorer.Model;
using KmPs.Tools;

namespace KmPs.Explorer;

/// <summary>
/// Everything a schedule's next invocation starts from: the model cluster, the journal file's text
/// (the orchestrator's own memory between runs) and what the explorer knows from outside (nodes
/// changed by a host call, nodes a fault left dead). Cloned to share a prefix between schedules.
/// </summary>
public sealed class World
{
    public required ModelCluster Model { get; set; }
    public string? Journal { get; set; }
    /// <summary>Nodes a mutating host call was made on (from any invocation so far).</summary>
    public HashSet<string> Mutated { get; set; } = new();
    /// <summary>Nodes a fault (kill, crash) ended, which the operator has not restarted yet.</summary>
    public HashSet<string> Dead { get; set; } = new();
    public int Invocations { get; set; }

    public World Clone() => new()
    {
        Model = Model.Clone(), Journal = Journal, Mutated = new HashSet<string>(Mutated), Dead = new HashSet<string>(Dead), Invocations = Invocations,
    };

    /// <summary>This world takes the state of <paramref name="other"/> (a copy; its invocation count stays this world's).</summary>
    public void Become(World other)
    {
        Model = other.Model.Clone();
        Journal = other.Journal;
        Mutated = new HashSet<string>(other.Mutated);
        Dead = new HashSet<string>(other.Dead);
    }
}

/// <summary>How one Invoke-KmSafeUpgrade call over a world goes.</summary>
public sealed class InvocationSpec
{
    public StopPoint? Stop { get; init; }
    public bool Confirm { get; init; }
    /// <summary>With -Confirm: the answer at prompt <see cref="PromptIndex"/> (Yes before it); null: Yes to every prompt.</summary>
    public PromptAnswer? Answer { get; init; }
    public int PromptIndex { get; init; }
    public FaultKind? Fault { get; init; }
    public int FaultStep { get; init; }
    public string? FaultNode { get; init; }
}

/// <summary>What one invocation did and how it ended.</summary>
public sealed class InvocationResult
{
    public required Tools.UpgradeOutcome Outcome { get; init; }
    public int Mutations { get; init; }
    public IReadOnlyList<int> StepsStarted { get; init; } = Array.Empty<int>();
    public int Prompts { get; init; }
    public bool StoppedByUs { get; init; }
    public bool FaultApplied { get; init; }
    /// <summary>For a latent fault (ModelCluster.IsLatent): the later steps at whose start the model had not read it yet.</summary>
    public IReadOnlyList<int> FaultUnreadAt { get; init; } = Array.Empty<int>();

    /// <summary>Every point this invocation could have been stopped at: after each mutating call, at each step's start.</summary>
    public IEnumerable<StopPoint> Boundaries =>
        Enumerable.Range(1, Mutations).Select(k => new StopPoint('A', k)).Concat(StepsStarted.Select(i => new StopPoint('B', i)));
}
