using System.Management.Automation;
using System.Management.Automation.Runspaces;
using KmPs.Control;
using KmPs.Diagnosis;
using KmPs.Replication;
using KmPs.Timing;
using KmPs.Status;

namespace KmPs.Cmdlets;

/// <summary>
/// Test-KmReplication: the operator guide's "verify replication" over a set of nodes, with
/// -Repeat to "verify again" at least -MinEpochs later.
/// </summary>
[Cmdlet(VerbsDiagnostic.Test, "KmReplication")]
[OutputType(typeof(ReplicationReport), typeof(bool))]
public sealed class TestKmReplicationCommand : KmNodeSetCommand
{
    /// <summary>Every node must be registered with this runtime version.</summary>
    [Parameter]
    public string? ExpectedVersion { get; set; }

    [Parameter]
    public SwitchParameter Quiet { get; set; }

    /// <summary>Number of checks; each after at least -MinEpochs more epochs.</summary>
    [Parameter]
    [ValidateRange(1, 100)]
    public int Repeat { get; set; } = 1;

    [Parameter]
    [ValidateRange(1, 1000)]
    public int MinEpochs { get; set; } = 1;

    [Parameter]
    [ValidateRange(1, 86400)]
    public int TimeoutSec { get; set; } = 600;

    protected override void EndProcessing()
    {
        OasisVersion? expected = null;
        if (ExpectedVersion is not null)
        {
            if (!OasisVersion.TryParse(ExpectedVersion, out var v))
                ThrowKmError(new KmException("InvalidVersion", KmErrorCategory.InvalidArgument, $"'{ExpectedVersion}' is not a version.", ExpectedVersion));
            expected = v;
        }
        var allOk = true;
        ulong lastEpoch = 0;
        var sw = System.Diagnostics.Stopwatch.StartNew();
        for (var round = 1; round <= Repeat; round++)
        {
            if (round > 1)
            {
                var target = lastEpoch + (ulong)MinEpochs;
                // The wait for the next check's epoch shows its ETA, as every epoch wait does (Wait-KmNode).
                var eta = new EpochWaitEta(Nodes.Where(n => n.Usable).ToList(), target, TimeSpan.FromSeconds(TimeoutSec) - sw.Elapsed);
                ulong epoch;
                while ((epoch = CurrentEpoch()) < target)
                {
                    if (sw.Elapsed.TotalSeconds > TimeoutSec)
                        ThrowKmError(new KmException("WaitTimeout", KmErrorCategory.OperationTimeout, $"Epoch {target} was not reached within {TimeoutSec} s for check {round}.", null));
                    var view = Await(eta.ProgressAsync(epoch, Stopping)).View;
                    WriteProgress(new ProgressRecord(3, "Verifying replication again", $"check {round} of {Repeat}: {view.Status}")
                    {
                        SecondsRemaining = view.SecondsRemaining, PercentComplete = view.PercentComplete,
                    });
                    Stopping.WaitHandle.WaitOne(250);
                    if (Stopping.IsCancellationRequested) throw new PipelineStoppedException();
                }
                WriteProgress(new ProgressRecord(3, "Verifying replication again", "done") { RecordType = ProgressRecordType.Completed });
            }
            var report = Check(expected, round);
            lastEpoch = report.Epoch;
            allOk &= report.Ok;
            WriteVerbose($"check {round}: {report}");
            if (!Quiet) WriteObject(report);
        }
        if (Quiet) WriteObject(allOk);
    }

    private ulong CurrentEpoch() => Await(Task.WhenAll(Nodes.Where(n => n.Usable).Select(async n =>
    {
        try { return (await ReadStatusAsync(n, TimeSpan.FromSeconds(5)).ConfigureAwait(false)).Epoch; }
        catch (KmException) { return 0UL; }
    }))).DefaultIfEmpty(0UL).Max();

    private ReplicationReport Check(OasisVersion? expected, int round)
    {
        async Task<ReplicationCheck.Input> Read(CollectedNode n)
        {
            if (!n.Usable) return new ReplicationCheck.Input(n.Name, null, n.Error!.Message, expected);
            try
            {
                var s = await ReadStatusAsync(n, TimeSpan.FromSeconds(10)).ConfigureAwait(false);
                return new ReplicationCheck.Input(n.Name, s, null, expected);
            }
            catch (KmException e) { return new ReplicationCheck.Input(n.Name, null, e.Message, expected); }
        }
        var inputs = Await(Task.WhenAll(Nodes.Select(Read)));
        // Nodes that look stale only against a newer epoch read after them are read again (see ReplicationCheck.Suspects).
        var suspects = ReplicationCheck.Suspects(inputs).ToHashSet();
        if (suspects.Count > 0)
            inputs = Await(Task.WhenAll(Nodes.Zip(inputs).Select(x => suspects.Contains(x.Second.Name) ? Read(x.First) : Task.FromResult(x.Second))));
        return ReplicationCheck.Evaluate(inputs, round);
    }
}

/// <summary>Find-KmUpgradeProblem: known key manager failures in a node's log, each with its fix.</summary>
[Cmdlet(VerbsCommon.Find, "KmUpgradeProblem")]
[OutputType(typeof(UpgradeProblem))]
public sealed class FindKmUpgradeProblemCommand : KmCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("LogPath", "FullName")]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? Name { get; set; }

    /// <summary>Read only the last N lines (logs of long-running nodes are large).</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int Tail { get; set; } = 100_000;

    /// <summary>The remoting session to the node's machine, where the log is read (bound from remote inventory nodes).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public PSSession? Session { get; set; }

    protected override void ProcessRecord()
    {
        if (Session is not null)
        {
            var parameters = new System.Collections.Hashtable { ["Path"] = Path, ["Tail"] = Tail };
            if (Name is not null) parameters["Name"] = Name;
            try { WriteRemote(RunRemote(Session, Name ?? Path, "Find-KmUpgradeProblem", parameters), Path); }
            catch (KmException e) { WriteKmError(e, Path); }
            return;
        }
        var path = ResolvePath(Path);
        try
        {
            if (!File.Exists(path))
                throw new KmException("LogNotFound", KmErrorCategory.ObjectNotFound, $"No log file at {path}.", path)
                {
                    RecommendedAction = "Point -Path at the node's log.file (oasis-node logs to stdout/journald unless log.file is set).",
                };
            var lines = new Queue<string>();
            using (var reader = new StreamReader(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete)))
            {
                for (var line = reader.ReadLine(); line is not null; line = reader.ReadLine())
                {
                    lines.Enqueue(line);
                    if (lines.Count > Tail) lines.Dequeue();
                }
            }
            var found = UpgradeProblemFinder.Scan(lines, Name ?? path, path);
            WriteVerbose($"{path}: {lines.Count} lines read, {found.Count} known problem(s).");
            WriteObject(found, true);
        }
        catch (KmException e) { WriteKmError(e, path); }
        catch (IOException e) { WriteKmError(new KmException("LogUnreadable", KmErrorCategory.ReadError, $"Cannot read {path}: {e.Message}", path, e)); }
        catch (UnauthorizedAccessException e) { WriteKmError(new KmException("LogUnreadable", KmErrorCategory.PermissionDenied, $"Cannot read {path}: {e.Message}", path, e)); }
    }
}
