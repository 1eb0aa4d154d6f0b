using System.Management.Automation;
using KmPs.Tests.Support;

namespace KmPs.Module.Tests.HelpGen;

// Cmdlets that exist only to be reflected by the help generator's tests (never imported).

public enum SampleMode { Fast, Thorough }

[Cmdlet(VerbsCommon.Get, "Sample", DefaultParameterSetName = "Default", SupportsShouldProcess = true)]
[OutputType(typeof(FileInfo), ParameterSetName = new[] { "Default" })]
[OutputType(typeof(string), ParameterSetName = new[] { "Mode" })]
public sealed class GetSampleCommand : PSCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [Alias("FullName", "PSPath")]
    public string[] Path { get; set; } = Array.Empty<string>();

    [Parameter(ParameterSetName = "Mode", Mandatory = true)]
    public SampleMode Mode { get; set; }

    [Parameter(ParameterSetName = "Default")]
    [Parameter(ParameterSetName = "Mode")]
    public SwitchParameter Force { get; set; }

    [Parameter(DontShow = true)]
    public string? Hidden { get; set; }

    public string NotAParameter { get; set; } = "";
}

[Cmdlet(VerbsCommon.Set, "Sample")]
public sealed class SetSampleCommand : Cmdlet
{
    [Parameter(Position = 1, ValueFromPipelineByPropertyName = true)]
    [ValidateSet("Low", "High")]
    public string Level { get; set; } = "Low";

    [Parameter(Position = 0, Mandatory = true)]
    public int? Count { get; set; }

    [Parameter]
    public Dictionary<string, List<int>>? Map { get; set; }
}

[Cmdlet(VerbsCommon.Get, "AbstractSample")]
public abstract class AbstractSampleCommand : PSCmdlet;
