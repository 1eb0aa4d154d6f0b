using System.Collections.Concurrent;
using KmPs.Core.Control;
using KmPs.Simulator.Cluster;
using KmPs.Core.Status;
using KmPs.Core;

namespace KmPs.Chaos;

/// <summary>
/// Watches a cluster from outside the module while an upgrade runs:
/// (a) a sampler (about every 100 ms) audits the files and records the fewest holders of the key
///     material ever seen (a node whose configured enclave unseals its live state), and the fewest
///     live holders (running, ready, registered with the consensus checksum);
/// (b) inotify on each node's runtime folder catches the moment a state folder is moved or
///     deleted and checks, right then, that no process of that node is alive (the sampler also
///     compares consecutive samples: state gone while the same pid ran throughout);
/// and it timestamps wipes and config changes, for the journal-order check (c).
/// </summary>
public sealed class InvariantMonitor : IDisposable
{
    private readonly ClusterLayout _layout;
    private readonly string _runtimeId;
    private readonly IReadOnlyList<string> _nodes;
    private readonly List<FileSystemWatcher> _watchers = new();
    private readonly CancellationTokenSource _stop = new();
    private Thread? _sampler;
    private readonly ConcurrentQueue<string> _violations = new();

    public int MinHolders { get; private set; } = int.MaxValue;
    public int MinLiveHolders { get; private set; } = int.MaxValue;
    public int Samples { get; private set; }
    /// <summary>What the first sample without a live holder saw.</summary>
    public string? LiveZero { get; private set; }
    public ConcurrentQueue<(DateTimeOffset At, string Node, string What)> Wipes { get; } = new();
    public ConcurrentQueue<(DateTimeOffset At, string Node)> ConfigChanges { get; } = new();
    public IReadOnlyCollection<string> HolderViolations => _holderViolations;
    public IReadOnlyCollection<string> RunningWipeViolations => _violations;
    private readonly ConcurrentQueue<string> _holderViolations = new();

    public InvariantMonitor(ClusterLayout layout, string runtimeId, IReadOnlyList<string> nodes)
    {
        _layout = layout;
        _runtimeId = runtimeId;
        _nodes = nodes;
    }

    public void Start()
    {
        foreach (var node in _nodes)
        {
            var dir = Path.Combine(_layout.DataDir(node), "runtimes", _runtimeId);
            var w = new FileSystemWatcher(dir) { NotifyFilter = NotifyFilters.DirectoryName | NotifyFilters.FileName, IncludeSubdirectories = false };
            var n = node;
            w.Renamed += (_, e) => { if (e.OldName == ClusterLayout.LocalStorageName) OnWipe(n, "moved aside to " + e.Name); };
            w.Deleted += (_, e) => { if (e.Name == ClusterLayout.LocalStorageName) OnWipe(n, "deleted"); };
            w.EnableRaisingEvents = true;
            _watchers.Add(w);
        }
        _sampler = new Thread(Sample) { IsBackground = true, Name = "invariant sampler " + Path.GetFileName(_layout.Root) };
        _sampler.Start();
    }

    private void OnWipe(string node, string what)
    {
        var at = DateTimeOffset.UtcNow;
        Wipes.Enqueue((at, node, what));
        var pids = NodeScan.Pids(_layout, node);
        if (pids.Count > 0)
            _violations.Enqueue($"(b) {at:HH:mm:ss.fff} {node}'s state was {what} while its process {string.Join(",", pids)} was running");
    }

    private sealed record NodeSample(int Pid, bool Alive, bool HasState, string? ConfigHash);

    private void Sample()
    {
        var previous = new Dictionary<string, NodeSample>();
        while (!_stop.IsCancellationRequested)
        {
            try { SampleOnce(previous); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Text.Json.JsonException or InvalidDataException)
            {
                // A file read mid-rename: the next sample sees the settled state.
            }
            _stop.Token.WaitHandle.WaitOne(100);
        }
    }

    public TimeSpan AuditTime { get; private set; }
    public TimeSpan StatusTime { get; private set; }
    public TimeSpan NodeTime { get; private set; }

    private void SampleOnce(Dictionary<string, NodeSample> previous)
    {
        var t0 = System.Diagnostics.Stopwatch.GetTimestamp();
        var audit = ClusterAuditor.Audit(_layout.Root);
        AuditTime += System.Diagnostics.Stopwatch.GetElapsedTime(t0);
        if (audit.Holders == 0)
        {
            // Re-read once: only a settled zero counts.
            Thread.Sleep(20);
            audit = ClusterAuditor.Audit(_layout.Root);
            if (audit.Holders == 0)
                _holderViolations.Enqueue($"(a) {DateTimeOffset.UtcNow:HH:mm:ss.fff} no node holds the key material: " +
                    string.Join("; ", audit.Nodes.Select(n => $"{n.Name} state={n.HasState} backups={n.RecoverableCopies.Count}{(n.Note is null ? "" : " " + n.Note)}")));
        }
        MinHolders = Math.Min(MinHolders, audit.Holders);

        var t1 = System.Diagnostics.Stopwatch.GetTimestamp();
        var unknown = 0;
        var statuses = Task.WhenAll(_nodes.Select(async n =>
        {
            try { return await ControlClient.For(SocketAddress.Parse(_layout.SocketPath(n))).GetStatusAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false); }
            catch (KmException e)
            {
                // A node too slow to answer on a loaded machine is not known to be down.
                if (e.ErrorId is not ("SocketNotFound" or "ConnectionRefused")) Interlocked.Increment(ref unknown);
                return null;
            }
        })).GetAwaiter().GetResult();
        var live = statuses.Count(s => s is not null && s.IsReady && s.Checksum is not null && s.Checksum == audit.ExpectedChecksum);
        if (live == 0 && unknown > 0) live = int.MaxValue;
        if (live == 0 && LiveZero is null)
            LiveZero = $"{DateTimeOffset.UtcNow:HH:mm:ss.fff} no live holder: " + string.Join("; ", _nodes.Select((n, i) =>
                statuses[i] is { } s ? $"{n} {s.Status} checksum {(s.Checksum is null ? "none" : s.Checksum == audit.ExpectedChecksum ? "ok" : "other")}" : $"{n} unreachable"));
        MinLiveHolders = Math.Min(MinLiveHolders, live);
        StatusTime += System.Diagnostics.Stopwatch.GetElapsedTime(t1);
        var t2 = System.Diagnostics.Stopwatch.GetTimestamp();

        foreach (var node in _nodes)
        {
            var alive = NodeProcesses.IsRunning(_layout, node, out var pid);
            var hasState = Directory.Exists(_layout.LocalStorageDir(node, _runtimeId));
            var config = File.Exists(_layout.ConfigFile(node)) ? Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(_layout.ConfigFile(node)))) : null;
            var now = new NodeSample(pid, alive, hasState, config);
            if (previous.TryGetValue(node, out var before))
            {
                if (before.HasState && !now.HasState && before.Alive && now.Alive && before.Pid == now.Pid)
                    _violations.Enqueue($"(b) {DateTimeOffset.UtcNow:HH:mm:ss.fff} sampled: {node}'s state disappeared while pid {pid} ran before and after");
                if (before.ConfigHash != now.ConfigHash) ConfigChanges.Enqueue((DateTimeOffset.UtcNow, node));
            }
            previous[node] = now;
        }
        NodeTime += System.Diagnostics.Stopwatch.GetElapsedTime(t2);
        Samples++;
    }

    public void Stop()
    {
        if (_stop.IsCancellationRequested) return;
        _stop.Cancel();
        _sampler?.Join(TimeSpan.FromSeconds(5));
        foreach (var w in _watchers) w.Dispose();
    }

    public void Dispose()
    {
        Stop();
        _stop.Dispose();
    }
}
