using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using KmPs.Inventory;

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

    protected override void ProcessRecord()
    {
        var node = new KmNode
        {
            Name = Name, DataDir = ResolvePath(DataDir), Socket = Socket ?? "", ConfigPath = ConfigPath is null ? null : ResolvePath(ConfigPath),
            RuntimeId = RuntimeId, LogPath = LogPath is null ? null : ResolvePath(LogPath),
            Lifecycle = ParameterSetName switch { "Systemd" => LifecycleKind.Systemd, "Script" => LifecycleKind.Script, _ => LifecycleKind.None },
            Unit = SystemdUnit, StartScript = StartScript?.ToString(), StopScript = StopScript?.ToString(),
        };
        try { WriteObject(NodeConfigFill.Complete(node.Validate(CurrentDirectory))); }
        catch (KmException e) { WriteKmError(e, Name); }
    }
}

/// <summary>Import-KmNode: the inventory from a .json or .psd1 file.</summary>
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
            var nodes = path.EndsWith(".psd1", StringComparison.OrdinalIgnoreCase)
                ? InventoryFile.Check(ParsePsd1(path), path)
                : InventoryFile.ParseJson(text, path);
            foreach (var n in nodes) WriteObject(NodeConfigFill.Complete(n));
        }
        catch (KmException e) { WriteKmError(e, path); }
        catch (IOException e) { WriteKmError(new KmException("InventoryUnreadable", KmErrorCategory.ReadError, $"Cannot read {path}: {e.Message}", path, e)); }
        catch (UnauthorizedAccessException e) { WriteKmError(new KmException("InventoryUnreadable", KmErrorCategory.PermissionDenied, $"Cannot read {path}: {e.Message}", path, e)); }
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
        var known = new[] { "Name", "Socket", "DataDir", "ConfigPath", "RuntimeId", "SystemdUnit", "Unit", "StartScript", "StopScript", "LogPath", "HostName", "UserName", "Lifecycle" };
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
            HostName = S("HostName"), UserName = S("UserName"), Lifecycle = lifecycle,
        };
    }
}
