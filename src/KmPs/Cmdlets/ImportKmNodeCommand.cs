using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using System.Management.Automation.Runspaces;
using KmPs.Support;
using KmPs.Core.Inventory;
using KmPs.Remoting;
using KmPs.Core;

namespace KmPs.Cmdlets;

/// <summary>
/// Import-KmNode: the inventory from a .json or .psd1 file. Nodes with a HostName get an SSH
/// remoting session (New-PSSession -HostName, one per host, user and port) and are completed on their machine.
/// Sessions that differ only by host are opened by one New-PSSession call, which opens them at once;
/// the remote nodes are then completed concurrently (one call at a time per session). Output and
/// errors keep the file's order.
/// </summary>
[Cmdlet(VerbsData.Import, "KmNode")]
[OutputType(typeof(KmNode))]
public sealed class ImportKmNodeCommand : KmCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("FullName")]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    /// <summary>Only the entries of these names (wildcards allowed); Tab completes the names in -Path's file.</summary>
    [Parameter(Position = 1)]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(InventoryNameCompleter))]
    public string[]? Name { get; set; }

    protected override void ProcessRecord()
    {
        var path = ResolvePath(Path);
        try
        {
            var entries = Select(ReadEntries(path), path);
            var sessions = OpenSessions(entries.Where(e => e.Error is null && e.Node.IsRemote).Select(e => e.Node).ToList());
            var completions = entries.Select(e => e.Error is null && e.Node.IsRemote && sessions[SessionKey(e.Node)].Session is { } s
                ? HostOf(WithSession(e.Node, s)).CompleteNodeAsync(e.Node, Stopping) : null).ToList();
            // One verdict per entry: a bad entry is its own error, the others are still read.
            for (var i = 0; i < entries.Count; i++)
            {
                var (entry, n) = (entries[i], entries[i].Node);
                try
                {
                    if (entry.Error is not null) throw entry.Error;
                    if (!n.IsRemote)
                    {
                        WriteObject(Await(HostOf(n).CompleteNodeAsync(n, Stopping)));
                        continue;
                    }
                    if (completions[i] is not { } completion) throw SessionFailed(n, sessions[SessionKey(n)].Failure);
                    WriteObject(Await(completion));
                }
                catch (KmException e) { WriteKmError(e, entry.Name); }
            }
        }
        catch (KmException e) { WriteKmError(e, path); }
        catch (IOException e) { WriteKmError(new KmException(InventoryErrorIds.InventoryUnreadable, KmErrorCategory.ReadError, $"Cannot read {path}: {e.Message}", path, e)); }
        catch (UnauthorizedAccessException e) { WriteKmError(new KmException(InventoryErrorIds.InventoryUnreadable, KmErrorCategory.PermissionDenied, $"Cannot read {path}: {e.Message}", path, e)); }
    }

    /// <summary>Every entry of the inventory file (.json or .psd1), each with its own verdict.</summary>
    internal static IReadOnlyList<InventoryEntry> ReadEntries(string path)
    {
        if (!File.Exists(path))
            throw new KmException(InventoryErrorIds.InventoryNotFound, KmErrorCategory.ObjectNotFound, $"No inventory file at {path}.", path);
        return path.EndsWith(".psd1", StringComparison.OrdinalIgnoreCase)
            ? InventoryFile.CheckEach(ParsePsd1(path), path)
            : InventoryFile.ParseJsonEntries(File.ReadAllText(path), path);
    }

    /// <summary>The entries -Name asks for (all without it); a plain name that matches none is an error, as Get-Process -Name does.</summary>
    private IReadOnlyList<InventoryEntry> Select(IReadOnlyList<InventoryEntry> entries, string path)
    {
        if (Name is null) return entries;
        var patterns = Name.Select(n => WildcardPattern.Get(n, WildcardOptions.IgnoreCase)).ToList();
        foreach (var missing in Name.Where(n => !WildcardPattern.ContainsWildcardCharacters(n) && !entries.Any(e => e.Name.Equals(n, StringComparison.OrdinalIgnoreCase))))
            WriteKmError(new KmException(InventoryErrorIds.NodeNotInInventory, KmErrorCategory.ObjectNotFound,
                $"{path} has no node named '{missing}' (it has {string.Join(", ", entries.Select(e => e.Name))}).", missing));
        return entries.Where(e => patterns.Any(p => p.IsMatch(e.Name))).ToList();
    }

    /// <summary>Which session a remote node uses: one per host, user and port.</summary>
    private static (string Host, string? User, int? Port) SessionKey(KmNode n) => (n.HostName!.ToLowerInvariant(), n.UserName, n.Port);

    private static KmNode WithSession(KmNode n, PSSession s)
    {
        n.Session = s;
        return n;
    }

    /// <summary>
    /// The SSH remoting sessions of these nodes, registered in the caller's session (Get-PSSession lists
    /// them), or why one could not be opened. The login settings (user, port, key, ssh options) are the
    /// first entry's of each session; sessions with the same settings are opened by one New-PSSession.
    /// </summary>
    private Dictionary<(string Host, string? User, int? Port), (PSSession? Session, Exception? Failure)> OpenSessions(IReadOnlyList<KmNode> nodes)
    {
        var result = new Dictionary<(string Host, string? User, int? Port), (PSSession?, Exception?)>();
        var firsts = nodes.GroupBy(SessionKey).Select(g => g.First());
        foreach (var login in firsts.GroupBy(n => (n.UserName, n.Port, n.KeyFilePath,
                     Options: string.Join("\n", (n.SshOptions ?? new()).OrderBy(o => o.Key, StringComparer.OrdinalIgnoreCase).Select(o => $"{o.Key}={o.Value}")))))
        {
            var first = login.First();
            var hosts = login.Select(n => n.HostName!).ToArray();
            var opened = new Dictionary<string, (PSSession?, Exception?)>(StringComparer.OrdinalIgnoreCase);
            try
            {
                // A script, so that New-PSSession is resolved as the caller's own call would be.
                var script = ScriptBlock.Create(
                    "param($HostName, $UserName, $Port, $KeyFilePath, $Options) $p = @{ HostName = $HostName; ErrorAction = 'SilentlyContinue'; ErrorVariable = 'failed' }; " +
                    "if ($UserName) { $p.UserName = $UserName }; if ($Port) { $p.Port = $Port }; if ($KeyFilePath) { $p.KeyFilePath = $KeyFilePath }; " +
                    "if ($Options) { $p.Options = $Options }; $sessions = @(New-PSSession @p); [pscustomobject]@{ Sessions = $sessions; Errors = @($failed) }");
                var options = first.SshOptions is { Count: > 0 } o ? new Hashtable(o, StringComparer.OrdinalIgnoreCase) : null;
                var answer = (PSObject)InvokeCommand.InvokeScript(SessionState, script, hosts, first.UserName, first.Port, first.KeyFilePath, options).Single();
                foreach (var s in ((IEnumerable)answer.Properties["Sessions"].Value).Cast<object>().Select(KmRemoting.AsSession).OfType<PSSession>())
                    opened[s.ComputerName] = (s, null);
                // A failed login's error names its runspace; an error naming none stands for every host left without a session.
                Exception? unplaced = null;
                foreach (var e in ((IEnumerable)answer.Properties["Errors"].Value).Cast<object>().Select(e => (e as PSObject)?.BaseObject ?? e).OfType<ErrorRecord>())
                {
                    var runspace = (e.TargetObject as PSObject)?.BaseObject as Runspace ?? e.TargetObject as Runspace;
                    if (runspace?.ConnectionInfo?.ComputerName is { } host) opened.TryAdd(host, (null, e.Exception));
                    else unplaced ??= e.Exception;
                }
                foreach (var h in hosts) opened.TryAdd(h, (null, unplaced));
            }
            catch (RuntimeException e) when (e is not PipelineStoppedException)
            {
                foreach (var h in hosts) opened.TryAdd(h, (null, e));
            }
            foreach (var n in login) result[SessionKey(n)] = opened.TryGetValue(n.HostName!, out var r) ? r : (null, null);
        }
        return result;
    }

    private static KmException SessionFailed(KmNode node, Exception? error)
    {
        var target = node.UserName is null ? node.HostName : $"{node.UserName}@{node.HostName}";
        var ssh = "ssh " + (node.Port is { } port ? $"-p {port} " : "") + (node.KeyFilePath is { } key ? $"-i {key} " : "") +
                  string.Concat((node.SshOptions ?? new()).Select(o => $"-o {o.Key}={o.Value} ")) + target;
        return new KmException(InventoryErrorIds.SessionFailed, KmErrorCategory.ConnectionError,
            $"Node '{node.Name}': cannot open a remoting session to {target}" + (error is null ? "." : $": {error.Message}"), node.Name, error)
        {
            RecommendedAction = $"Check that '{ssh}' logs in without a prompt, that pwsh is installed there with 'Subsystem powershell /usr/bin/pwsh -sshs -NoLogo' in sshd_config, and that OasisKeyManager is installed there.",
        };
    }

    /// <summary>A data file (@{ Nodes = @( @{...} ) }) read with PowerShell's parser; nothing in it is executed.</summary>
    private static List<KmNode> ParsePsd1(string path)
    {
        var ast = Parser.ParseFile(path, out _, out var errors);
        if (errors.Length > 0)
            throw new KmException(InventoryErrorIds.InventoryInvalid, KmErrorCategory.InvalidData,
                $"{path}: {errors[0].Message} (line {errors[0].Extent.StartLineNumber})", path);
        var table = ast.Find(a => a is HashtableAst, false) as HashtableAst
                    ?? throw new KmException(InventoryErrorIds.InventoryInvalid, KmErrorCategory.InvalidData, $"{path} holds no hashtable.", path);
        object? value;
        try { value = table.SafeGetValue(); }
        catch (InvalidOperationException e)
        {
            throw new KmException(InventoryErrorIds.InventoryInvalid, KmErrorCategory.InvalidData, $"{path} contains code, not only data: {e.Message}", path, e);
        }
        var root = (Hashtable)value!;
        var list = root["Nodes"] switch
        {
            object[] arr => arr.Cast<object>(),
            Hashtable h => new object[] { h },
            _ => throw new KmException(InventoryErrorIds.InventoryEmpty, KmErrorCategory.InvalidData, $"{path} has no Nodes = @( ... ) list.", path),
        };
        return list.Select(o => o as Hashtable ?? throw new KmException(InventoryErrorIds.InventoryInvalid, KmErrorCategory.InvalidData,
            $"{path}: every entry of Nodes must be a hashtable.", path)).Select(FromHashtable).ToList();
    }

    private static KmNode FromHashtable(Hashtable h)
    {
        string? S(string k) => h.ContainsKey(k) ? h[k]?.ToString() : null;
        var known = new[] { "Name", "Socket", "DataDir", "ConfigPath", "RuntimeId", "SystemdUnit", "Unit", "StartScript", "StopScript", "LogPath", "HostName", "UserName", "Port", "KeyFilePath", "SshOptions", "Lifecycle" };
        var unknown = h.Keys.Cast<object>().Select(k => k.ToString()!).Where(k => !known.Contains(k, StringComparer.OrdinalIgnoreCase)).ToList();
        if (unknown.Count > 0)
            throw new KmException(InventoryErrorIds.InventoryInvalid, KmErrorCategory.InvalidData, $"Unknown inventory keys: {string.Join(", ", unknown)}.", h);
        var unit = S("SystemdUnit") ?? S("Unit");
        var start = S("StartScript");
        var lifecycle = unit is not null ? LifecycleKind.Systemd : start is not null ? LifecycleKind.Script : LifecycleKind.None;
        return new KmNode
        {
            Name = S("Name") ?? "", Socket = S("Socket") ?? "", DataDir = S("DataDir") ?? "", ConfigPath = S("ConfigPath"),
            RuntimeId = S("RuntimeId"), Unit = unit, StartScript = start, StopScript = S("StopScript"), LogPath = S("LogPath"),
            HostName = S("HostName"), UserName = S("UserName"), Port = PortOf(S("Port")), KeyFilePath = S("KeyFilePath"), Lifecycle = lifecycle,
            SshOptions = h["SshOptions"] switch
            {
                null => null,
                Hashtable o => o.Keys.Cast<object>().ToDictionary(k => k.ToString()!, k => o[k]?.ToString() ?? "", StringComparer.OrdinalIgnoreCase),
                var other => throw new KmException(InventoryErrorIds.InventoryInvalid, KmErrorCategory.InvalidData, $"SshOptions must be a hashtable (@{{ Name = 'value' }}), not {other}.", other),
            },
        };
        static int? PortOf(string? text) => text is null ? null
            : int.TryParse(text, out var port) ? port
            : throw new KmException(InventoryErrorIds.InvalidPort, KmErrorCategory.InvalidData, $"Port '{text}' is not a number.", text);
    }
}
