using System.Diagnostics;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using KmPs.Control;
using KmPs.Remoting;
using KmPs.Replication;
using KmPs.Status;
using KmPs.Timing;

namespace KmPs.Cmdlets;

public enum KmWaitCondition { Ready, Replicated, Epoch }

/// <summary>
/// Wait-KmNode: polls nodes until they are ready, replicated (ready with an init response whose
/// checksum matches), or an epoch is reached; progress, timeout with what was last seen, Ctrl+C.
/// </summary>
[Cmdlet(VerbsLifecycle.Wait, "KmNode")]
[OutputType(typeof(KmStatus))]
public sealed class WaitKmNodeCommand : KmNodeSetCommand
{
    [Parameter(Mandatory = true)]
    public KmWaitCondition Until { get; set; }

    /// <summary>With -Until Epoch: the epoch to reach.</summary>
    [Parameter]
    public ulong Epoch { get; set; }

    /// <summary>With -Until Replicated: the checksum every node must register (default: the consensus checksum, else agreement).</summary>
    [Parameter]
    public string? Checksum { get; set; }

    /// <summary>With -Until Replicated: the runtime version the node must be registered with.</summary>
    [Parameter]
    public string? Version { get; set; }

    [Parameter]
    [ValidateRange(1, 86400)]
    public int TimeoutSec { get; set; } = 600;

    [Parameter]
    [ValidateRange(50, 60000)]
    public int PollIntervalMs { get; set; } = 500;

    /// <summary>The id of the caller's own progress bar, under which this wait's bar is drawn (Write-Progress -Id); -1: a bar of its own.</summary>
    [Parameter]
    [ValidateRange(-1, int.MaxValue)]
    public int ParentProgressId { get; set; } = -1;

    /// <summary>How often an epoch wait asks the chain for the epoch length again, besides at each new epoch.</summary>
    internal static readonly TimeSpan ReEstimateInterval = TimeSpan.FromSeconds(30);

    protected override void BeginProcessing()
    {
        if (Until == KmWaitCondition.Epoch && Epoch == 0)
            ThrowKmError(new KmException("EpochRequired", KmErrorCategory.InvalidArgument, "-Until Epoch needs -Epoch <n>.", null));
        if (Version is not null && !OasisVersion.TryParse(Version, out _))
            ThrowKmError(new KmException("InvalidVersion", KmErrorCategory.InvalidArgument, $"'{Version}' is not a version (e.g. 0.6.0).", Version));
    }

    protected override void EndProcessing()
    {
        foreach (var bad in Nodes.Where(n => n.Error is not null)) WriteKmError(bad.Error!, bad.Input);
        var nodes = Nodes.Where(n => n.Usable).ToList();
        if (nodes.Count == 0) return;
        var sw = Stopwatch.StartNew();
        var timeout = TimeSpan.FromSeconds(TimeoutSec);
        var expected = Version is null ? (OasisVersion?)null : OasisVersion.Parse(Version);
        var last = new Dictionary<string, string>();
        var eta = Until == KmWaitCondition.Epoch ? new EpochWaitEta(nodes, Epoch, timeout) : null;
        while (true)
        {
            var results = Await(Task.WhenAll(nodes.Select(async n =>
            {
                try { return (n.Name, Status: await ReadStatusAsync(n, TimeSpan.FromSeconds(5)).ConfigureAwait(false), Error: (KmException?)null); }
                catch (KmException e) { return (n.Name, Status: (KmStatus?)null, Error: (KmException?)e); }
            })));
            // A lost session never comes back: that node's wait fails now, not at the timeout.
            var lost = results.FirstOrDefault(r => r.Error is not null && KmRemoting.IsSessionLost(r.Error));
            if (lost.Error is not null)
            {
                WriteProgress(new ProgressRecord(2, Activity, "failed") { RecordType = ProgressRecordType.Completed, ParentActivityId = ParentProgressId });
                ThrowKmError(lost.Error, lost.Name);
            }
            var done = new List<bool>();
            foreach (var r in results)
            {
                var (ok, seen) = Evaluate(r.Status, r.Error?.Message, results.Select(x => x.Status).ToList(), expected);
                last[r.Name] = seen;
                done.Add(ok);
            }
            var pending = results.Where((r, i) => !done[i]).Select(r => r.Name).ToList();
            if (pending.Count == 0)
            {
                WriteProgress(new ProgressRecord(2, Activity, "done") { RecordType = ProgressRecordType.Completed, ParentActivityId = ParentProgressId });
                foreach (var r in results) { r.Status!.Name = r.Name; WriteObject(r.Status); }
                return;
            }
            if (sw.Elapsed > timeout)
            {
                WriteProgress(new ProgressRecord(2, Activity, "timed out") { RecordType = ProgressRecordType.Completed, ParentActivityId = ParentProgressId });
                ThrowKmError(new KmException("WaitTimeout", KmErrorCategory.OperationTimeout,
                    $"Timed out after {TimeoutSec} s waiting for {Describe()}; last seen: " +
                    string.Join("; ", pending.Select(p => $"{p}: {last[p]}")) + ".", pending.ToArray()));
            }
            var epoch = results.Select(r => r.Status?.Epoch ?? 0).DefaultIfEmpty(0UL).Max();
            ProgressRecord bar;
            if (eta is not null)
            {
                // The time left from the network's own epoch length; the timeout only when it comes first.
                var (view, fresh) = Await(eta.ProgressAsync(epoch, Stopping));
                if (fresh is not null) WriteVerbose($"Epoch {Epoch}: {fresh.Describe(DateTimeOffset.UtcNow)}.");
                bar = new ProgressRecord(2, Activity, view.Status) { SecondsRemaining = view.SecondsRemaining, PercentComplete = view.PercentComplete };
            }
            else
            {
                // Short enough for an 80-column bar: the first pending node by name and its status word and version.
                var first = results.First(r => r.Name == pending[0]).Status;
                var status = $"{nodes.Count - pending.Count}/{nodes.Count} done; {pending[0]}" + (pending.Count > 1 ? $" and {pending.Count - 1} more" : "") +
                             (first is null ? ": unreachable" : $": {first.Status}, {first.RegisteredVersion?.ToString() ?? "unregistered"}");
                bar = new ProgressRecord(2, Activity, status)
                {
                    SecondsRemaining = (int)Math.Max(0, (timeout - sw.Elapsed).TotalSeconds),
                    PercentComplete = 100 * (nodes.Count - pending.Count) / nodes.Count,
                };
            }
            bar.ParentActivityId = ParentProgressId;
            WriteProgress(bar);
            Stopping.WaitHandle.WaitOne(PollIntervalMs);
            if (Stopping.IsCancellationRequested) throw new PipelineStoppedException();
        }
    }

    private string Activity => Until == KmWaitCondition.Replicated && Version is not null ? $"Waiting for {Version} to replicate" : $"Waiting for {Describe()}";

    private string Describe() => Until switch
    {
        KmWaitCondition.Epoch => $"epoch {Epoch}",
        KmWaitCondition.Ready => "key manager ready",
        _ => "replication" + (Version is null ? "" : $" of version {Version}"),
    };

    private (bool Ok, string Seen) Evaluate(KmStatus? s, string? error, IReadOnlyList<KmStatus?> all, OasisVersion? expected)
    {
        if (s is null) return (false, "unreachable: " + error);
        var seen = $"{s.Status}, version {s.RegisteredVersion}, epoch {s.Epoch}, checksum {Hex.Short(s.Checksum)}";
        switch (Until)
        {
            case KmWaitCondition.Epoch: return (s.Epoch >= Epoch, seen);
            case KmWaitCondition.Ready: return (s.IsReady, seen);
        }
        if (!s.IsReady || s.Checksum is null) return (false, seen);
        if (expected is not null && s.RegisteredVersion != expected) return (false, seen);
        var want = Checksum?.ToLowerInvariant() ?? s.ConsensusChecksum;
        if (want is not null) return (s.Checksum == want, seen);
        // No reference: all nodes must agree.
        return (all.All(o => o?.Checksum == s.Checksum), seen);
    }
}

/// <summary>
/// The progress of one epoch wait (Wait-KmNode -Until Epoch, Test-KmReplication -Repeat): the ETA
/// from the chain through the first local node's socket (EpochEtaClock), else from the epoch
/// transitions the wait itself sees (a remote node is read through its session), shown as
/// <see cref="EpochWaitProgress"/>. Estimated again at each new epoch and every half minute, not at every poll.
/// </summary>
internal sealed class EpochWaitEta
{
    private readonly EpochEtaClock? _clock;
    /// <summary>The epochs this wait saw: the clock's own log when there is a clock, so each reading is kept once.</summary>
    private readonly EpochTransitionLog _seen;
    private readonly ulong _target;
    private readonly DateTimeOffset _started = DateTimeOffset.UtcNow;
    private readonly DateTimeOffset _deadline;
    private EpochEta? _last;
    private ulong _lastEpoch;
    private DateTimeOffset _lastAt;

    public EpochWaitEta(IReadOnlyList<CollectedNode> nodes, ulong target, TimeSpan timeout)
    {
        _clock = nodes.FirstOrDefault(n => n.Address is not null)?.Address is { } a ? new EpochEtaClock(a) : null;
        _seen = _clock?.Transitions ?? new EpochTransitionLog();
        _target = target;
        _deadline = _started + timeout;
    }

    /// <summary>The bar at the epoch just read, and the estimate when it was just made (new epoch or due), else null.</summary>
    public async Task<(EpochWaitView View, EpochEta? Fresh)> ProgressAsync(ulong epoch, CancellationToken ct)
    {
        var now = DateTimeOffset.UtcNow;
        _seen.Observe(epoch, now);
        EpochEta? fresh = null;
        if (_last is not null && epoch == _lastEpoch && now - _lastAt < WaitKmNodeCommand.ReEstimateInterval)
            _last = _last with { CurrentEpoch = epoch };
        else
        {
            _last = fresh = _clock is null
                ? EpochEstimator.EtaFromTransitions(_seen.Transitions, epoch, _target, now)
                : await _clock.EstimateAsync(_target, ct).ConfigureAwait(false);
            (_lastEpoch, _lastAt) = (epoch, now);
        }
        return (EpochWaitProgress.At(_last, _started, DateTimeOffset.UtcNow, _deadline), fresh);
    }
}

/// <summary>Get-KmUpgradeEpoch: the KM runtime's deployments (Registry/GetRuntime) and when a version becomes active.</summary>
[Cmdlet(VerbsCommon.Get, "KmUpgradeEpoch")]
[OutputType(typeof(KmDeployment))]
public sealed class GetKmUpgradeEpochCommand : KmCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Address")]
    [ValidateNotNullOrEmpty]
    public string Socket { get; set; } = "";

    /// <summary>Default: the node's own KM runtime id from its status.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? RuntimeId { get; set; }

    /// <summary>Only this version's deployment; an error if the version is not deployed.</summary>
    [Parameter(Position = 1)]
    public string? Version { get; set; }

    /// <summary>The remoting session to the node's machine (bound from remote inventory nodes).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public PSSession? Session { get; set; }

    private bool _done;

    protected override void ProcessRecord()
    {
        // One answer per call: the deployments are chain state, the same from every node.
        if (_done) return;
        if (Session is not null)
        {
            var parameters = new System.Collections.Hashtable { ["Socket"] = Socket };
            if (RuntimeId is not null) parameters["RuntimeId"] = RuntimeId;
            if (Version is not null) parameters["Version"] = Version;
            try
            {
                var run = RunRemote(Session, Socket, "Get-KmUpgradeEpoch", parameters);
                _done = run.Output.Count > 0;
                WriteRemote(run, Socket);
            }
            catch (KmException e) { WriteKmError(e, Socket); }
            return;
        }
        try
        {
            var address = SocketAddress.Parse(Socket, CurrentDirectory);
            var client = ControlClient.For(address);
            var status = Await(client.GetStatusAsync(TimeSpan.FromSeconds(10), Stopping));
            var id = RuntimeId is null ? status.RuntimeId : LocalState.KeyManagerRuntimeId.Validate(RuntimeId);
            if (id is null)
                throw new KmException("NoKeyManagerRuntime", KmErrorCategory.InvalidOperation, $"{address} runs no key manager; give -RuntimeId.", Socket);
            var runtime = Await(client.GetRuntimeAsync(Convert.FromHexString(id), 0, TimeSpan.FromSeconds(10), Stopping));
            var active = runtime.ActiveAt(status.Epoch);
            var list = runtime.Deployments.Select(d => new KmDeployment
            {
                RuntimeId = runtime.Id, Version = d.Version.ToString(), ValidFrom = d.ValidFrom, CurrentEpoch = status.Epoch,
                IsActive = ReferenceEquals(d, active), BundleChecksum = d.BundleChecksum, Enclaves = d.Enclaves,
            }).ToList();
            _done = true;
            if (Version is null) { WriteObject(list, true); return; }
            if (!OasisVersion.TryParse(Version, out var v))
                throw new KmException("InvalidVersion", KmErrorCategory.InvalidArgument, $"'{Version}' is not a version (e.g. 0.6.0).", Version);
            var match = list.FirstOrDefault(d => d.Version == v.ToString())
                        ?? throw new KmException("VersionNotDeployed", KmErrorCategory.ObjectNotFound,
                            $"Version {v} is not in the deployments of {runtime.Id} (deployed: {string.Join(", ", list.Select(d => $"{d.Version}@{d.ValidFrom}"))}).", Version)
                        {
                            RecommendedAction = "The runtime owner must register a deployment of this version before any node can run it.",
                        };
            WriteObject(match);
        }
        catch (KmException e) { WriteKmError(e, Socket); }
    }
}
