using System.Management.Automation;
using System.Management.Automation.Runspaces;
using KmPs.Core.Bundles;
using KmPs.Core.Config;
using KmPs.Core.Hosting;
using KmPs.Core;

namespace KmPs.Cmdlets;

/// <summary>
/// Set-KmRuntimeBundle: points a node's config at a new key manager ORC, editing only that one
/// path so comments, order and quoting survive; refuses an ORC of another runtime and a result
/// listing two key manager bundles; keeps a timestamped backup and writes atomically. The ORC is
/// first copied beside the node's current bundle (on the node's machine for a remote node) and
/// verified there by its SHA-512/256; the config then names that copy.
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

    protected override void ProcessRecord()
    {
        var name = Name ?? ConfigPath;
        try
        {
            if (string.IsNullOrWhiteSpace(ConfigPath))
                throw new KmException(ConfigErrorIds.ConfigNotFound, KmErrorCategory.InvalidArgument, "The node has no ConfigPath; give -ConfigPath.", Name);
            var host = HostOf(Session, Name);
            var orc = ResolvePath(Path);
            var bundle = OrcBundle.Open(orc); // a usable ORC of some runtime first (BundleNotFound, BundleInvalid, ...)
            var digest = BundleStaging.Digest(orc);
            BundleStaging.RequireDigest(orc, digest, ExpectedDigest);
            var request = new BundleChangeRequest(host.Machine.Length == 0 ? ResolvePath(ConfigPath) : ConfigPath, RuntimeId, name,
                System.IO.Path.GetFileName(orc), digest, bundle.RuntimeId, bundle.Version.ToString(), new FileInfo(orc).Length);
            var preview = CallHost(_ => host.PreviewBundleChangeAsync(request, orc, Stopping));
            if (preview.AlreadyNamed && preview.Present)
            {
                WriteVerbose($"{name}: {preview.ConfigPath}{OnMachine(host)} already names {preview.Destination}.");
                WriteObject(CallHost(events => host.SetBundleAsync(request, orc, events, Stopping)));
                return;
            }
            var replace = $"the key manager bundle {preview.OldBundle} with {preview.Destination} (version {bundle.Version}) in {preview.ConfigPath}{OnMachine(host)}, keeping a backup";
            if (!ShouldProcess(name, preview.Present ? "Replace " + replace : $"Copy {orc} to {preview.Destination}{OnMachine(host)} (verified by its SHA-512/256), then replace {replace}"))
                return;
            // The copy hashes the file again: the prompt may have taken minutes, and it must be what was shown.
            WriteObject(CallHost(events => host.SetBundleAsync(request, orc, events, Stopping)));
        }
        catch (KmException e) { WriteKmError(e, name); }
        catch (IOException e) { WriteKmError(new KmException(BundleErrorIds.BundleUnreadable, KmErrorCategory.ReadError, $"Cannot read {Path}: {e.Message}", Path, e)); }
    }
}
