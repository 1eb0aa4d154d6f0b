using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using System.Management.Automation.Runspaces;
using KmPs.Inventory;
using KmPs.Remoting;

namespace KmPs.Cmdlets;

/// <summary>New-KmNode: one inventory node, validated.</summary>
[Cmdlet(VerbsCommon.New, "KmNode", DefaultParameterSetName = "NoLifecycle")]
[OutputType(typeof(KmNode))]
public sealed class NewKmNodeCommand : KmCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = "";

    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string DataDir { get; set; } = "";

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? Socket { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? ConfigPath { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? RuntimeId { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? LogPath { get; set; }

    [Parameter(Mandatory = true, ParameterSetName = "Systemd", ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string? SystemdUnit { get; set; }

    [Parameter(Mandatory = true, ParameterSetName = "Script")]
    public ScriptBlock? StartScript { get; set; }

    [Parameter(Mandatory = true, ParameterSetName = "Script")]
    public ScriptBlock? StopScript { get; set; }

    /// <summary>The remoting session to the node's machine: the node is remote, its paths are paths there.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public PSSession? Session { get; set; }

    protected override void ProcessRecord()
    {
        // A remote node's paths are the other machine's: nothing here resolves them.
        string? Local(string? p) => p is null || Session is not null ? p : ResolvePath(p);
        var node = new KmNode
        {
            Name = Name, DataDir = Local(DataDir)!, Socket = Socket ?? "", ConfigPath = Local(ConfigPath),
            RuntimeId = RuntimeId, LogPath = Local(LogPath),
            Lifecycle = ParameterSetName switch { "Systemd" => LifecycleKind.Systemd, "Script" => LifecycleKind.Script, _ => LifecycleKind.None },
            Unit = SystemdUnit, StartScript = StartScript?.ToString(), StopScript = StopScript?.ToString(),
            Session = Session, HostName = Session is null ? null : KmRemoting.Describe(Session),
        };
        try
        {
            node.Validate(CurrentDirectory);
            WriteObject(node.IsRemote ? CompleteRemote(this, node) : NodeConfigFill.Complete(node));
        }
        catch (KmException e) { WriteKmError(e, Name); }
    }

    /// <summary>
    /// A remote node completed on its machine: socket, config path, runtime id and log file as its
    /// config there says (the same checks as for a local node), keeping the session.
    /// </summary>
    internal static KmNode CompleteRemote(KmCmdlet cmdlet, KmNode node)
    {
        var session = KmRemoting.SessionOf(node);
        var done = cmdlet.Op<KmNode>(session, node.Name, "CompleteNode", new { Node = KmWire.ToJson(node.AsLocal()) });
        node.Socket = done.Socket;
        node.DataDir = done.DataDir;
        node.ConfigPath = done.ConfigPath;
        node.RuntimeId = done.RuntimeId;
        node.LogPath = done.LogPath;
        return node;
    }
}

/// <summary>
/// Import-KmNode: the inventory from a .json or .psd1 file. Nodes with a HostName get an SSH
/// remoting session (New-PSSession -HostName, one per host, user and port) and are completed on their machine.
/// </summary>
[Cmdlet(VerbsData.Import, "KmNode")]
[OutputType(typeof(KmNode))]
public sealed class ImportKmNodeCommand : KmCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("FullName")]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    protected override void ProcessRecord()
    {
        var path = ResolvePath(Path);
        try
        {
            if (!File.Exists(path))
                throw new KmException("InventoryNotFound", KmErrorCategory.ObjectNotFound, $"No inventory file at {path}.", path);
            var text = File.ReadAllText(path);
            var entries = path.EndsWith(".psd1", StringComparison.OrdinalIgnoreCase)
                ? InventoryFile.CheckEach(ParsePsd1(path), path)
                : InventoryFile.ParseJsonEntries(text, path);
            var sessions = new Dictionary<(string, string?, int?), PSSession>();
            // One verdict per entry: a bad entry is its own error, the others are still read.
            foreach (var entry in entries)
            {
                var n = entry.Node;
                try
                {
                    if (entry.Error is not null) throw entry.Error;
                    if (!n.IsRemote)
                    {
                        WriteObject(NodeConfigFill.Complete(n));
                        continue;
                    }
                    var key = (n.HostName!.ToLowerInvariant(), n.UserName, n.Port);
                    if (!sessions.TryGetValue(key, out var session)) sessions[key] = session = OpenSession(n);
                    n.Session = session;
                    WriteObject(NewKmNodeCommand.CompleteRemote(this, n));
                }
                catch (KmException e) { WriteKmError(e, entry.Name); }
            }
        }
        catch (KmException e) { WriteKmError(e, path); }
        catch (IOException e) { WriteKmError(new KmException("InventoryUnreadable", KmErrorCategory.ReadError, $"Cannot read {path}: {e.Message}", path, e)); }
        catch (UnauthorizedAccessException e) { WriteKmError(new KmException("InventoryUnreadable", KmErrorCategory.PermissionDenied, $"Cannot read {path}: {e.Message}", path, e)); }
    }

    /// <summary>An SSH remoting session to the node's machine, registered in the caller's session (Get-PSSession lists it).</summary>
    private PSSession OpenSession(KmNode node)
    {
        var target = node.UserName is null ? node.HostName : $"{node.UserName}@{node.HostName}";
        var ssh = "ssh " + (node.Port is { } port ? $"-p {port} " : "") + (node.KeyFilePath is { } key ? $"-i {key} " : "") +
                  string.Concat((node.SshOptions ?? new()).Select(o => $"-o {o.Key}={o.Value} ")) + target;
        Exception? error = null;
        try
        {
            // A script, so that New-PSSession is resolved as the caller's own call would be.
            var script = ScriptBlock.Create(
                "param($HostName, $UserName, $Port, $KeyFilePath, $Options) $p = @{ HostName = $HostName; ErrorAction = 'Stop' }; " +
                "if ($UserName) { $p.UserName = $UserName }; if ($Port) { $p.Port = $Port }; if ($KeyFilePath) { $p.KeyFilePath = $KeyFilePath }; " +
                "if ($Options) { $p.Options = $Options }; New-PSSession @p");
            var options = node.SshOptions is { Count: > 0 } o ? new Hashtable(o, StringComparer.OrdinalIgnoreCase) : null;
            var result = InvokeCommand.InvokeScript(SessionState, script, node.HostName, node.UserName, node.Port, node.KeyFilePath, options);
            if (result.Count == 1 && KmRemoting.AsSession(result[0]) is { } s) return s;
        }
        // -ErrorAction Stop wraps New-PSSession's error in "The running command stopped because ...": say the error itself.
        catch (ActionPreferenceStopException e) when (e.ErrorRecord?.Exception is { } inner) { error = inner; }
        catch (RuntimeException e) when (e is not PipelineStoppedException) { error = e; }
        throw new KmException("SessionFailed", KmErrorCategory.ConnectionError,
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
            throw new KmException("InventoryInvalid", KmErrorCategory.InvalidData,
                $"{path}: {errors[0].Message} (line {errors[0].Extent.StartLineNumber})", path);
        var table = ast.Find(a => a is HashtableAst, false) as HashtableAst
                    ?? throw new KmException("InventoryInvalid", KmErrorCategory.InvalidData, $"{path} holds no hashtable.", path);
        object? value;
        try { value = table.SafeGetValue(); }
        catch (InvalidOperationException e)
        {
            throw new KmException("InventoryInvalid", KmErrorCategory.InvalidData, $"{path} contains code, not only data: {e.Message}", path, e);
        }
        var root = (Hashtable)value!;
        var list = root["Nodes"] switch
        {
            object[] arr => arr.Cast<object>(),
            Hashtable h => new object[] { h },
            _ => throw new KmException("InventoryEmpty", KmErrorCategory.InvalidData, $"{path} has no Nodes = @( ... ) list.", path),
        };
        return list.Select(o => o as Hashtable ?? throw new KmException("InventoryInvalid", KmErrorCategory.InvalidData,
            $"{path}: every entry of Nodes must be a hashtable.", path)).Select(FromHashtable).ToList();
    }

    private static KmNode FromHashtable(Hashtable h)
    {
        string? S(string k) => h.ContainsKey(k) ? h[k]?.ToString() : null;
        var known = new[] { "Name", "Socket", "DataDir", "ConfigPath", "RuntimeId", "SystemdUnit", "Unit", "StartScript", "StopScript", "LogPath", "HostName", "UserName", "Port", "KeyFilePath", "SshOptions", "Lifecycle" };
        var unknown = h.Keys.Cast<object>().Select(k => k.ToString()!).Where(k => !known.Contains(k, StringComparer.OrdinalIgnoreCase)).ToList();
        if (unknown.Count > 0)
            throw new KmException("InventoryInvalid", KmErrorCategory.InvalidData, $"Unknown inventory keys: {string.Join(", ", unknown)}.", h);
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
                var other => throw new KmException("InventoryInvalid", KmErrorCategory.InvalidData, $"SshOptions must be a hashtable (@{{ Name = 'value' }}), not {other}.", other),
            },
        };
        static int? PortOf(string? text) => text is null ? null
            : int.TryParse(text, out var port) ? port
            : throw new KmException("InvalidPort", KmErrorCategory.InvalidData, $"Port '{text}' is not a number.", text);
    }
}
