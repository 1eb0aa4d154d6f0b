using System.Collections;
using System.Collections.Concurrent;
using System.Management.Automation;
using System.Management.Automation.Remoting;
using System.Management.Automation.Runspaces;
using System.Runtime.CompilerServices;
using System.Text.Json;
using KmPs.Inventory;

namespace KmPs.Remoting;

/// <summary>Progress, verbose and warning records of a remote command, handed to the pipeline thread as they arrive.</summary>
internal sealed class RemoteStreams
{
    private readonly ConcurrentQueue<object> _records = new();
    public AutoResetEvent Signal { get; } = new(false);

    public void Add(object record)
    {
        _records.Enqueue(record);
        Signal.Set();
    }

    public bool TryTake(out object? record) => _records.TryDequeue(out record);
}

/// <summary>What a module command run on a node's machine gave: its results (rebuilt typed objects) and its errors.</summary>
internal sealed record RemoteRun(IReadOnlyList<object?> Output, IReadOnlyList<KmException> Errors);

/// <summary>
/// The admin host's side of the module's remoting. A remote node's operations run on its machine
/// through its PSSession (SSH or WinRM; any PSRP transport), with the module imported there:
/// either the same module command with the same parameters, or one of the small operations of
/// <see cref="KmRemoteEndpoint"/>. Calls into one session are serialised (a session runs one
/// command at a time); calls into different sessions run concurrently. A session that broke or
/// closed is a <c>SessionLost</c> error naming the node: never a silent skip.
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

    private const string CommandScript = """
        param([string] $Command, [hashtable] $Parameters, [string] $Node)
        if ($Node) { $Parameters['Node'] = [KmPs.Remoting.KmRemoteEndpoint]::ReadNode($Node) }
        & "OasisKeyManager\$Command" @Parameters | ForEach-Object { [KmPs.Remoting.KmRemoteEndpoint]::Wire($_) }
        """;

    private const string OpScript = """
        param([string] $Name, [string] $Arguments)
        [KmPs.Remoting.KmRemoteEndpoint]::Op($Name, $Arguments)
        """;

    /// <summary>The node's session; a node with a host name but no session (it could not be opened) is an error.</summary>
    public static PSSession SessionOf(KmNode node) => node.Session switch
    {
        PSSession s => s,
        PSObject { BaseObject: PSSession s } => s,
        null => throw new KmException("NoSession", KmErrorCategory.ResourceUnavailable,
            $"Node '{node.Name}' is on {node.HostName}, but it has no remoting session to that machine.", node.Name)
        {
            RecommendedAction = "Give the node a session: New-KmNode -Session (New-PSSession -HostName <host> -UserName <user>), or import it again with Import-KmNode.",
        },
        _ => throw new KmException("NoSession", KmErrorCategory.InvalidArgument,
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

    /// <summary>Runs a module command with these parameters on the session's machine; the node object, if any, is passed as -Node.</summary>
    public static async Task<RemoteRun> RunCommandAsync(PSSession session, string nodeName, string command, IDictionary parameters,
        KmNode? node, RemoteStreams? streams, CancellationToken ct)
    {
        var args = new Hashtable
        {
            ["Command"] = command,
            ["Parameters"] = new Hashtable(parameters),
            ["Node"] = node is null ? null : KmWire.ToJson(node.AsLocal()),
        };
        var (output, errors) = await InvokeAsync(session, nodeName, CommandScript, args, streams, ct).ConfigureAwait(false);
        var results = output.Select(o => KmWire.Decode(o?.BaseObject as string ?? throw Unexpected(session, nodeName))).ToList();
        return new RemoteRun(results, errors.Select(e => FromRemoteError(e, session)).ToList());
    }

    /// <summary>Runs one <see cref="KmRemoteEndpoint"/> operation; its error comes back as the same KmException.</summary>
    public static async Task<T> OpAsync<T>(PSSession session, string nodeName, string op, object arguments, CancellationToken ct)
    {
        var args = new Hashtable { ["Name"] = op, ["Arguments"] = JsonSerializer.Serialize(arguments) };
        var (output, errors) = await InvokeAsync(session, nodeName, OpScript, args, null, ct).ConfigureAwait(false);
        if (errors.Count > 0) throw FromRemoteError(errors[0], session);
        if (output.Count != 1 || output[0]?.BaseObject is not string text) throw Unexpected(session, nodeName);
        using var doc = JsonDocument.Parse(text);
        if (doc.RootElement.TryGetProperty("error", out var e))
        {
            var category = Enum.TryParse<KmErrorCategory>(e.GetProperty("Category").GetString(), out var c) ? c : KmErrorCategory.NotSpecified;
            throw new KmException(e.GetProperty("ErrorId").GetString() ?? "RemoteError", category,
                $"{e.GetProperty("Message").GetString()} (on {Describe(session)})", e.GetProperty("Target").GetString())
            {
                RecommendedAction = e.GetProperty("RecommendedAction").GetString(),
            };
        }
        return KmWire.Decode<T>(doc.RootElement.GetProperty("ok").GetString()!);
    }

    /// <summary>A node's status read on its machine.</summary>
    public static Task<Status.KmStatus> StatusAsync(PSSession session, string nodeName, string socket, TimeSpan timeout, CancellationToken ct) =>
        OpAsync<Status.KmStatus>(session, nodeName, "Status", new { Socket = socket, TimeoutMs = (int)timeout.TotalMilliseconds }, ct);

    public static bool IsSessionLost(Exception e) => e is KmException { ErrorId: "SessionLost" or "NoSession" };

    private static async Task<(List<PSObject?> Output, List<ErrorRecord> Errors)> InvokeAsync(PSSession session, string nodeName, string script,
        Hashtable args, RemoteStreams? streams, CancellationToken ct)
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
            return await RawInvokeAsync(session, nodeName, script, args, streams, ct).ConfigureAwait(false);
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
            throw new KmException("ModuleNotInstalled", KmErrorCategory.ObjectNotFound,
                $"Node '{nodeName}': the OasisKeyManager module is not installed on {machine} (searched PSModulePath {lines.ElementAtOrDefault(2)}).", nodeName)
            {
                RecommendedAction = "Install the same OasisKeyManager version on every key manager host (copy the module folder into a PSModulePath folder there).",
            };
        if (version != KmRemoteEndpoint.Version)
            throw new KmException("ModuleVersionMismatch", KmErrorCategory.InvalidOperation,
                $"Node '{nodeName}': {machine} has OasisKeyManager {version}, this host has {KmRemoteEndpoint.Version}; results of another build cannot be read back.", nodeName)
            {
                RecommendedAction = "Install the same OasisKeyManager version on the admin host and on every key manager host.",
            };
    }

    private static async Task<(List<PSObject?> Output, List<ErrorRecord> Errors)> RawInvokeAsync(PSSession session, string nodeName, string script,
        Hashtable args, RemoteStreams? streams, CancellationToken ct)
    {
        CheckOpen(session, nodeName);
        using var ps = PowerShell.Create();
        ps.Runspace = session.Runspace;
        ps.AddScript(script);
        foreach (DictionaryEntry a in args) ps.AddParameter((string)a.Key, a.Value);
        if (streams is not null)
        {
            ps.Streams.Progress.DataAdded += (s, e) => streams.Add(((PSDataCollection<ProgressRecord>)s!)[e.Index]);
            ps.Streams.Verbose.DataAdded += (s, e) => streams.Add(((PSDataCollection<VerboseRecord>)s!)[e.Index]);
            ps.Streams.Warning.DataAdded += (s, e) => streams.Add(((PSDataCollection<WarningRecord>)s!)[e.Index]);
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
        return new KmException("SessionLost", KmErrorCategory.ConnectionError,
            $"Node '{nodeName}': the remoting session {session.Name} to {Describe(session)} is {info.State.ToString().ToLowerInvariant()}" +
            (why is null ? "" : $" ({why.TrimEnd('.')})") +
            "; the operation on that node did not complete, or its outcome is unknown.", nodeName, cause)
        {
            RecommendedAction = "Check the node on its machine, open a new session (New-PSSession) for it, and run the command again.",
        };
    }

    private static KmException Unexpected(PSSession session, string nodeName) =>
        new("RemoteResultInvalid", KmErrorCategory.InvalidResult,
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
