using System.Diagnostics;
using System.Text;
using System.Text.Json;
using KmPs.Core.Bundles;
using KmPs.Core.Control;
using KmPs.Simulator.Cluster;
using KmPs.Simulator.Node;
using KmPs.Core.Status;
using KmPs.Tests.Harness;
using KmPs.Tools;
using KmPs.Core;

namespace KmPs.Chaos;

public sealed class ChaosOptions
{
    public bool Recover { get; init; } = true;
    public bool KeepAll { get; init; }
    public string LogDir { get; init; } = "/tmp/kmchaos-logs";
}

/// <summary>What one run did and saw.</summary>
public sealed class RunReport
{
    public required RunPlan Plan { get; init; }
    public string Outcome { get; set; } = "";
    public bool Completed { get; set; }
    public bool Resumed { get; set; }
    public bool StoppedSafely { get; set; }
    public bool Unclear { get; set; }
    public bool Hang { get; set; }
    public string? ErrorId { get; set; }
    public bool? Recovered { get; set; }
    public string? RecoveryError { get; set; }
    public bool KeyMaterialLost { get; set; }
    public List<FaultKind> Injected { get; } = new();
    public List<string> Violations { get; } = new();
    public List<string> Notes { get; } = new();
    public int MinHolders { get; set; }
    public int MinLiveHolders { get; set; }
    public TimeSpan Duration { get; set; }
    public string LogPath { get; set; } = "";
    public string? HarnessError { get; set; }
}

/// <summary>
/// One chaos run: a fresh cluster, Invoke-KmSafeUpgrade with the plan's faults applied at their
/// times, then the checks: (a) some node always held the key material, (b) no state folder was
/// wiped under a running process, (c) the second half was touched only after the first half was
/// verified twice, one epoch apart, after the upgrade epoch, (d) after a failure the untouched nodes
/// still run the old version and are ready, (e) a reported success means every node was upgraded,
/// and the auditor finds the key material at the end.
/// </summary>
public sealed class ChaosRun
{
    /// <summary>Error ids that stop a run with a clear explanation.</summary>
    public static readonly HashSet<string> ClearErrors = new() { "UpgradeStopped", "UpgradeDeclined", "PreflightFailed", "PlanRefused" };

    /// <summary>The ShouldProcess text of the plan's Stop, Wipe and SetBundle steps.</summary>
    private static readonly System.Text.RegularExpressions.Regex StepPrompt = new(@"Performing the operation ""(Stop|Move|Point) km\d+");

    private readonly RunPlan _plan;
    private readonly ChaosOptions _options;
    private readonly RunReport _report;
    private readonly StringBuilder _log = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly HashSet<string> _killed = new();
    private readonly object _gate = new();
    private ClusterLayout _layout = null!;
    private ClusterOptions _cluster = null!;
    private IReadOnlyList<string> _nodeNames = Array.Empty<string>();
    private UpgradeEngine? _engine;
    private volatile int _phase; // 1 while the first main call runs: the only call a StopOrchestrator fault may stop

    private ChaosRun(RunPlan plan, ChaosOptions options)
    {
        _plan = plan;
        _options = options;
        _report = new RunReport { Plan = plan };
    }

    public static RunReport Execute(RunPlan plan, ChaosOptions options) => new ChaosRun(plan, options).Execute();

    private void Log(string text)
    {
        lock (_log) _log.Append($"{_clock.Elapsed.TotalSeconds,7:0.000}  {text}\n");
    }

    private void Violation(string text)
    {
        lock (_report) _report.Violations.Add(text);
        Log("VIOLATION " + text);
    }

    private RunReport Execute()
    {
        var root = Path.Combine("/tmp", $"kch{_plan.Seed % 10000}-{_plan.Index}-{Guid.NewGuid().ToString("N")[..6]}");
        _cluster = new ClusterOptions
        {
            Nodes = _plan.Nodes, Generation = _plan.Generation, EpochIntervalMs = _plan.EpochMs, UpgradeInEpochs = _plan.UpgradeInEpochs,
        };
        _layout = new ClusterLayout(root);
        Log($"run {_plan.Index} seed {_plan.Seed}: {_plan}");
        Log($"cluster {root}; expected halves: first {string.Join(",", _plan.FirstHalf)}, then {string.Join(",", _plan.SecondHalf)}");
        InvariantMonitor? monitor = null;
        RecordingHost? host = null;
        var keep = false;
        try
        {
            ClusterBuilder.Create(root, _cluster);
            if (_plan.Fault(FaultKind.SocketElsewhere) is { } moved) MoveSocket(moved);
            // The engine (module import) starts while the nodes do.
            var starting = ClusterControl.StartAllAsync(_layout, TimeSpan.FromSeconds(60), CancellationToken.None);
            var decline = _plan.Fault(FaultKind.DeclinePrompt);
            // Yes to every prompt but the chosen one (No); the ones after it would belong to a resumed run.
            host = new RecordingHost(decline is null ? Array.Empty<int>() : Enumerable.Repeat(0, decline.Value - 1).Append(2).Concat(Enumerable.Repeat(0, 200)).ToArray());
            _engine = new UpgradeEngine(host);
            starting.GetAwaiter().GetResult();
            var (now, upgradeEpoch) = ClusterTools.DeployIn(_layout, _cluster.NewVersion, _plan.UpgradeInEpochs);
            Log($"cluster ready at epoch {now}; {_cluster.NewVersion} deployed from epoch {upgradeEpoch}");
            var names = ClusterSpec.Load(_layout).Nodes.Select(n => n.Name).ToList();
            _nodeNames = names;
            monitor = new InvariantMonitor(_layout, _cluster.KmRuntimeId, names);
            monitor.Start();
            var call = new UpgradeCall(_layout.InventoryFile, ClusterBuilder.OrcPath(_layout, _cluster.NewVersion),
                Path.Combine(root, "upgrade-journal.json"), decline is not null, _plan.TimeoutSec, _plan.NodeTimeoutSec);

            if (_plan.Fault(FaultKind.WrongOrc) is { } wrong) WrongOrcFirst(call, wrong);
            if (_plan.Fault(FaultKind.AliasEntry) is { } alias) AddAlias(alias);

            // The main call, with the scheduled faults; a stopped call is resumed with the same command.
            using var cts = new CancellationTokenSource();
            var mainStart = _clock.Elapsed;
            var faults = Task.Run(() => ApplyFaults(cts.Token));
            _phase = 1;
            var outcome = Call("main", call);
            _phase = 0;
            if (outcome.Stopped && !_report.Hang)
            {
                var stop = _plan.Fault(FaultKind.StopOrchestrator)!;
                Thread.Sleep(stop.Value);
                if (_plan.Fault(FaultKind.RestartedByHand) is not null) StartStoppedNodes("before the resume");
                _report.Resumed = true;
                outcome = Call("resume", call);
            }
            cts.Cancel();
            faults.Wait();
            if (decline is not null && host.Prompts.Count >= decline.Value) Injected(FaultKind.DeclinePrompt, $"answered No at prompt {decline.Value}: {host.Prompts[decline.Value - 1].Split('|').Last()}");
            foreach (var prompt in host.Prompts.Where(p => !StepPrompt.IsMatch(p)))
                Violation($"(e) a -Confirm prompt that is not a destructive step: {prompt.Replace('\n', ' ')}");
            Log($"main phase took {(_clock.Elapsed - mainStart).TotalSeconds:0.0} s");

            _report.Completed = outcome.Success;
            _report.ErrorId = outcome.ErrorId;
            if (!outcome.Success)
            {
                CheckUntouched("after the failure");
                if (_report.Hang) _report.Unclear = true;
                else if (outcome.ErrorId is not null && ClearErrors.Contains(outcome.ErrorId) && SaysWhatToDo(outcome)) _report.StoppedSafely = true;
                else _report.Unclear = true;
                if (_options.Recover && !_report.Hang) Recover(call);
            }
            else CheckUpgraded("after the reported success");

            monitor.Stop();
            Thread.Sleep(50);
            foreach (var v in monitor.HolderViolations.Take(3).Concat(monitor.RunningWipeViolations)) Violation(v);
            CheckJournalOrder(monitor);
            var audit = ClusterAuditor.Audit(root);
            Log($"auditor: {audit}; {monitor.Samples} samples, min holders {monitor.MinHolders}, min live holders {monitor.MinLiveHolders}; sampler time: audit {monitor.AuditTime.TotalSeconds:0.0} s, statuses {monitor.StatusTime.TotalSeconds:0.0} s, nodes {monitor.NodeTime.TotalSeconds:0.0} s");
            if (!audit.KeyMaterialExists) { _report.KeyMaterialLost = true; Log("KEY MATERIAL LOST"); }
            if (monitor.LiveZero is not null) Log("first sample without a live holder: " + monitor.LiveZero);
            foreach (var w in monitor.Wipes) Log($"wipe seen {w.At:HH:mm:ss.fff} {w.Node}: {w.What}");
            if (_report.Violations.Count > 0) _report.StoppedSafely = false;
            _report.Outcome = _report.Completed ? (_report.Resumed ? "completed (resumed)" : "completed")
                : _report.StoppedSafely ? $"stopped safely ({outcome.ErrorId})"
                : _report.Hang ? "HANG" : $"unclear failure ({outcome.ErrorId})";
            if (_report.Recovered is not null) _report.Outcome += _report.Recovered.Value ? ", recovered" : $", NOT recovered ({_report.RecoveryError})";
            keep = _report.Violations.Count > 0 || _report.KeyMaterialLost || _report.Unclear || _report.Recovered == false;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _report.HarnessError = e.GetType().Name + ": " + e.Message;
            _report.Outcome = "harness error: " + e.Message.Split('\n')[0];
            Log("HARNESS ERROR " + e);
            keep = true;
        }
        finally
        {
            if (monitor is not null) { _report.MinHolders = monitor.MinHolders; _report.MinLiveHolders = monitor.MinLiveHolders; }
            monitor?.Dispose();
            _engine?.Dispose();
            if (host is not null) Log("---- host output ----\n" + host.Text);
            Teardown(keep || _options.KeepAll);
            _report.Duration = _clock.Elapsed;
            Directory.CreateDirectory(_options.LogDir);
            _report.LogPath = Path.Combine(_options.LogDir, $"seed{_plan.Seed}-run{_plan.Index:D4}.log");
            lock (_log) File.WriteAllText(_report.LogPath, _log.ToString());
        }
        return _report;
    }

    /// <summary>
    /// A stopped or declined run names each node's state and what to do next (its error's
    /// TargetObject is the report, with one state per node, read as data); a refused pre-flight says nothing changed.
    /// </summary>
    private bool SaysWhatToDo(UpgradeOutcome o)
    {
        var clear = o.ErrorId switch
        {
            "UpgradeStopped" or "UpgradeDeclined" => o.Target is KmPs.Core.Orchestration.UpgradeStopReport r
                                                     && r.Nodes.Select(n => n.Name).Order(StringComparer.Ordinal).SequenceEqual(_nodeNames.Order(StringComparer.Ordinal))
                                                     && r.Advice.Length > 0 && o.Message?.Contains(r.Render()) == true,
            "PreflightFailed" => o.Message?.Contains("nothing was changed") == true,
            _ => true,
        };
        if (!clear) Log($"the {o.ErrorId} message does not say the node states and what to do");
        return clear;
    }

    private UpgradeOutcome Call(string label, UpgradeCall call)
    {
        // Watchdog: a call that outlives every timeout it was given is a hang.
        var limit = TimeSpan.FromSeconds(4 * call.TimeoutSec + 2 * call.NodeTimeoutSec + 30);
        using var watchdog = new Timer(_ =>
        {
            lock (_report) _report.Hang = true;
            Log($"HANG: {label} call still running after {limit.TotalSeconds:0} s; stopping it");
            _engine!.Stop();
        }, null, limit, Timeout.InfiniteTimeSpan);
        Log($"{label}: Invoke-KmSafeUpgrade -BundlePath {Path.GetFileName(call.BundlePath)} -Confirm:${call.Confirm.ToString().ToLowerInvariant()} -TimeoutSec {call.TimeoutSec}");
        var outcome = _engine!.Run(call);
        Log($"{label}: {outcome.Describe()} after {outcome.Elapsed.TotalSeconds:0.0} s");
        if (!outcome.Success && outcome.Message is not null) Log($"{label} message:\n{outcome.Message}");
        return outcome;
    }

    private void Injected(FaultKind kind, string what)
    {
        lock (_report) _report.Injected.Add(kind);
        Log($"FAULT {kind}: {what}");
    }

    // ---- faults ---------------------------------------------------------------------------------

    private void WrongOrcFirst(UpgradeCall call, ScheduledFault fault)
    {
        var dir = Path.Combine(_layout.Root, "wrong");
        var wrongLayout = new ClusterLayout(dir);
        Directory.CreateDirectory(wrongLayout.BundlesDir);
        var path = Path.Combine(wrongLayout.BundlesDir, "keymanager-wrong.orc");
        switch (fault.Value)
        {
            case 0:
                path = ClusterBuilder.WriteOrc(wrongLayout, "4000000000000000000000000000000000000000000000000000000000000bad", _cluster.NewVersion, OrcLayout.Components).Path;
                break;
            case 1:
                path = ClusterBuilder.WriteOrc(wrongLayout, _cluster.KmRuntimeId, "0.7.0", OrcLayout.Components).Path;
                break;
            case 3:
                // The deployed version, built again: another MRENCLAVE than the deployment allows.
                path = ClusterBuilder.WriteOrc(wrongLayout, _cluster.KmRuntimeId, _cluster.NewVersion, OrcLayout.Components, build: "rebuilt").Path;
                break;
            case 4:
                var otherNetwork = KmNetworks.OfRuntime(_cluster.KmRuntimeId) == KmNetwork.Mainnet ? KmNetworks.TestnetKeyManager : KmNetworks.MainnetKeyManager;
                path = ClusterBuilder.WriteOrc(wrongLayout, otherNetwork, _cluster.NewVersion, OrcLayout.Components).Path;
                break;
            default:
                var good = File.ReadAllBytes(call.BundlePath);
                File.WriteAllBytes(path, good.Take(good.Length / 2).ToArray());
                break;
        }
        Injected(FaultKind.WrongOrc, $"{ScheduledFault.WrongOrcKinds[fault.Value]}: {path}");
        var outcome = Call("wrong-orc", call with { BundlePath = path, Confirm = false });
        if (outcome.Success) Violation($"(e) the wrong ORC ({ScheduledFault.WrongOrcKinds[fault.Value]}) was accepted");
        else if (outcome.ErrorId != "PreflightFailed") Log($"note: the wrong ORC was refused with {outcome.ErrorId}, not PreflightFailed");
        CheckUntouched("after the wrong ORC was refused");
    }

    /// <summary>
    /// The inventory gets a second entry for one node: another name, its data dir reached through a
    /// link, its socket spelled through that link. One holder must not count as two (issue 9 #8).
    /// </summary>
    private void AddAlias(ScheduledFault f)
    {
        _inventoryBefore = File.ReadAllText(_layout.InventoryFile);
        var link = Path.Combine(_layout.Root, $"alias-{f.Node}");
        Directory.CreateSymbolicLink(link, _layout.DataDir(f.Node!));
        var doc = System.Text.Json.Nodes.JsonNode.Parse(_inventoryBefore)!;
        var nodes = doc["nodes"]!.AsArray();
        var entry = nodes.First(n => (string?)n!["name"] == f.Node)!.DeepClone();
        entry["name"] = f.Node + "-alias";
        entry["dataDir"] = link;
        entry["socket"] = "unix:" + Path.Combine(link, "internal.sock");
        nodes.Add(entry);
        File.WriteAllText(_layout.InventoryFile, doc.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        Injected(FaultKind.AliasEntry, $"{f.Node}-alias: {f.Node} again through {link}");
    }

    private string? _inventoryBefore;

    /// <summary>
    /// The node's config puts its control socket outside the data dir (common.internal_socket_path,
    /// 24.0+ only); the inventory still names the default socket, as an operator's often does.
    /// </summary>
    private void MoveSocket(ScheduledFault f)
    {
        if (_plan.Generation != SchemaGeneration.V24) { Log($"fault {f}: common.internal_socket_path exists from 24.0 only; not applied"); return; }
        var socket = Path.Combine(_layout.Root, "sockets", f.Node + ".sock");
        Directory.CreateDirectory(Path.GetDirectoryName(socket)!);
        var config = _layout.ConfigFile(f.Node!);
        var text = File.ReadAllText(config);
        if (!text.Contains("\ncommon:\n", StringComparison.Ordinal)) { Log($"fault {f}: no common section in {config}; not applied"); return; }
        File.WriteAllText(config, text.Replace("\ncommon:\n", $"\ncommon:\n  internal_socket_path: {socket}\n"));
        Injected(FaultKind.SocketElsewhere, $"{f.Node} listens on {socket}; the inventory names {_layout.DataDir(f.Node!)}/internal.sock");
    }

    private void WaitForNodeDown(TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        var journal = Path.Combine(_layout.Root, "upgrade-journal.json");
        while (DateTime.UtcNow < deadline && _phase == 1)
        {
            try
            {
                var j = JournalView.Load(journal);
                if (j is not null && j.FirstHalf.Concat(j.SecondHalf).Any(n => j.StepsOf(n).Any(s => s.Action is "Stop" or "Wipe") && !j.StepsOf(n).Any(s => s.Action == "Start")))
                    return;
            }
            catch (Exception e) when (e is IOException or JsonException) { }
            Thread.Sleep(20);
        }
    }

    /// <summary>What the tool advises for a node it stopped: start it again. Every stopped node is started by hand.</summary>
    private void StartStoppedNodes(string when)
    {
        var started = new List<string>();
        foreach (var node in ClusterSpec.Load(_layout).Nodes.Select(n => n.Name))
        {
            if (NodeScan.IsRunning(_layout, node)) continue;
            try { NodeProcesses.Start(_layout, node, TimeSpan.FromSeconds(30)); started.Add(node); }
            catch (Exception e) when (e is IOException or InvalidOperationException or TimeoutException) { Log($"hand start of {node} failed: {e.Message}"); }
        }
        if (started.Count == 0) { Log($"fault RestartedByHand {when}: every node was running; nothing started"); return; }
        Injected(FaultKind.RestartedByHand, $"{when}: started {string.Join(", ", started)} by hand");
        try { ClusterControl.WaitAllReadyAsync(_layout, started, TimeSpan.FromSeconds(15), CancellationToken.None).GetAwaiter().GetResult(); }
        catch (TimeoutException e) { Log("hand start: " + e.Message); }
    }

    private void ApplyFaults(CancellationToken ct)
    {
        var start = _clock.Elapsed;
        foreach (var f in _plan.Faults.Where(f => f.Kind is not (FaultKind.DeclinePrompt or FaultKind.WrongOrc or FaultKind.RestartedByHand or FaultKind.AliasEntry or FaultKind.SocketElsewhere)))
        {
            var wait = start + TimeSpan.FromMilliseconds(f.AtMs) - _clock.Elapsed;
            if (wait > TimeSpan.Zero && ct.WaitHandle.WaitOne(wait)) return;
            if (ct.IsCancellationRequested) return;
            try { Apply(f); }
            catch (Exception e) when (e is IOException or InvalidOperationException or UnauthorizedAccessException)
            {
                Log($"fault {f} could not be applied: {e.Message}");
            }
        }
    }

    private void Apply(ScheduledFault f)
    {
        switch (f.Kind)
        {
            case FaultKind.KillNode:
                var pids = NodeScan.Pids(_layout, f.Node!);
                if (pids.Count == 0) { Log($"fault {f}: {f.Node} was not running; nothing killed"); return; }
                NodeProcesses.Kill(_layout, f.Node!);
                foreach (var pid in NodeScan.Pids(_layout, f.Node!))
                    try { using var p = Process.GetProcessById(pid); p.Kill(); } catch (ArgumentException) { }
                lock (_gate) _killed.Add(f.Node!);
                Injected(f.Kind, $"killed {f.Node} (pid {string.Join(",", pids)})");
                return;
            case FaultKind.StopOrchestrator:
                // A run whose operator will restart nodes by hand is stopped while a node is down (after its Stop or Wipe).
                if (_plan.Fault(FaultKind.RestartedByHand) is not null) WaitForNodeDown(TimeSpan.FromSeconds(20));
                if (_phase != 1 || !_engine!.Stop()) { Log($"fault {f}: no call running; not applied"); return; }
                Injected(f.Kind, "stopped the pipeline");
                return;
        }
        var faults = AtomicFile.ReadJson<Faults>(_layout.FaultFile(f.Node!)) ?? new Faults();
        faults = f.Kind switch
        {
            FaultKind.CrashWhileReplicating => faults with { CrashWhileReplicating = true },
            FaultKind.ReplicationRefused => faults with { RefuseReplication = true },
            FaultKind.PeerUnreachable => faults with { Unreachable = true },
            FaultKind.RegistrationFails => faults with { RegistrationFails = true },
            FaultKind.SealWriteError => faults with { SealWriteError = true },
            FaultKind.SlowStart => faults with { SlowStartMs = f.Value },
            _ => faults,
        };
        AtomicFile.WriteAllText(_layout.FaultFile(f.Node!), JsonSerializer.Serialize(faults, ClusterSpec.Json));
        Injected(f.Kind, $"{f.Node} at epoch {EpochClock.Of(ClusterSpec.Load(_layout)).Now}");
    }

    // ---- recovery -------------------------------------------------------------------------------

    /// <summary>What an operator would do: remove the causes, restart what the harness broke, run the same command again.</summary>
    private void Recover(UpgradeCall call)
    {
        foreach (var f in Directory.EnumerateFiles(_layout.FaultsDir, "*.json")) File.Delete(f);
        if (_inventoryBefore is not null) File.WriteAllText(_layout.InventoryFile, _inventoryBefore); // the alias removed
        var journal = JournalView.Load(call.JournalPath);
        var restarted = new List<string>();
        foreach (var node in ClusterSpec.Load(_layout).Nodes.Select(n => n.Name))
        {
            var done = journal?.StepsOf(node).Select(s => s.Action).ToList() ?? new List<string>();
            // A node stopped by the upgrade and not started again is the upgrade's to start.
            if (NodeScan.IsRunning(_layout, node) || (journal is not null && journal.Touched(node) && !done.Contains("Start"))) continue;
            NodeProcesses.Start(_layout, node, TimeSpan.FromSeconds(30));
            restarted.Add(node);
        }
        Log($"recovery: faults cleared; restarted {(restarted.Count == 0 ? "nothing" : string.Join(", ", restarted))}");
        // Every restarted node holds the key material or gets it back (faults cleared): wait until it is ready,
        // as an operator would before running the command again (a killed node's stale socket file makes
        // its start command return before the new process listens).
        try { ClusterControl.WaitAllReadyAsync(_layout, restarted, TimeSpan.FromSeconds(20), CancellationToken.None).GetAwaiter().GetResult(); }
        catch (TimeoutException e) { Log("recovery: " + e.Message); }
        var outcome = Call("recovery", call with { Confirm = false });
        _report.Recovered = outcome.Success;
        if (!outcome.Success) _report.RecoveryError = outcome.ErrorId ?? (outcome.Stopped ? "stopped" : "?");
        else CheckUpgraded("after the recovery run");
    }

    // ---- checks ---------------------------------------------------------------------------------

    private KmStatus? Status(string node, TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        while (true)
        {
            try
            {
                var s = ControlClient.For(SocketAddress.Parse(_layout.SocketPath(node))).GetStatusAsync(TimeSpan.FromSeconds(2)).GetAwaiter().GetResult();
                if (s.IsReady || DateTime.UtcNow > deadline) return s;
            }
            catch (KmException) { if (DateTime.UtcNow > deadline) return null; }
            Thread.Sleep(100);
        }
    }

    private string ConfiguredVersion(string node)
    {
        try { return NodeSetup.Load(_layout.ConfigFile(node), _cluster.Generation).Version.ToString(); }
        catch (Exception e) when (e is NodeStartupException or KmException) { return "unreadable config: " + e.Message; }
    }

    /// <summary>(d): nodes the journal never touched still run the old version, ready, with their state.</summary>
    private void CheckUntouched(string when)
    {
        var journal = JournalView.Load(Path.Combine(_layout.Root, "upgrade-journal.json"));
        var audit = ClusterAuditor.Audit(_layout.Root);
        foreach (var node in audit.Nodes)
        {
            if (journal is not null && journal.Touched(node.Name)) continue;
            var problems = new List<string>();
            var version = ConfiguredVersion(node.Name);
            if (version != _cluster.OldVersion) problems.Add($"its config names {version}");
            if (!node.HoldsKeyMaterial) problems.Add("its state no longer unseals with its configured enclave");
            bool killed;
            lock (_gate) killed = _killed.Contains(node.Name);
            if (!killed)
            {
                if (!NodeScan.IsRunning(_layout, node.Name)) problems.Add("its process is not running");
                var s = Status(node.Name, TimeSpan.FromSeconds(2));
                if (s is null) problems.Add("it does not answer");
                else if (!s.IsReady || s.RegisteredVersion?.ToString() != _cluster.OldVersion) problems.Add($"it is {s.Status}, registered as {s.RegisteredVersion}");
            }
            if (problems.Count > 0) Violation($"(d) {when}: untouched {node.Name}: {string.Join("; ", problems)}");
        }
    }

    /// <summary>(e): a reported success means every node runs the new version, ready with the consensus checksum.</summary>
    private void CheckUpgraded(string when)
    {
        var consensus = new Chain(_layout).KeyManagerStatus()?.Checksum;
        foreach (var node in ClusterSpec.Load(_layout).Nodes.Select(n => n.Name))
        {
            var version = ConfiguredVersion(node);
            var s = Status(node, TimeSpan.FromSeconds(2));
            if (version != _cluster.NewVersion || s is null || !s.IsReady || s.RegisteredVersion?.ToString() != _cluster.NewVersion || s.Checksum != consensus)
                Violation($"(e) {when}: {node} config {version}, status {s?.Status ?? "unreachable"}, registered {s?.RegisteredVersion}, checksum matches {s?.Checksum == consensus}");
        }
    }

    /// <summary>(c): the journal's order, its verification epochs, and when second-half nodes were first touched.</summary>
    private void CheckJournalOrder(InvariantMonitor monitor)
    {
        var journal = JournalView.Load(Path.Combine(_layout.Root, "upgrade-journal.json"));
        if (journal is null || !journal.HasHalves) return;
        var upgradeEpoch = new Chain(_layout).Deployments().First(d => d.Version == _cluster.NewVersion).ValidFrom;
        var again = journal.IndexOf("first:VerifyAgain");
        var verify = journal.IndexOf("first:Verify");
        var second = journal.SecondHalf.ToHashSet();
        if (journal.FirstHalf.Count > 0)
        {
            for (var i = 0; i < journal.Steps.Count; i++)
            {
                var s = journal.Steps[i];
                if ((second.Contains(s.Node) || s.Node == "second") && (again < 0 || i < again))
                    Violation($"(c) journal: {s.Key} recorded before first:VerifyAgain");
            }
            if (again >= 0)
            {
                if (verify < 0 || verify > again) Violation("(c) journal: first:VerifyAgain without an earlier first:Verify");
                else
                {
                    var e1 = ulong.Parse(journal.Steps[verify].Detail ?? "0");
                    var e2 = ulong.Parse(journal.Steps[again].Detail ?? "0");
                    if (e1 < upgradeEpoch) Violation($"(c) first verification at epoch {e1}, before the upgrade epoch {upgradeEpoch}");
                    if (e2 < e1 + 1) Violation($"(c) second verification at epoch {e2}, not one epoch after the first ({e1})");
                }
            }
            var againAt = again >= 0 ? journal.Steps[again].At : (DateTimeOffset?)null;
            foreach (var w in monitor.Wipes.Where(w => second.Contains(w.Node)))
                if (againAt is null || w.At < againAt) Violation($"(c) {w.Node} (second half) wiped at {w.At:HH:mm:ss.fff}, before the first half was verified twice");
            foreach (var c in monitor.ConfigChanges.Where(c => second.Contains(c.Node)))
                if (againAt is null || c.At < againAt) Violation($"(c) {c.Node} (second half) config changed at {c.At:HH:mm:ss.fff}, before the first half was verified twice");
        }
        foreach (var node in journal.FirstHalf.Concat(journal.SecondHalf))
        {
            var order = UpgradeOrder.Select(a => journal.IndexOf($"{node}:{a}")).ToList();
            for (var i = 1; i < order.Count; i++)
                if (order[i] >= 0 && (order[i - 1] < 0 || order[i - 1] > order[i]))
                    Violation($"(c) journal: {node}:{UpgradeOrder[i]} recorded without {node}:{UpgradeOrder[i - 1]} before it");
        }
    }

    private static readonly string[] UpgradeOrder = { "Stop", "Wipe", "SetBundle", "Start" };

    // ---- teardown -------------------------------------------------------------------------------

    private void Teardown(bool keep)
    {
        try { ClusterControl.StopAll(_layout); } catch (Exception e) when (e is IOException or InvalidOperationException) { }
        if (!Directory.Exists(_layout.NodesDir)) return;
        foreach (var node in Directory.EnumerateDirectories(_layout.NodesDir).Select(Path.GetFileName))
        {
            var left = NodeScan.Pids(_layout, node!);
            if (left.Count == 0) continue;
            _report.Notes.Add($"{node}: {left.Count} node process(es) without a pid file left at the end (killed)");
            Log($"teardown: {node} had process(es) {string.Join(",", left)} not known to its pid file; killed");
            foreach (var pid in left)
                try { using var p = Process.GetProcessById(pid); p.Kill(); p.WaitForExit(5000); } catch (ArgumentException) { }
        }
        if (keep) { Log($"cluster kept in {_layout.Root}"); return; }
        try { Directory.Delete(_layout.Root, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
