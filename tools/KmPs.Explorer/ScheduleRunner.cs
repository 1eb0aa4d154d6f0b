using System.Diagnostics;
using System.Management.Automation;
using KmPs.Explorer.Model;
using KmPs.Core.Orchestration;
using KmPs.Core.Status;
using KmPs.Core.Timing;
using KmPs.Tools;

namespace KmPs.Explorer;

/// <summary>What one schedule did: its invocations, the checks made, what was wrong.</summary>
public sealed class ScheduleResult
{
    public required Schedule Schedule { get; init; }
    public List<string> Violations { get; } = new();
    /// <summary>States checked: after every host call and pause of the invocations this schedule ran.</summary>
    public long States { get; set; }
    /// <summary>The schedule's invocations of Invoke-KmSafeUpgrade (those shared with an earlier schedule's prefix not counted again).</summary>
    public int Invocations { get; set; }
    /// <summary>Of <see cref="Invocations"/>, those run; the others started from a world and command an explored invocation had (<see cref="ScheduleRunner.Invoke"/>).</summary>
    public int Executed { get; set; }
    /// <summary>States of the invocations not run again (checked when their twin ran).</summary>
    public long CoveredStates { get; set; }
    /// <summary>How the last invocation ended: "completed", or the ErrorId of a clear stop.</summary>
    public string Final { get; set; } = "";
    public bool Finished => Final == "completed";
    /// <summary>The schedule's stop points, prompt or fault had something to act on.</summary>
    public bool Applicable { get; set; } = true;
    public int MinHolders { get; set; } = int.MaxValue;
    public string? Note { get; set; }
    /// <summary>How each invocation ended, in order (for a replay).</summary>
    public List<string> Runs { get; } = new();
    /// <summary>A latent fault's schedule: the later steps of its first run at whose start the model had not read the fault yet.</summary>
    public IReadOnlyList<int> FaultUnreadAt { get; set; } = Array.Empty<int>();
    /// <summary>Taken whole from this schedule (<see cref="Explorer"/>): its runs are the same.</summary>
    public string? SameAs { get; set; }
}

/// <summary>
/// One pwsh engine with the module imported once, over the in-memory cluster (this process's node
/// host and poll clock): runs invocations of the real Invoke-KmSafeUpgrade over a <see cref="World"/>,
/// stopping the pipeline, answering prompts and injecting faults as the schedule says, and checks the
/// invariants from outside, on the model's state, after every host call and every pause.
/// </summary>
public sealed class ScheduleRunner : IHostCallWatcher, IHostListener, IDisposable
{
    public const int TimeoutSec = 20;
    public const int NodeTimeoutSec = 10;
    private static readonly TimeSpan ModelTimeLimit = TimeSpan.FromHours(6);
    private static readonly TimeSpan RealTimeLimit = TimeSpan.FromMinutes(10);

    private readonly UpgradeEngine _engine;
    private readonly IDisposable _clock;
    private readonly string _journalPath;
    private World? _world;
    private Current? _inv;
    private ScheduleResult? _result;
    private ClusterSetup? _setup;

    /// <summary>The state of the invocation being run.</summary>
    private sealed class Current
    {
        public required InvocationSpec Spec { get; init; }
        public TimeSpan StartedAt { get; init; }
        public int Mutations;
        public readonly List<(string Node, string Op, bool Failed)> Calls = new();
        public readonly List<int> Steps = new();
        public int Prompts;
        public int? DeclinedAfter;
        public bool StopPending, StopRequested, FaultApplied, HolderViolation, FaultRead;
        /// <summary>Steps after the fault's at whose start the model had not read the (latent) fault yet.</summary>
        public readonly List<int> FaultUnreadAt = new();
        /// <summary>Completed once the explorer's stop of this invocation's pipeline is through.</summary>
        public readonly TaskCompletionSource StopDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public readonly Queue<string> Output = new();
    }

    public ScheduleRunner(string workDir)
    {
        Directory.CreateDirectory(workDir);
        _journalPath = Path.Combine(workDir, "journal.json");
        // Waits pause on the model's clock: each pause moves the cluster on (its nodes tick) and is checked.
        _clock = PollClock.Use(Pause, () => _world?.Model.Now ?? TimeSpan.Zero);
        _engine = new UpgradeEngine(new ExplorerHost(this));
        // The module's KmPs.dll is loaded by Import-Module (not referenced here): its NodeHosts by reflection.
        var module = AppDomain.CurrentDomain.GetAssemblies().First(a => a.GetName().Name == "KmPs");
        var nodeHosts = module.GetType("KmPs.Remoting.NodeHosts", throwOnError: true)!;
        nodeHosts.GetMethod("UseForLocalNodes")!.Invoke(null, new object[] { new ModelNodeHost(() => _world!.Model, this) });
    }

    public void Dispose()
    {
        _stops.CompleteAdding();
        _stopper?.Join();
        _engine.Dispose();
        _clock.Dispose();
    }

    // ---- schedules

    /// <summary>A new world over a fresh cluster of <paramref name="setup"/>.</summary>
    public World Fresh(ClusterSetup setup) => new() { Model = setup.NewCluster() };

    /// <summary>Schedule <paramref name="s"/>, whose runs are those of <paramref name="twin"/> (the same states in the same order): covered, not executed.</summary>
    public static ScheduleResult SameRuns(Schedule s, ScheduleResult twin)
    {
        var r = new ScheduleResult
        {
            Schedule = s, Invocations = twin.Invocations, CoveredStates = twin.States + twin.CoveredStates, Final = twin.Final,
            Applicable = twin.Applicable, MinHolders = twin.MinHolders, Note = twin.Note, SameAs = twin.Schedule.ToString(),
        };
        r.Runs.Add($"the runs of {twin.Schedule}: the fault it set at step {twin.Schedule.FaultStep} was still unread at the start of step {s.FaultStep}");
        return r;
    }

    public ScheduleResult Begin(Schedule s, ClusterSetup setup)
    {
        _setup = setup;
        _result = new ScheduleResult { Schedule = s };
        return _result;
    }

    /// <summary>Runs a whole schedule from a fresh cluster (the replay path; the explorer shares prefixes instead, with the same steps).</summary>
    public ScheduleResult Run(Schedule s, ClusterSetup setup)
    {
        var r = Begin(s, setup);
        var w = Fresh(setup);
        switch (s.Kind)
        {
            case ScheduleKind.Base:
                Finish(w, Invoke(w, new InvocationSpec()));
                break;
            case ScheduleKind.Stop:
            case ScheduleKind.HandStart:
                foreach (var p in s.Stops)
                    if (!Invoke(w, new InvocationSpec { Stop = p }).StoppedByUs) { r.Applicable = false; r.Note = $"no stop point {p}"; return r; }
                if (s.Kind == ScheduleKind.HandStart && !StartByHand(w)) { r.Applicable = false; r.Note = "no node was stopped"; return r; }
                Finish(w, Invoke(w, new InvocationSpec()));
                break;
            case ScheduleKind.Prompt:
                RunPrompt(w, s);
                break;
            case ScheduleKind.Fault:
                RunFault(w, s);
                break;
        }
        return r;
    }

    public void RunPrompt(World w, Schedule s)
    {
        var first = Invoke(w, new InvocationSpec { Confirm = true, Answer = s.Answer, PromptIndex = s.PromptIndex });
        if (first.Prompts < s.PromptIndex) { _result!.Applicable = false; _result.Note = $"only {first.Prompts} prompts"; }
        if (first.Outcome.Success || !_result!.Applicable) { Finish(w, first); return; }
        Finish(w, Invoke(w, new InvocationSpec()));
    }

    public void RunFault(World w, Schedule s)
    {
        var first = Invoke(w, new InvocationSpec { Fault = s.Fault, FaultStep = s.FaultStep, FaultNode = s.FaultNode });
        if (!first.FaultApplied) { _result!.Applicable = false; _result.Note = "the fault had nothing to act on"; }
        _result!.FaultUnreadAt = first.FaultUnreadAt;
        if (first.Outcome.Success) { Finish(w, first); return; }
        Recover(w);
        Finish(w, Invoke(w, new InvocationSpec()));
    }

    /// <summary>The last invocation of a schedule: how it ended.</summary>
    public void Finish(World w, InvocationResult last) =>
        _result!.Final = last.Outcome.Success ? "completed" : last.StoppedByUs ? "stopped" : last.Outcome.ErrorId ?? "?";

    /// <summary>What an operator does after a run stopped on a fault (as KmPs.Chaos does): faults removed, nodes that died restarted and given time to become ready.</summary>
    public void Recover(World w)
    {
        var m = w.Model;
        m.ClearFaults();
        var journal = w.Journal is null ? null : JournalView.Parse(w.Journal);
        var restarted = new List<ModelNode>();
        foreach (var n in m.Nodes)
        {
            var done = journal?.StepsOf(n.Name).Select(x => x.Action).ToList() ?? new List<string>();
            // A node the upgrade stopped and did not start again is the upgrade's to start.
            if (n.Running || (journal is not null && journal.Touched(n.Name) && !done.Contains("Start"))) continue;
            m.StartProcess(n, by: "operator, after the failure");
            restarted.Add(n);
        }
        w.Dead.Clear();
        // The operator looks before running the command again: at least an epoch passes (a node whose
        // registration failed registers again), and every restarted or slow node answers and is ready (at most 10 epochs).
        var until = m.Now + m.EpochLength;
        for (var i = 0; i < 50 && (m.Now < until || m.Nodes.Any(n => n.Running && (!n.Answering(m.Now) || (restarted.Contains(n) && n.KmStatus != KmStatusWords.Ready)))); i++)
            m.Advance(TimeSpan.FromMilliseconds(400));
    }

    /// <summary>The operator starts by hand every node that is not running (after the orchestrator stopped mid-run).</summary>
    public bool StartByHand(World w)
    {
        var stopped = w.Model.Nodes.Where(n => !n.Running).ToList();
        foreach (var n in stopped) w.Model.StartProcess(n, by: "hand, between the stop and the resume");
        return stopped.Count > 0;
    }

    // ---- one invocation

    /// <summary>The world of the last invocation (for a replay's events).</summary>
    public World? LastWorld { get; private set; }

    private static string Describe(InvocationSpec s) =>
        (s.Stop is null ? "" : $" stop at {s.Stop}") + (s.Confirm ? $" -Confirm ({s.Answer}@{s.PromptIndex})" : "") +
        (s.Fault is null ? "" : $" fault {s.Fault}@{s.FaultStep}{(s.FaultNode is null ? "" : ":" + s.FaultNode)}");

    /// <summary>Invocations run, and those found explored (<see cref="Invoke"/>).</summary>
    public long Executions { get; private set; }
    public long MemoHits { get; private set; }

    /// <summary>False: run every invocation, even one whose world and command an explored invocation had (--no-memo).</summary>
    public bool Memoize { get; init; } = true;

    /// <summary>An explored invocation without a violation: the world it left, how it ended, what it checked.</summary>
    private sealed record Explored(World After, InvocationResult Result, long States, int MinHolders, string Run);

    private readonly Dictionary<string, Explored> _explored = new(StringComparer.Ordinal);
    private ClusterSetup? _exploredSetup;
    private const int MaxExplored = 100_000;

    /// <summary>
    /// One invocation of Invoke-KmSafeUpgrade over <paramref name="w"/>. The model, the module and the
    /// explorer's checks are deterministic: an invocation is a function of its world (<see cref="WorldKey"/>:
    /// model, journal, what the end checks read) and its command (stop point, prompt answers, fault).
    /// So when a schedule's prefix reaches a world from which this command already ran without a
    /// violation (stopped at X, resumed and stopped at Y, the world at Y is the one a single stop at a
    /// later point left; a recovered fault's world is another fault's), its effect is taken from that
    /// run: the same end world, outcome and checks, counted as covered, not executed. Every distinct
    /// (world, command) still runs with every check; one with a violation is never reused, so each
    /// schedule that reaches it reports it with its own replay line.
    /// </summary>
    public InvocationResult Invoke(World w, InvocationSpec spec)
    {
        if (!Memoize) return Execute(w, spec);
        if (!ReferenceEquals(_exploredSetup, _setup) || _explored.Count >= MaxExplored)
        {
            _explored.Clear();
            _exploredSetup = _setup;
        }
        var twins = Profile.Measure(Profile.Phase.Twins);
        var key = WorldKey.Of(w) + "\ncommand " + Key(spec);
        var r = _result!;
        if (_explored.TryGetValue(key, out var seen))
        {
            MemoHits++;
            w.Become(seen.After);
            twins.Dispose();
            w.Invocations++;
            r.Invocations++;
            r.CoveredStates += seen.States;
            r.MinHolders = Math.Min(r.MinHolders, seen.MinHolders);
            r.Runs.Add($"run {w.Invocations}{Describe(spec)}: {seen.Run} (as an explored run from the same world)");
            LastWorld = w;
            return seen.Result;
        }
        twins.Dispose();
        var violations = r.Violations.Count;
        var states = r.States;
        var minHolders = r.MinHolders;
        r.MinHolders = int.MaxValue;
        var result = Execute(w, spec);
        var runMin = r.MinHolders;
        r.MinHolders = Math.Min(minHolders, runMin);
        if (r.Violations.Count == violations)
            using (Profile.Measure(Profile.Phase.Twins))
                _explored[key] = new Explored(w.Clone(), result, r.States - states, runMin, r.Runs[^1][(r.Runs[^1].IndexOf(": ", StringComparison.Ordinal) + 2)..]);
        return result;
    }

    private static string Key(InvocationSpec s) =>
        $"stop={s.Stop} confirm={s.Confirm} answer={s.Answer}@{s.PromptIndex} fault={s.Fault}@{s.FaultStep}:{s.FaultNode}";

    private InvocationResult Execute(World w, InvocationSpec spec)
    {
        _world = w;
        w.Invocations++;
        _result!.Invocations++;
        _result.Executed++;
        Executions++;
        if (w.Journal is null) { if (File.Exists(_journalPath)) File.Delete(_journalPath); }
        else File.WriteAllText(_journalPath, w.Journal);
        var inv = _inv = new Current { Spec = spec, StartedAt = w.Model.Now };
        var call = new UpgradeCall(_setup!.InventoryPath, _setup.BundlePath, _journalPath, spec.Confirm, TimeoutSec, NodeTimeoutSec);
        UpgradeOutcome outcome;
        using (new Timer(_ => { Violation("hang: the invocation ran for 10 min of real time; stopped"); RequestStop(); }, null, RealTimeLimit, Timeout.InfiniteTimeSpan))
            outcome = _engine.Run(call);
        if (inv.StopRequested) inv.StopDone.Task.Wait();
        w.Journal = File.Exists(_journalPath) ? File.ReadAllText(_journalPath) : null;
        var result = new InvocationResult
        {
            Outcome = outcome, Mutations = inv.Mutations, StepsStarted = inv.Steps.ToList(), Prompts = inv.Prompts,
            StoppedByUs = inv.StopRequested, FaultApplied = inv.FaultApplied, FaultUnreadAt = inv.FaultUnreadAt.ToList(),
        };
        using (Profile.Measure(Profile.Phase.Checks)) CheckEnd(w, inv, result);
        _result.Runs.Add($"run {w.Invocations}{Describe(spec)}: {(inv.StopRequested ? "stopped by the explorer" : outcome.Describe())}" +
                         $" ({inv.Mutations} mutating call(s), steps {string.Join(",", inv.Steps)}, {inv.Prompts} prompt(s))" +
                         (outcome.Message is { } text && !inv.StopRequested ? "\n      " + text.Replace("\n", "\n      ") : ""));
        _inv = null;
        LastWorld = w;
        return result;
    }

    private void Violation(string what)
    {
        var r = _result!;
        lock (r.Violations)
        {
            r.Violations.Add($"invocation {_world?.Invocations}: {what}");
            if (r.Violations.Count == 1 && _inv is not null)
                r.Violations.Add("  last output: " + string.Join(" | ", _inv.Output.TakeLast(12)));
        }
    }

    // ---- stopping the pipeline

    /// <summary>
    /// Stops are made by one long-lived thread (PowerShell.Stop blocks until the pipeline has stopped,
    /// so it cannot run on the pipeline thread); a thread started for every stop cost more than the run.
    /// </summary>
    private readonly System.Collections.Concurrent.BlockingCollection<Current> _stops = new();
    private Thread? _stopper;

    private void RequestStop()
    {
        var inv = _inv;
        if (inv is null || inv.StopRequested) return;
        inv.StopRequested = true;
        if (_stopper is null)
        {
            _stopper = new Thread(() =>
            {
                foreach (var c in _stops.GetConsumingEnumerable())
                {
                    try { _engine.Stop(); }
                    finally { c.StopDone.TrySetResult(); }
                }
            }) { IsBackground = true, Name = "explorer stop" };
            _stopper.Start();
        }
        _stops.Add(inv);
    }

    public Task<T> StopPipeline<T>(T result)
    {
        RequestStop();
        // The pipeline thread waits on this task and gives up when the stop cancels its wait; the task
        // itself completes once the stop is through.
        var done = _inv?.StopDone.Task ?? Task.CompletedTask;
        return done.ContinueWith(_ => result, CancellationToken.None, TaskContinuationOptions.RunContinuationsAsynchronously, TaskScheduler.Default);
    }

    // ---- IHostCallWatcher

    public bool StopBefore(string op, ModelNode? node)
    {
        var inv = _inv;
        if (inv is null) return false;
        if (inv.StopRequested) return true;
        if (!inv.StopPending) return false;
        inv.StopPending = false;
        return true;
    }

    public bool After(string op, ModelNode? node, bool mutating, Exception? failure)
    {
        using var timing = Profile.Measure(Profile.Phase.Checks);
        var inv = _inv;
        var w = _world!;
        if (inv is null) return false;
        _result!.States++;
        if (mutating && node is not null)
        {
            inv.Calls.Add((node.Name, op, failure is not null));
            w.Mutated.Add(node.Name);
            if (inv.DeclinedAfter is not null) Violation($"{op} on {node.Name} after the prompt answered {inv.Spec.Answer}");
            CheckMutation(w, op, node, failure);
        }
        CheckState(w, $"after {op}{(node is null ? "" : " " + node.Name)}");
        if (!mutating || failure is not null) return false;
        inv.Mutations++;
        return inv.Spec.Stop is { Kind: 'A' } a && a.Index == inv.Mutations;
    }

    private Task Pause(TimeSpan interval, CancellationToken ct)
    {
        var inv = _inv;
        var w = _world;
        if (inv is null || w is null || inv.StopRequested) return Task.CompletedTask;
        using (Profile.Measure(Profile.Phase.Model)) w.Model.Advance(interval);
        _result!.States++;
        using (Profile.Measure(Profile.Phase.Checks)) CheckState(w, "after a pause");
        if (w.Model.Now - inv.StartedAt > ModelTimeLimit)
        {
            Violation($"hang: the invocation waited {ModelTimeLimit.TotalHours} h of model time; stopped");
            RequestStop();
            return Task.Delay(Timeout.Infinite, ct).ContinueWith(_ => { }, TaskScheduler.Default);
        }
        return Task.CompletedTask;
    }

    // ---- IHostListener

    public void StepStarting(int index, string description)
    {
        var inv = _inv;
        if (inv is null) return;
        inv.Steps.Add(index);
        if (inv.Spec.Stop is { Kind: 'B' } b && b.Index == index) inv.StopPending = true;
        if (inv.Spec.Fault is { } kind && inv.Spec.FaultStep == index && !inv.FaultApplied)
        {
            var m = _world!.Model;
            var target = inv.Spec.FaultNode is null ? null : m.Node(inv.Spec.FaultNode);
            inv.FaultApplied = m.Inject(kind, target);
            if (inv.FaultApplied && kind is FaultKind.KillNode) _world.Dead.Add(target!.Name);
        }
        else if (inv.FaultApplied && !inv.FaultRead && inv.Spec.Fault is { } latent && ModelCluster.IsLatent(latent))
        {
            // Until the model reads it, a latent fault changes nothing: this step starts as in the run without it.
            if (_world!.Model.Consulted.Contains((inv.Spec.FaultNode!, latent))) inv.FaultRead = true;
            else inv.FaultUnreadAt.Add(index);
        }
    }

    public string Answer(string caption, string message)
    {
        var inv = _inv!;
        inv.Prompts++;
        if (!System.Text.RegularExpressions.Regex.IsMatch(message, @"Performing the operation ""(Stop km\d+ |Move km\d+'s sealed state|Point km\d+'s config)"))
            Violation($"a prompt that is not a destructive step of the plan: {caption}: {message}");
        if (!inv.Spec.Confirm)
        {
            Violation($"a prompt in a run with -Confirm:$false: {message}");
            return "No";
        }
        if (inv.Spec.Answer is not { } answer || answer == PromptAnswer.Yes || inv.Prompts < inv.Spec.PromptIndex) return "Yes";
        if (inv.Prompts > inv.Spec.PromptIndex)
        {
            Violation($"prompt {inv.Prompts} after the answer {answer} at prompt {inv.Spec.PromptIndex}: {message}");
            return "No";
        }
        if (answer is PromptAnswer.No or PromptAnswer.NoToAll) inv.DeclinedAfter = inv.Mutations;
        return answer switch { PromptAnswer.No => "No", PromptAnswer.NoToAll => "No to All", _ => "Yes to All" };
    }

    public void Output(string line)
    {
        var q = _inv?.Output;
        if (q is null) return;
        q.Enqueue(line.TrimEnd());
        if (q.Count > 40) q.Dequeue();
    }

    // ---- the invariants, on the model's state

    /// <summary>After every host call and pause: someone holds the key material; no wipe under a running process.</summary>
    private void CheckState(World w, string when)
    {
        var m = w.Model;
        var holders = m.Nodes.Count(n => n.State is { } s && s.Checksum == m.Checksum && m.Files.TryGetValue(n.Bundle, out var f) && f.Enclave == s.Enclave);
        if (holders < _result!.MinHolders) _result.MinHolders = holders;
        if (holders == 0 && !_inv!.HolderViolation)
        {
            _inv.HolderViolation = true;
            var backups = m.Nodes.Count(n => n.Backups.Any(b => b.Content?.Checksum == m.Checksum));
            Violation($"{when}: no node holds key material its configured enclave can unseal ({backups} node(s) keep it in a backup)");
        }
        if (m.WipesWhileRunning.Count > 0)
        {
            foreach (var x in m.WipesWhileRunning) Violation(x);
            m.WipesWhileRunning.Clear();
        }
    }

    /// <summary>
    /// A mutating call happens inside its own step (the journal's step in progress is that node's
    /// action), a second-half node is touched only after the first half was verified twice an epoch
    /// apart from the upgrade epoch on, and a wipe moves a state only while every staying node is
    /// ready with the consensus checksum (read at the same model instant as the guard read them).
    /// </summary>
    private void CheckMutation(World w, string op, ModelNode node, Exception? failure)
    {
        var j = JournalView.Load(_journalPath);
        var key = $"{node.Name}:{op}";
        if (j?.InProgress != key) Violation($"{op} on {node.Name} while the journal's step in progress is {j?.InProgress ?? "none"}");
        if (j is null) return;
        var m = w.Model;
        if (j.SecondHalf.Contains(node.Name) && j.FirstHalf.Count > 0)
        {
            var verify = j.Step("first:Verify");
            var again = j.Step("first:VerifyAgain");
            if (verify is null || again is null) Violation($"{op} on {node.Name} (second half) before the first half was verified twice");
            else
            {
                var e1 = ulong.Parse(verify.Detail ?? "0");
                var e2 = ulong.Parse(again.Detail ?? "0");
                if (e1 < m.UpgradeEpoch) Violation($"{op} on {node.Name}: the first verification was at epoch {e1}, before the upgrade epoch {m.UpgradeEpoch}");
                if (e2 < e1 + 1) Violation($"{op} on {node.Name}: the second verification (epoch {e2}) was not an epoch after the first ({e1})");
            }
        }
        if (op == "Wipe" && failure is null && m.LastWipeMoved == node.Name)
        {
            m.LastWipeMoved = null;
            var staying = j.FirstHalf.Contains(node.Name) ? j.SecondHalf.Concat(j.Skipped) : j.FirstHalf.Concat(j.Skipped);
            var holders = 0;
            foreach (var p in staying.Select(m.Node))
            {
                var reg = m.Registry.GetValueOrDefault(p.Name);
                if (p.Answering(m.Now) && p.HasSecret && p.KmStatus == KmStatusWords.Ready && reg?.Checksum == m.Checksum && reg.Expiration >= m.Epoch) holders++;
                else Violation($"{node.Name} wiped while staying {p.Name} was not ready with the checksum ({(p.Answering(m.Now) ? p.KmStatus : "down")}, registered {reg?.Version ?? "no"})");
            }
            if (holders == 0) Violation($"{node.Name} wiped with no staying node ready");
        }
    }

    /// <summary>How the invocation ended, against the model: untouched nodes untouched, no false success, a stop that names every node's state.</summary>
    private void CheckEnd(World w, Current inv, InvocationResult r)
    {
        var m = w.Model;
        var o = r.Outcome;
        var j = w.Journal is null ? null : JournalView.Parse(w.Journal);
        foreach (var n in m.Nodes.Where(n => j is null || !j.Touched(n.Name)))
        {
            var problems = new List<string>();
            if (w.Mutated.Contains(n.Name)) problems.Add("a mutating host call was made on it");
            if (n.Bundle != Path.Combine(n.BundleDir, $"keymanager-{ModelCluster.OldVersion}.orc")) problems.Add($"its config names {Path.GetFileName(n.Bundle)}");
            if (n.State is not { } s || s.Enclave != m.OldEnclave) problems.Add("its state is not the old enclave's any more");
            if (n.Backups.Count > 0) problems.Add("it has a backup");
            if (!w.Dead.Contains(n.Name) && !(n.Answering(m.Now) && n.KmStatus == KmStatusWords.Ready && n.RunVersion == ModelCluster.OldVersion))
                problems.Add($"it is {(n.Answering(m.Now) ? n.KmStatus + " on " + n.RunVersion : "not answering")}");
            if (problems.Count > 0) Violation($"untouched {n.Name} (the journal never touched it): {string.Join("; ", problems)}");
        }
        if (inv.StopRequested)
        {
            if (!o.Stopped && !o.Success) Violation($"the pipeline was stopped, but the run ended with {o.ErrorId}: {First(o.Message)}");
            return;
        }
        if (o.Stopped) { Violation("the run ended stopped though nothing stopped it"); return; }
        if (o.Success)
        {
            foreach (var n in m.Nodes)
            {
                var reg = m.Registry.GetValueOrDefault(n.Name);
                var file = m.Files.GetValueOrDefault(n.Bundle);
                if (!(n.Answering(m.Now) && n.KmStatus == KmStatusWords.Ready && n.HasSecret && n.RunVersion == ModelCluster.NewVersion
                      && file?.Version == ModelCluster.NewVersion && reg?.Version == ModelCluster.NewVersion && reg.Checksum == m.Checksum))
                    Violation($"false success: {n.Name} is {(n.Answering(m.Now) ? n.KmStatus : "down")}, runs {n.RunVersion}, config {Path.GetFileName(n.Bundle)}, registered {reg?.Version} checksum {(reg?.Checksum == m.Checksum ? "ok" : "wrong")}");
            }
            if (inv.Spec.Answer is PromptAnswer.No or PromptAnswer.NoToAll && inv.Prompts >= inv.Spec.PromptIndex)
                Violation($"the run succeeded though prompt {inv.Spec.PromptIndex} was answered {inv.Spec.Answer}");
            return;
        }
        var id = o.ErrorId ?? "?";
        if (!ClearErrors.Contains(id)) { Violation($"the run ended with an unclear error {id}: {First(o.Message)}"); return; }
        if (inv.Spec.Answer is PromptAnswer.No or PromptAnswer.NoToAll && inv.Prompts >= inv.Spec.PromptIndex && id != "UpgradeDeclined")
            Violation($"prompt {inv.Spec.PromptIndex} was answered {inv.Spec.Answer}, but the run ended with {id}");
        if (id == "PreflightFailed")
        {
            if (inv.Calls.Count > 0) Violation($"the pre-flight failed after {inv.Calls.Count} mutating call(s)");
            if (o.Message?.Contains("nothing was changed") != true) Violation("the pre-flight failure does not say nothing was changed");
            return;
        }
        if (id is "UpgradeStopped" or "UpgradeDeclined" or "ResumeStateMismatch")
        {
            if (o.Target is not UpgradeStopReport report) { Violation($"{id} carries no UpgradeStopReport but {o.Target?.GetType().Name ?? "nothing"}"); return; }
            CheckReport(w, inv, report, j, o.Message ?? "");
        }
    }

    /// <summary>Error ids that stop a run with a clear explanation.</summary>
    public static readonly HashSet<string> ClearErrors = new() { "UpgradeStopped", "UpgradeDeclined", "PreflightFailed", "PlanRefused", "ResumeStateMismatch" };

    private static string First(string? s) => s?.Split('\n')[0] ?? "";

    /// <summary>The stop report names each node's state as the model has it: liveness, status word, registered version, the steps done, and its advice's claims.</summary>
    private void CheckReport(World w, Current inv, UpgradeStopReport report, JournalView? j, string message)
    {
        var m = w.Model;
        if (!report.Nodes.Select(x => x.Name).Order(StringComparer.Ordinal).SequenceEqual(m.Nodes.Select(x => x.Name).Order(StringComparer.Ordinal)))
            Violation($"the stop report names {string.Join(",", report.Nodes.Select(x => x.Name))}, not every node");
        if (report.Advice.Length == 0 || !message.Contains(report.Render())) Violation("the stop message does not carry the node states and what to do");
        foreach (var s in report.Nodes)
        {
            var n = m.Nodes.FirstOrDefault(x => x.Name == s.Name);
            if (n is null) continue;
            var answering = n.Answering(m.Now);
            if ((s.Liveness == NodeLiveness.Running) != answering)
                Violation($"the stop report says {s.Name} is {s.Liveness}, but it is {(answering ? "answering" : "not answering")}");
            else if (answering)
            {
                if (s.Status != n.KmStatus) Violation($"the stop report says {s.Name} is {s.Status}, but it is {n.KmStatus}");
                var registered = n.Registered ? n.RunVersion : null;
                if ((s.Version ?? "") != (registered ?? "")) Violation($"the stop report says {s.Name} is registered as {s.Version}, but it is {registered ?? "unregistered"}");
            }
            var done = j?.StepsOf(s.Name).Select(x => x.Action).ToArray() ?? Array.Empty<string>();
            if (!done.SequenceEqual(s.Done)) Violation($"the stop report says {s.Name} did [{string.Join(",", s.Done)}], the journal [{string.Join(",", done)}]");
            // What this invocation did to a node is in its Done, except the failed step's own action.
            foreach (var c in inv.Calls.Where(c => c.Node == s.Name && !c.Failed).Select(c => c.Op).Distinct())
                if (!s.Done.Contains(c) && !(report.Step?.Node == s.Name && report.Step.Action == c))
                    Violation($"{s.Name}: this run did {c}, but the stop report does not list it as done");
        }
        CheckAdvice(m, report);
    }

    /// <summary>The advice's claims about the failed step's node, against the model.</summary>
    private void CheckAdvice(ModelCluster m, UpgradeStopReport report)
    {
        var step = report.Step;
        var s = step is null ? null : report.Node(step.Node);
        if (s is null) return;
        var n = m.Node(s.Name);
        var onNew = m.Files.GetValueOrDefault(n.Bundle)?.Version == ModelCluster.NewVersion;
        var movedAside = n.Backups.Any(b => b.Content?.Enclave == m.OldEnclave);
        var stateUnchanged = n.State is { } st && st.Enclave == m.OldEnclave && n.Backups.Count == 0;
        void Claim(bool holds, string claim) { if (!holds) Violation($"the advice says {claim}, but the model disagrees ({Describe(m, n)})"); }
        if (s.Liveness == NodeLiveness.SessionLost) return;
        if (step!.Action == "Start") { Claim(onNew, $"{n.Name}'s config points at the new bundle"); Claim(movedAside || n.State is null || n.State.Enclave == m.NewEnclave, $"{n.Name}'s old state was moved aside"); }
        else if (s.Done.Contains("Wipe") && !s.Done.Contains("Start"))
        {
            Claim(report.Advice.Contains("running again") == n.Answering(m.Now), $"{n.Name} is {(report.Advice.Contains("running again") ? "running again" : "stopped")}");
            Claim(movedAside, $"{n.Name}'s old state was moved aside");
        }
        else if (s.Done.Contains("Stop") && !s.Done.Contains("Wipe"))
        {
            Claim(report.Advice.Contains("running again") == n.Answering(m.Now), $"{n.Name} is {(report.Advice.Contains("running again") ? "running again" : "stopped")}");
            Claim(stateUnchanged && !onNew, $"{n.Name}'s state and bundle are unchanged");
        }
        else if (s.Done.Contains("Start")) Claim(onNew, $"{n.Name} runs the new version");
    }

    private static string Describe(ModelCluster m, ModelNode n) =>
        $"{n.Name}: {(n.Answering(m.Now) ? n.KmStatus + " on " + n.RunVersion : "not answering")}, config {Path.GetFileName(n.Bundle)}, " +
        $"state {(n.State is null ? "none" : m.EnclaveName(n.State.Enclave))}, {n.Backups.Count} backup(s)";
}
