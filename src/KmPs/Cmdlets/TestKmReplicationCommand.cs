using System.Management.Automation;
using System.Management.Automation.Runspaces;
using KmPs.Support;
using KmPs.Core.Control;
using KmPs.Core.Diagnosis;
using KmPs.Core.Replication;
using KmPs.Core.Timing;
using KmPs.Core.Status;
using KmPs.Core;

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
                ThrowKmError(new KmException(KmPs.Core.Bundles.Download.DownloadErrorIds.InvalidVersion, KmErrorCategory.InvalidArgument, $"'{ExpectedVersion}' is not a version.", ExpectedVersion));
            expected = v;
        }
        var allOk = true;
        ulong lastEpoch = 0;
        var sw = PollClock.StartTimer();
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
                        ThrowKmError(new KmException(TimingErrorIds.WaitTimeout, KmErrorCategory.OperationTimeout, $"Epoch {target} was not reached within {TimeoutSec} s for check {round}.", null));
                    var view = Await(eta.ProgressAsync(epoch, Stopping)).View;
                    WriteProgress(new ProgressRecord(3, "Verifying replication again", $"check {round} of {Repeat}: {view.Status}")
                    {
                        SecondsRemaining = view.SecondsRemaining, PercentComplete = view.PercentComplete,
                    });
                    PollClock.Pause(TimeSpan.FromMilliseconds(250), Stopping);
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
