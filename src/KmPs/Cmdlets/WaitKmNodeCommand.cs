using System.Diagnostics;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using KmPs.Support;
using KmPs.Core.Control;
using KmPs.Remoting;
using KmPs.Core.Replication;
using KmPs.Core.Status;
using KmPs.Core.Timing;
using KmPs.Core;

namespace KmPs.Cmdlets;

public enum KmWaitCondition { Ready, Replicated, Epoch }

/// <summary>
/// Wait-KmNode: polls nodes until they are ready, replicated (ready with an init response whose
/// checksum matches), or an epoch is reached; progress, timeout with what was last seen, Ctrl+C.
/// Ready and Replicated hold for every node; an epoch is the chain's, reached when any node reports it.
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
            ThrowKmError(new KmException(TimingErrorIds.EpochRequired, KmErrorCategory.InvalidArgument, "-Until Epoch needs -Epoch <n>.", null));
        if (Version is not null && !OasisVersion.TryParse(Version, out _))
            ThrowKmError(new KmException(KmPs.Core.Bundles.Download.DownloadErrorIds.InvalidVersion, KmErrorCategory.InvalidArgument, $"'{Version}' is not a version (e.g. 0.6.0).", Version));
    }

    protected override void EndProcessing()
    {
        foreach (var bad in Nodes.Where(n => n.Error is not null)) WriteKmError(bad.Error!, bad.Input);
        var nodes = Nodes.Where(n => n.Usable).ToList();
        if (nodes.Count == 0) return;
        var sw = PollClock.StartTimer();
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
            // A lost session never comes back: that node's wait fails now, not at the timeout. An epoch
            // is the chain's, so for it the other nodes go on; it fails when no node is left to read it from.
            var lost = results.FirstOrDefault(r => r.Error is not null && Remoting.KmRemoting.IsSessionLost(r.Error));
            if (lost.Error is not null && (Until != KmWaitCondition.Epoch || results.All(r => r.Error is not null && Remoting.KmRemoting.IsSessionLost(r.Error))))
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
            // The chain reached the epoch when any node says so: one that is stopped or killed meanwhile does not hold the wait.
            if (Until == KmWaitCondition.Epoch && pending.Count < results.Length) pending.Clear();
            if (pending.Count == 0)
            {
                WriteProgress(new ProgressRecord(2, Activity, "done") { RecordType = ProgressRecordType.Completed, ParentActivityId = ParentProgressId });
                foreach (var r in results.Where(r => r.Status is not null)) { r.Status!.Name = r.Name; WriteObject(r.Status); }
                return;
            }
            if (sw.Elapsed > timeout)
            {
                WriteProgress(new ProgressRecord(2, Activity, "timed out") { RecordType = ProgressRecordType.Completed, ParentActivityId = ParentProgressId });
                ThrowKmError(new KmException(TimingErrorIds.WaitTimeout, KmErrorCategory.OperationTimeout,
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
            PollClock.Pause(TimeSpan.FromMilliseconds(PollIntervalMs), Stopping);
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
        // What Test-KmReplication checks too: a lapsed registration (against the newest epoch any node reports) is not replicated yet.
        var network = ReplicationCheck.NetworkEpochAt(s.RetrievedAt, s.Epoch, all.Where(o => o is not null).Select(o => (o!.RetrievedAt, o.Epoch)));
        if (ReplicationCheck.RegistrationProblem(s, network) is { } lapsed) return (false, $"{seen}, {lapsed}");
        var want = Checksum?.ToLowerInvariant() ?? s.ConsensusChecksum;
        if (want is not null) return (s.Checksum == want, seen);
        // No reference: all nodes must agree.
        return (all.All(o => o?.Checksum == s.Checksum), seen);
    }
}
