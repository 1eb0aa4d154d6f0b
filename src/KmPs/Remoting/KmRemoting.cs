using System.Collections;
using System.Collections.Concurrent;
using System.Management.Automation;
using System.Management.Automation.Remoting;
using System.Management.Automation.Runspaces;
using System.Runtime.CompilerServices;
using System.Text.Json;
using KmPs.Core.Hosting;
using KmPs.Core.Inventory;
using KmPs.Core;

namespace KmPs.Remoting;

/// <summary>
/// The admin host's side of the module's remoting. A remote node's operations run on its machine
/// through its PSSession (SSH or WinRM; any PSRP transport), with the module imported there: each
/// is one operation of <see cref="KmRemoteEndpoint"/>, which runs it with the same LocalNodeHost
/// code a local node uses (see <see cref="RemoteNodeHost"/>). Calls into one session are serialised
/// (a session runs one command at a time); calls into different sessions run concurrently. A
/// session that broke or closed is a <c>SessionLost</c> error naming the node: never a silent skip.
/// </summary>
internal static class KmRemoting
{
    private sealed class SessionState
    {
        public SemaphoreSlim Gate { get; } = new(1, 1);
        public bool ModuleReady { get; set; }
    }

    private static readonly ConditionalWeakTable<Runspace, SessionState> States = new();

    private const string SetupScript = """
        $m = Get-Module OasisKeyManager
        if (-not $m) { $m = @(Import-Module OasisKeyManager -PassThru -ErrorAction SilentlyContinue -WarningAction SilentlyContinue)[0] }
        if ($m) { [KmPs.Remoting.KmRemoteEndpoint]::Version } else { '' }
        [Environment]::MachineName
        $env:PSModulePath
        """;

    /// <summary>
    /// Runs one endpoint operation on the node's machine, writing its reports to this session's
    /// streams as they come (the admin host hands them to the caller's pipeline thread), running the
    /// node's scripts there, and ending with its result. A stopped call cancels the operation there.
    /// </summary>
    private const string OpScript = """
        param([string] $Name, [string] $Arguments)
        $op = [KmPs.Remoting.KmRemoteEndpoint]::Begin($Name, $Arguments)
        try {
            while ($true) {
                foreach ($e in $op.Next(250)) {
                    switch ($e.Kind) {
                        'Progress' {
                            $p = $e.Progress
                            if ($p.Completed) { Write-Progress -Id $p.Id -Activity $p.Activity -Completed }
                            else { Write-Progress -Id $p.Id -Activity $p.Activity -Status $p.Status -PercentComplete $p.Percent -SecondsRemaining $p.SecondsRemaining }
                        }
                        'Verbose' { Write-Verbose $e.Text -Verbose }
                        'Warning' { Write-Warning $e.Text }
                        'Done' { return $e.Text }
                    }
                }
            }
        }
        finally { $op.Cancel() }
        """;

    /// <summary>The node's session; a node with a host name but no session (it could not be opened) is an error.</summary>
    public static PSSession SessionOf(KmNode node) => node.Session switch
    {
        PSSession s => s,
        PSObject { BaseObject: PSSession s } => s,
        null => throw new KmException(RemotingErrorIds.NoSession, KmErrorCategory.ResourceUnavailable,
            $"Node '{node.Name}' is on {node.HostName}, but it has no remoting session to that machine.", node.Name)
        {
            RecommendedAction = "Give the node a session: New-KmNode -Session (New-PSSession -HostName <host> -UserName <user>), or import it again with Import-KmNode.",
        },
        _ => throw new KmException(RemotingErrorIds.NoSession, KmErrorCategory.InvalidArgument,
            $"Node '{node.Name}': its Session is a {node.Session.GetType().Name}, not a PSSession.", node.Name),
    };

    /// <summary>The session of a node given as a parameter-bound object (KmNode.Session or -Session).</summary>
    public static PSSession? AsSession(object? value) => value switch
    {
        PSSession s => s,
        PSObject { BaseObject: PSSession s } => s,
        _ => null,
    };

    public static string Describe(PSSession s) => s.ComputerName is { Length: > 0 } c ? c : s.Name;

    /// <summary>Runs one <see cref="KmRemoteEndpoint"/> operation; its error comes back as the same KmException.</summary>
    public static async Task<T> OpAsync<T>(PSSession session, string nodeName, string op, object arguments, CancellationToken ct, IHostEvents? events = null)
    {
        var args = new Hashtable { ["Name"] = op, ["Arguments"] = JsonSerializer.Serialize(arguments, KmWire.Json) };
        var (output, errors) = await InvokeAsync(session, nodeName, OpScript, args, events, ct).ConfigureAwait(false);
        if (errors.Count > 0) throw FromRemoteError(errors[0], session);
        if (output.Count != 1 || output[0]?.BaseObject is not string text) throw Unexpected(session, nodeName);
        using var doc = JsonDocument.Parse(text);
        if (doc.RootElement.TryGetProperty("error", out var e))
        {
            var category = Enum.TryParse<KmErrorCategory>(e.GetProperty("Category").GetString(), out var c) ? c : KmErrorCategory.NotSpecified;
            throw new KmException(e.GetProperty("ErrorId").GetString() ?? RemotingErrorIds.RemoteError, category,
                $"{e.GetProperty("Message").GetString()} (on {Describe(session)})", e.GetProperty("Target").GetString())
            {
                RecommendedAction = e.GetProperty("RecommendedAction").GetString(),
            };
        }
        return KmWire.Decode<T>(doc.RootElement.GetProperty("ok").GetString()!);
    }

    public static bool IsSessionLost(Exception e) => e is KmException { ErrorId: "SessionLost" or "NoSession" };

    private static async Task<(List<PSObject?> Output, List<ErrorRecord> Errors)> InvokeAsync(PSSession session, string nodeName, string script,
        Hashtable args, IHostEvents? events, CancellationToken ct)
    {
        var state = States.GetValue(session.Runspace, _ => new SessionState());
        CheckOpen(session, nodeName);
        await state.Gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (!state.ModuleReady)
            {
                await EnsureModuleAsync(session, nodeName, ct).ConfigureAwait(false);
                state.ModuleReady = true;
            }
            return await RawInvokeAsync(session, nodeName, script, args, events, ct).ConfigureAwait(false);
        }
        finally { state.Gate.Release(); }
    }

    /// <summary>Imports the module on the node's machine once per session and checks it is this very build.</summary>
    private static async Task EnsureModuleAsync(PSSession session, string nodeName, CancellationToken ct)
    {
        var (output, _) = await RawInvokeAsync(session, nodeName, SetupScript, new Hashtable(), null, ct).ConfigureAwait(false);
        var lines = output.Select(o => o?.ToString() ?? "").ToList();
        var version = lines.ElementAtOrDefault(0) ?? "";
        var machine = lines.ElementAtOrDefault(1) ?? Describe(session);
        if (version.Length == 0)
            throw new KmException(RemotingErrorIds.ModuleNotInstalled, KmErrorCategory.ObjectNotFound,
                $"Node '{nodeName}': the OasisKeyManager module is not installed on {machine} (searched PSModulePath {lines.ElementAtOrDefault(2)}).", nodeName)
            {
                RecommendedAction = "Install the same OasisKeyManager version on every key manager host (copy the module folder into a PSModulePath folder there).",
            };
        if (version != KmRemoteEndpoint.Version)
            throw new KmException(RemotingErrorIds.ModuleVersionMismatch, KmErrorCategory.InvalidOperation,
                $"Node '{nodeName}': {machine} has OasisKeyManager {version}, this host has {KmRemoteEndpoint.Version}; results of another build cannot be read back.", nodeName)
            {
                RecommendedAction = "Install the same OasisKeyManager version on the admin host and on every key manager host.",
            };
    }

    private static async Task<(List<PSObject?> Output, List<ErrorRecord> Errors)> RawInvokeAsync(PSSession session, string nodeName, string script,
        Hashtable args, IHostEvents? events, CancellationToken ct)
    {
        CheckOpen(session, nodeName);
        using var ps = PowerShell.Create();
        ps.Runspace = session.Runspace;
        ps.AddScript(script);
        foreach (DictionaryEntry a in args) ps.AddParameter((string)a.Key, a.Value);
        if (events is not null)
        {
            ps.Streams.Progress.DataAdded += (s, e) => events.Progress(FromRecord(((PSDataCollection<ProgressRecord>)s!)[e.Index]));
            ps.Streams.Verbose.DataAdded += (s, e) => events.Verbose(((PSDataCollection<VerboseRecord>)s!)[e.Index].Message);
            ps.Streams.Warning.DataAdded += (s, e) => events.Warning(((PSDataCollection<WarningRecord>)s!)[e.Index].Message);
        }
        var output = new PSDataCollection<PSObject?>();
        using var stop = ct.Register(() =>
        {
            try { ps.BeginStop(null, null); } catch (Exception) { /* already finished */ }
        });
        try
        {
            var async = ps.BeginInvoke<PSObject, PSObject?>(null, output);
            await Task.Factory.FromAsync(async, ps.EndInvoke).ConfigureAwait(false);
        }
        catch (Exception e) when (ct.IsCancellationRequested)
        {
            throw new OperationCanceledException("stopped", e, ct);
        }
        catch (Exception e) when (e is PSRemotingTransportException or InvalidRunspaceStateException or PSRemotingDataStructureException
                                  || Broken(session))
        {
            throw Lost(session, nodeName, e);
        }
        catch (RuntimeException e) when (e.ErrorRecord is not null)
        {
            // A terminating error of the remote command.
            throw FromRemoteError(e.ErrorRecord, session);
        }
        return (output.ToList(), ps.Streams.Error.ToList());
    }

    private static HostProgress FromRecord(ProgressRecord r) =>
        new(r.ActivityId, r.Activity, r.StatusDescription, r.PercentComplete, r.SecondsRemaining, r.RecordType == ProgressRecordType.Completed);

    private static bool Broken(PSSession s)
    {
        if (s.Runspace.RunspaceStateInfo.State != RunspaceState.Opened) return true;
        // The transport reports a dead peer a moment after the pipeline fails: give it that moment.
        Thread.Sleep(100);
        return s.Runspace.RunspaceStateInfo.State != RunspaceState.Opened;
    }

    private static void CheckOpen(PSSession session, string nodeName)
    {
        if (session.Runspace.RunspaceStateInfo.State != RunspaceState.Opened) throw Lost(session, nodeName, null);
    }

    private static KmException Lost(PSSession session, string nodeName, Exception? cause)
    {
        var info = session.Runspace.RunspaceStateInfo;
        var why = info.Reason?.Message ?? cause?.Message;
        return new KmException(RemotingErrorIds.SessionLost, KmErrorCategory.ConnectionError,
            $"Node '{nodeName}': the remoting session {session.Name} to {Describe(session)} is {info.State.ToString().ToLowerInvariant()}" +
            (why is null ? "" : $" ({why.TrimEnd('.')})") +
            "; the operation on that node did not complete, or its outcome is unknown.", nodeName, cause)
        {
            RecommendedAction = "Check the node on its machine, open a new session (New-PSSession) for it, and run the command again.",
        };
    }

    private static KmException Unexpected(PSSession session, string nodeName) =>
        new(RemotingErrorIds.RemoteResultInvalid, KmErrorCategory.InvalidResult,
            $"Node '{nodeName}': {Describe(session)} answered something the module did not send; is the same OasisKeyManager version installed there?", nodeName);

    /// <summary>A remote error record as the KmException it was on the node's machine, with the same ErrorId.</summary>
    public static KmException FromRemoteError(ErrorRecord e, PSSession session)
    {
        var fqid = e.FullyQualifiedErrorId ?? "RemoteError";
        var id = fqid.Split(',')[0];
        var category = Enum.TryParse<KmErrorCategory>(e.CategoryInfo.Category.ToString(), out var c) ? c : KmErrorCategory.NotSpecified;
        var message = e.Exception?.Message ?? e.ToString();
        return new KmException(id, category, $"{message} (on {Describe(session)})", e.TargetObject?.ToString())
        {
            RecommendedAction = e.ErrorDetails?.RecommendedAction,
        };
    }
}
