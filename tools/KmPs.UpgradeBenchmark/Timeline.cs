using System.Globalization;
using System.Text.Json;
using KmPs.Core.Inventory;
using KmPs.Simulator.Cluster;
using KmPs.Tools;

namespace KmPs.UpgradeBenchmark;

/// <summary>One lifecycle command of a node (its inventory start or stop script), as timed by the wrapper.</summary>
public sealed record LifecycleCommand(string Verb, string Node, DateTimeOffset Begin, DateTimeOffset End)
{
    public double Seconds => (End - Begin).TotalSeconds;
}

/// <summary>
/// Everything one measured upgrade left behind: when it started and ended, the journal's step times,
/// each lifecycle command's begin and end, when each upgraded node logged "key manager ready", and
/// the epoch clock with the upgrade epoch.
/// </summary>
public sealed class Timeline
{
    public required DateTimeOffset Start { get; init; }
    public required DateTimeOffset End { get; init; }
    public required JournalView Journal { get; init; }
    public required IReadOnlyList<LifecycleCommand> Commands { get; init; }
    /// <summary>Node → when it became ready on the new version (first "key manager ready" log line after its upgrade start).</summary>
    public required IReadOnlyDictionary<string, DateTimeOffset> Ready { get; init; }
    public required EpochClock Clock { get; init; }
    public required long GenesisUnixMs { get; init; }
    public required int EpochMs { get; init; }
    public required ulong FirstEpoch { get; init; }
    public required ulong UpgradeEpoch { get; init; }

    public DateTimeOffset EpochStart(ulong epoch) =>
        DateTimeOffset.FromUnixTimeMilliseconds(GenesisUnixMs + (long)(epoch - FirstEpoch) * EpochMs);

    public ulong EpochAt(DateTimeOffset t) => Clock.At(t.ToUnixTimeMilliseconds());

    public LifecycleCommand Command(string verb, string node) => Commands.Last(c => c.Verb == verb && c.Node == node);

    // ---- collection ---------------------------------------------------------------------------

    public const string CommandLogName = "lifecycle-times.log";

    /// <summary>
    /// Wraps every node's start and stop script so each run appends "verb node begin end" to the
    /// command log. A start ends when the node first answers a status call (a fresh node process
    /// takes a few hundred milliseconds to serve its first request after its socket appears): no
    /// orchestrator can go on before that, so it counts as the node's start time, not as overhead.
    /// </summary>
    public static void WrapLifecycleScripts(ClusterLayout layout)
    {
        var log = Path.Combine(layout.Root, CommandLogName).Replace("'", "''");
        var nodes = InventoryFile.ParseJson(File.ReadAllText(layout.InventoryFile), layout.InventoryFile).ToList();
        string Wrap(string verb, KmNode node, string script, string then = "") =>
            "$kmBenchBegin = [DateTime]::UtcNow.ToString('o'); " + script + then +
            $"; [System.IO.File]::AppendAllText('{log}', \"{verb} {node.Name} $kmBenchBegin $([DateTime]::UtcNow.ToString('o'))`n\")";
        foreach (var n in nodes)
        {
            var answers = $"; while (-not @(Get-KmStatus -Socket '{n.Socket}' -TimeoutSec 5 -ErrorAction SilentlyContinue)) {{ [System.Threading.Thread]::Sleep(5) }}";
            n.StartScript = Wrap("start", n, n.StartScript!, answers);
            n.StopScript = Wrap("stop", n, n.StopScript!);
        }
        File.WriteAllText(layout.InventoryFile, InventoryFile.ToJson(nodes));
    }

    public static Timeline Collect(ClusterLayout layout, string journalPath, DateTimeOffset start, DateTimeOffset end, string newVersion)
    {
        var journal = JournalView.Load(journalPath) ?? throw new InvalidOperationException("no journal");
        var commands = File.ReadAllLines(Path.Combine(layout.Root, CommandLogName))
            .Select(l => l.Split(' '))
            .Select(p => new LifecycleCommand(p[0], p[1], Parse(p[2]), Parse(p[3])))
            .ToList();
        var ready = new Dictionary<string, DateTimeOffset>();
        foreach (var node in journal.FirstHalf.Concat(journal.SecondHalf))
        {
            var started = commands.Last(c => c.Verb == "start" && c.Node == node).Begin;
            var line = File.ReadLines(layout.LogFile(node))
                .Select(l => JsonDocument.Parse(l).RootElement)
                .Where(e => e.GetProperty("msg").GetString() == "registered with init response, key manager ready")
                .Select(e => Parse(e.GetProperty("ts").GetString()!))
                .FirstOrDefault(t => t > started);
            if (line != default) ready[node] = line;
        }
        var spec = ClusterSpec.Load(layout);
        return new Timeline
        {
            Start = start, End = end, Journal = journal, Commands = commands, Ready = ready,
            Clock = EpochClock.Of(spec), GenesisUnixMs = spec.GenesisUnixMs, EpochMs = spec.EpochIntervalMs, FirstEpoch = spec.FirstEpoch,
            UpgradeEpoch = new Chain(layout).Deployments().First(d => d.Version == newVersion).ValidFrom,
        };
    }

    private static DateTimeOffset Parse(string s) => DateTimeOffset.Parse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);
}
