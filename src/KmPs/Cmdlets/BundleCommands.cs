using System.Management.Automation;
using System.Management.Automation.Runspaces;
using KmPs.Bundles;
using KmPs.Config;
using KmPs.Inventory;
using KmPs.Remoting;

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

    /// <summary>The SHA-512/256 the ORC must have (the orchestrator pins the file it planned with); a changed file is refused.</summary>
    [Parameter]
    [ValidatePattern("^[0-9a-f]{64}$")]
    public string? ExpectedDigest { get; set; }

    /// <summary>The remoting session to the node's machine (bound from remote inventory nodes): the ORC is copied there.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public PSSession? Session { get; set; }

    /// <summary>Bytes per remote call when copying the ORC to a node's machine.</summary>
    internal const int ChunkSize = 1 << 20;

    protected override void ProcessRecord()
    {
        if (Session is not null)
        {
            SetRemote(Session);
            return;
        }
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
            // The config will name a verified copy beside the node's current bundle, not the operator's file.
            OrcBundle.Open(orc); // a usable ORC of some runtime first (BundleNotFound, BundleInvalid, ...)
            var digest = BundleStaging.Digest(orc);
            BundleStaging.RequireDigest(orc, digest, ExpectedDigest);
            var place = BundleStaging.Place(configPath, System.IO.Path.GetFileName(orc), digest);
            OrcBundle Open(string p) => OrcBundle.Open(p == place.Destination && !place.Present ? orc : p);
            var edit = ConfigEditor.SetKmBundlePath(config, place.Destination, Open);
            var name = Name ?? configPath;
            if (!edit.Changed && place.Present)
            {
                WriteVerbose($"{name}: {configPath} already names {place.Destination}.");
                WriteObject(Change(name, edit, null, false));
                return;
            }
            var replace = $"the key manager bundle {edit.Entry.Value} with {place.Destination} (version {edit.Bundle.Version}) in {configPath}, keeping a backup";
            if (!ShouldProcess(name, place.Present ? "Replace " + replace : $"Copy {orc} to {place.Destination} (verified by its SHA-512/256), then replace {replace}"))
                return;
            // Stage hashes the file again: the prompt may have taken minutes, and the copy must be what was shown.
            var staged = BundleStaging.Stage(configPath, orc, ExpectedDigest ?? digest);
            edit = ConfigEditor.SetKmBundlePath(NodeConfig.Load(configPath), staged);
            var saved = edit.Changed ? ConfigEditor.Save(edit).BackupPath : null;
            WriteObject(Change(name, edit, saved, edit.Changed));
        }
        catch (KmException e) { WriteKmError(e, Name ?? ConfigPath); }
    }

    /// <summary>
    /// A node on another machine: the ORC here is copied beside the node's current key manager
    /// bundle there (verified by its SHA-512/256 there), then the same command edits the config there.
    /// </summary>
    private void SetRemote(PSSession session)
    {
        var name = Name ?? ConfigPath;
        try
        {
            if (string.IsNullOrWhiteSpace(ConfigPath))
                throw new KmException("ConfigNotFound", KmErrorCategory.InvalidArgument, "The node has no ConfigPath; give -ConfigPath.", Name);
            var orc = ResolvePath(Path);
            var bundle = OrcBundle.Open(orc);
            var host = KmRemoting.Describe(session);
            if (!ShouldProcess(name, $"Copy {orc} (version {bundle.Version}) to {host} beside the node's key manager bundle, and point {ConfigPath} there at it, keeping a backup"))
                return;
            var digest = BundleStaging.Digest(orc);
            BundleStaging.RequireDigest(orc, digest, ExpectedDigest);
            var copied = Upload(session, name, orc, digest);
            var parameters = new System.Collections.Hashtable { ["ConfigPath"] = ConfigPath, ["Path"] = copied, ["Name"] = name, ["Confirm"] = false };
            if (RuntimeId is not null) parameters["RuntimeId"] = RuntimeId;
            WriteRemote(RunRemote(session, name, "Set-KmRuntimeBundle", parameters), name);
        }
        catch (KmException e) { WriteKmError(e, name); }
        catch (IOException e) { WriteKmError(new KmException("BundleUnreadable", KmErrorCategory.ReadError, $"Cannot read {Path}: {e.Message}", Path, e)); }
    }

    /// <summary>Copies the ORC (of SHA-512/256 <paramref name="digest"/>) to the node's machine in chunks; returns its path there.</summary>
    private string Upload(PSSession session, string name, string orc, string digest)
    {
        var length = new FileInfo(orc).Length;
        var upload = RemoteOp<RemoteUpload>(session, name, "BeginUpload", new { ConfigPath, FileName = System.IO.Path.GetFileName(orc), Digest = digest });
        if (upload.Present)
        {
            WriteVerbose($"{name}: {upload.Destination} on {KmRemoting.Describe(session)} already holds this ORC (SHA-512/256 {digest[..16]}…).");
            return upload.Destination;
        }
        var activity = $"Copying {System.IO.Path.GetFileName(orc)} to {KmRemoting.Describe(session)}";
        using (var f = File.OpenRead(orc))
        {
            var buffer = new byte[ChunkSize];
            long sent = 0;
            for (int n; (n = f.Read(buffer, 0, buffer.Length)) > 0; sent += n)
            {
                RemoteOp<bool>(session, name, "AppendUpload", new { upload.TempPath, Data = Convert.ToBase64String(buffer, 0, n) });
                WriteProgress(new ProgressRecord(4, activity, $"{sent + n} of {length} bytes") { PercentComplete = (int)(100 * (sent + n) / Math.Max(1, length)) });
            }
        }
        WriteProgress(new ProgressRecord(4, activity, "done") { RecordType = ProgressRecordType.Completed });
        var destination = RemoteOp<string>(session, name, "CommitUpload", new { upload.TempPath, upload.Destination, Digest = digest, Length = length });
        WriteVerbose($"{name}: copied {orc} to {destination} on {KmRemoting.Describe(session)} (SHA-512/256 {digest[..16]}… verified there).");
        return destination;
    }

    private static KmBundleChange Change(string name, ConfigEdit edit, string? backup, bool changed) => new()
    {
        Node = name, ConfigPath = edit.Config.Path, RuntimeId = edit.Config.KmRuntimeId, OldBundle = edit.Entry.Value,
        NewBundle = edit.NewValue, NewVersion = edit.Bundle.Version.ToString(), Changed = changed, BackupPath = backup,
    };
}
