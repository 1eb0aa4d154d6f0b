using System.Management.Automation;
using KmPs.Bundles;
using KmPs.Config;
using KmPs.Inventory;

namespace KmPs.Cmdlets;

/// <summary>Get-KmRuntimeBundle: reads and verifies ORC bundles.</summary>
[Cmdlet(VerbsCommon.Get, "KmRuntimeBundle")]
[OutputType(typeof(OrcBundle))]
public sealed class GetKmRuntimeBundleCommand : KmCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("FullName", "BundlePath")]
    [ValidateNotNullOrEmpty]
    public string[] Path { get; set; } = Array.Empty<string>();

    protected override void ProcessRecord()
    {
        foreach (var p in Path)
        {
            var full = ResolvePath(p);
            try
            {
                var bundle = OrcBundle.Inspect(full);
                WriteObject(bundle);
                foreach (var problem in bundle.Problems) WriteKmError(problem, full);
            }
            catch (KmException e) { WriteKmError(e, full); }
        }
    }
}

/// <summary>
/// Set-KmRuntimeBundle: points a node's config at a new key manager ORC, editing only that one
/// path so comments, order and quoting survive; refuses an ORC of another runtime and a result
/// listing two key manager bundles; keeps a timestamped backup and writes atomically.
/// </summary>
[Cmdlet(VerbsCommon.Set, "KmRuntimeBundle", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(KmBundleChange))]
public sealed class SetKmRuntimeBundleCommand : KmCmdlet
{
    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [AllowEmptyString]
    public string ConfigPath { get; set; } = "";

    /// <summary>The new ORC.</summary>
    [Parameter(Mandatory = true, Position = 0)]
    [Alias("OrcPath")]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    /// <summary>The node's KM runtime id from the inventory; must agree with the config.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? RuntimeId { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? Name { get; set; }

    protected override void ProcessRecord()
    {
        try
        {
            if (string.IsNullOrWhiteSpace(ConfigPath))
                throw new KmException("ConfigNotFound", KmErrorCategory.InvalidArgument, "The node has no ConfigPath; give -ConfigPath.", Name);
            var configPath = ResolvePath(ConfigPath);
            var orc = ResolvePath(Path);
            var config = NodeConfig.Load(configPath);
            if (RuntimeId is not null && LocalState.KeyManagerRuntimeId.Validate(RuntimeId) != config.KmRuntimeId)
                throw new KmException("BundleRuntimeMismatch", KmErrorCategory.InvalidData,
                    $"The inventory says runtime {RuntimeId} but {configPath} configures {config.KmRuntimeId}.", configPath);
            var edit = ConfigEditor.SetKmBundlePath(config, orc);
            var name = Name ?? configPath;
            if (!edit.Changed)
            {
                WriteVerbose($"{name}: {configPath} already names {orc}.");
                WriteObject(Change(name, edit, null, false));
                return;
            }
            if (!ShouldProcess(name, $"Replace the key manager bundle {edit.Entry.Value} with {orc} (version {edit.Bundle.Version}) in {configPath}, keeping a backup"))
                return;
            var saved = ConfigEditor.Save(edit);
            WriteObject(Change(name, edit, saved.BackupPath, true));
        }
        catch (KmException e) { WriteKmError(e, Name ?? ConfigPath); }
    }

    private static KmBundleChange Change(string name, ConfigEdit edit, string? backup, bool changed) => new()
    {
        Node = name, ConfigPath = edit.Config.Path, RuntimeId = edit.Config.KmRuntimeId, OldBundle = edit.Entry.Value,
        NewBundle = edit.NewValue, NewVersion = edit.Bundle.Version.ToString(), Changed = changed, BackupPath = backup,
    };
}
