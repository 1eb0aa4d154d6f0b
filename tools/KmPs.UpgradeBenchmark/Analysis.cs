namespace KmPs.UpgradeBenchmark;

/// <summary>
/// A measured upgrade split into the waits no orchestrator could avoid and where the rest went.
/// </summary>
/// <remarks>
/// Unavoidable = the end of an ideal schedule built from this run's own measurements, with zero
/// orchestration cost: from the run's start, each first-half node's stop and start commands back to
/// back (their measured durations); each first-half node ready at max(its ideal start end, the
/// upgrade epoch's start) + its measured replication latency (ready log line − max(actual start
/// end, epoch start)); the second verification at the first epoch boundary after the whole first
/// half is ready (one epoch after the first verification, which can be at that moment); then each
/// second-half node's stop and start back to back, each ready its measured latency after its start.
/// The parts of that critical path are reported in <see cref="Unavoidable"/>, in order; everything
/// else the real run spent is in <see cref="Overhead"/>, step by step from the journal's timestamps.
/// </remarks>
public sealed class Analysis
{
    public double Total { get; private init; }
    public double UnavoidableTotal => Unavoidable.Values.Sum();
    public Dictionary<string, double> Unavoidable { get; } = new();
    /// <summary>Time the real run spent beyond its own lifecycle commands and the waits for conditions (epoch, ready).</summary>
    public Dictionary<string, double> Overhead { get; } = new();
    /// <summary>Time the real run spent in lifecycle commands and in waits until the condition became true.</summary>
    public Dictionary<string, double> Waits { get; } = new();
    public double Ratio => Total / UnavoidableTotal;

    public static readonly string[] UnavoidableParts =
    {
        "first half stop+start (until answering)", "rest of the wait for the upgrade epoch", "first half replication",
        "to the next epoch (verify again)", "second half stop+start (until answering)", "second half replication",
    };

    private const string Preflight = "pre-flight and plan", BeforeCommand = "before stop/start commands",
        AfterStop = "after stop commands", AfterStart = "after start commands", Wipe = "wipe", SetBundle = "set bundle", EpochLate = "epoch seen late",
        ReplicationLate = "replication seen late", Verify = "verify", AgainLate = "verify again seen late",
        Slipped = "verify slipped to a later epoch", Final = "final verify and status";

    public static readonly string[] OverheadParts =
        { Preflight, BeforeCommand, AfterStop, AfterStart, Wipe, SetBundle, EpochLate, ReplicationLate, Verify, AgainLate, Slipped, Final };

    public static Analysis Of(Timeline t)
    {
        var a = new Analysis { Total = (t.End - t.Start).TotalSeconds };
        foreach (var p in UnavoidableParts) a.Unavoidable[p] = 0;
        foreach (var p in OverheadParts) a.Overhead[p] = 0;
        a.Waits["lifecycle commands"] = 0;
        a.Waits["until the upgrade epoch"] = 0;
        a.Waits["until replicated"] = 0;
        a.Waits["until the next epoch"] = 0;
        var first = t.Journal.FirstHalf;
        var second = t.Journal.SecondHalf;
        var epochStart = t.EpochStart(t.UpgradeEpoch);
        double Rep(string node, DateTimeOffset notBefore)
        {
            var startEnd = t.Command("start", node).End;
            var from = startEnd > notBefore ? startEnd : notBefore;
            return t.Ready.TryGetValue(node, out var r) ? Math.Max(0, (r - from).TotalSeconds) : 0;
        }
        double Lifecycle(string node) => t.Command("stop", node).Seconds + t.Command("start", node).Seconds;

        // ---- the ideal schedule
        var clock = t.Start;
        var ready1 = t.Start;
        foreach (var n in first)
        {
            clock = clock.AddSeconds(Lifecycle(n));
            var from = clock > epochStart ? clock : epochStart;
            var r = from.AddSeconds(Rep(n, epochStart));
            if (r > ready1) ready1 = r;
        }
        var firstStarted = clock;
        a.Unavoidable[UnavoidableParts[0]] = (firstStarted - t.Start).TotalSeconds;
        a.Unavoidable[UnavoidableParts[1]] = Math.Max(0, (epochStart - firstStarted).TotalSeconds);
        var replicationFrom = firstStarted > epochStart ? firstStarted : epochStart;
        a.Unavoidable[UnavoidableParts[2]] = Math.Max(0, (ready1 - replicationFrom).TotalSeconds);
        var again = t.EpochStart(t.EpochAt(ready1) + 1);
        a.Unavoidable[UnavoidableParts[3]] = (again - ready1).TotalSeconds;
        clock = again;
        var ready2 = again;
        foreach (var n in second)
        {
            clock = clock.AddSeconds(Lifecycle(n));
            var r = clock.AddSeconds(Rep(n, epochStart));
            if (r > ready2) ready2 = r;
        }
        a.Unavoidable[UnavoidableParts[4]] = (clock - again).TotalSeconds;
        a.Unavoidable[UnavoidableParts[5]] = Math.Max(0, (ready2 - clock).TotalSeconds);

        // ---- the real run, step by step
        var previous = t.Start;
        var firstStep = true;
        ulong verifiedAt = 0;
        DateTimeOffset Latest(params DateTimeOffset[] xs) => xs.Max();
        foreach (var s in t.Journal.Steps)
        {
            var began = previous;
            var took = (s.At - began).TotalSeconds;
            previous = s.At;
            switch (s.Action)
            {
                case "Stop" or "Start":
                    var c = t.Command(s.Action.ToLowerInvariant(), s.Node);
                    var before = (c.Begin - began).TotalSeconds;
                    a.Overhead[firstStep ? Preflight : BeforeCommand] += before;
                    a.Overhead[s.Action == "Stop" ? AfterStop : AfterStart] += took - before - c.Seconds;
                    a.Waits["lifecycle commands"] += c.Seconds;
                    break;
                case "Wipe": a.Overhead[Wipe] += took; break;
                case "SetBundle": a.Overhead[SetBundle] += took; break;
                case "WaitEpoch":
                    var reached = Latest(began, epochStart);
                    a.Waits["until the upgrade epoch"] += (reached - began).TotalSeconds;
                    a.Overhead[EpochLate] += (s.At - reached).TotalSeconds;
                    break;
                case "WaitReplicated":
                    var half = s.Node == "first" ? first : second;
                    var replicated = Latest(half.Select(n => t.Ready.GetValueOrDefault(n, began)).Append(began).ToArray());
                    a.Waits["until replicated"] += (replicated - began).TotalSeconds;
                    a.Overhead[ReplicationLate] += (s.At - replicated).TotalSeconds;
                    break;
                case "Verify" when s.Node == "first":
                    verifiedAt = ulong.Parse(s.Detail ?? "0");
                    a.Overhead[Verify] += took;
                    break;
                case "VerifyAgain":
                    var boundary = Latest(began, t.EpochStart(verifiedAt + 1));
                    // An ideal run verifies in the epoch the first half became ready; a later epoch costs whole epochs.
                    var ideal = t.EpochStart(t.EpochAt(Latest(first.Select(n => t.Ready.GetValueOrDefault(n, t.Start)).ToArray())) + 1);
                    var slipped = Math.Max(0, (t.EpochStart(verifiedAt + 1) - ideal).TotalSeconds);
                    a.Overhead[Slipped] += Math.Min(slipped, (boundary - began).TotalSeconds);
                    a.Waits["until the next epoch"] += Math.Max(0, (boundary - began).TotalSeconds - slipped);
                    a.Overhead[AgainLate] += (s.At - boundary).TotalSeconds;
                    break;
                default: a.Overhead[Final] += took; break; // final:Verify
            }
            firstStep = false;
        }
        a.Overhead[Final] += (t.End - previous).TotalSeconds;
        return a;
    }
}
