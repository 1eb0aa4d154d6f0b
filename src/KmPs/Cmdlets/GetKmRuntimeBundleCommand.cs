using System.Management.Automation;
using KmPs.Core.Bundles;
using KmPs.Core;

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
