using System.Management.Automation;
using KmPs.Core.Hosting;
using KmPs.Core.LocalState;
using KmPs.Core;

namespace KmPs.Cmdlets;

/// <summary>Restore-KmLocalState: puts a moved-aside state back (rollback on the same CPU with the old ORC).</summary>
[Cmdlet(VerbsData.Restore, "KmLocalState", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(LocalStateRecord))]
public sealed class RestoreKmLocalStateCommand : KmLocalStateCommand
{
    /// <summary>The backup folder to restore (name or path); the newest when omitted.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("BackupPath")]
    public string? Backup { get; set; }

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    protected override void ProcessRecord()
    {
        try
        {
            var host = NodeHost();
            var node = StateRef with { Name = NodeName };
            var state = CallHost(_ => host.ResolveStateAsync(node, Stopping));
            // Refused before the prompt (and again by the host right before the move).
            var stop = CallHost(_ => host.CheckStoppedAsync(state.Socket, Timeout, Stopping));
            if (!stop.Stopped)
                throw new KmException(LocalStateErrorIds.NodeRunning, KmErrorCategory.InvalidOperation,
                    $"Refusing to restore under a running node: {stop.State}.", state.Socket);
            var newest = CallHost(_ => host.GetStateInfoAsync(node, Stopping)).Backups.FirstOrDefault();
            var chosen = !string.IsNullOrEmpty(Backup) ? Backup
                : newest is null ? "(none found)"
                : newest.MovedAt is { } at ? $"{newest.Path} (moved aside last, at {at.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z)"
                : $"{newest.Path} (the newest)";
            if (!ShouldProcess(NodeName, $"Restore the key manager state {state.StorageDir}{OnMachine(host)} from backup {chosen}")) return;
            WriteObject(CallHost(_ => host.RestoreAsync(new RestoreRequest(node with { Socket = state.Socket }, Backup, Timeout), Stopping)));
        }
        catch (KmException e) { WriteKmError(e, NodeName); }
    }
}
