using System.Management.Automation;
using KmPs.Core.Status;
using KmPs.Core.Wire;
using KmPs.Core;

namespace KmPs.Cmdlets;

/// <summary>
/// ConvertFrom-KmExtraInfo: decodes a key manager node's registered extra_info (base64 text as
/// the CLI prints it, or raw bytes) into its signed init response.
/// </summary>
[Cmdlet(VerbsData.ConvertFrom, "KmExtraInfo")]
[OutputType(typeof(KmInitResponse))]
public sealed class ConvertFromKmExtraInfoCommand : KmCmdlet
{
    /// <summary>Base64 string or byte array.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("extra_info")]
    [AllowEmptyString]
    public object? ExtraInfo { get; set; }

    protected override void ProcessRecord()
    {
        var value = ExtraInfo is PSObject ps ? ps.BaseObject : ExtraInfo;
        // An object parameter binds piped objects by value; take their extra_info property then.
        if (value is PSCustomObject && ExtraInfo is PSObject holder)
        {
            var prop = holder.Properties["extra_info"] ?? holder.Properties["ExtraInfo"];
            if (prop is not null) value = prop.Value is PSObject inner ? inner.BaseObject : prop.Value;
        }
        try
        {
            var result = value switch
            {
                string s => KmInitResponse.FromBase64(s),
                byte[] b => KmInitResponse.FromExtraInfo(b),
                object[] arr when arr.All(x => (x is PSObject p ? p.BaseObject : x) is byte) =>
                    KmInitResponse.FromExtraInfo(arr.Select(x => (byte)(x is PSObject p ? p.BaseObject : x)).ToArray()),
                null => throw new FormatException("extra_info is null: the node registered before its enclave finished initialising"),
                _ => throw new FormatException($"expected base64 text or bytes, got a {value.GetType().Name}"),
            };
            WriteObject(result);
        }
        catch (Exception e) when (e is FormatException or CborDecodeException)
        {
            WriteKmError(new KmException(StatusErrorIds.InvalidExtraInfo, KmErrorCategory.InvalidData,
                $"Cannot decode extra_info: {e.Message}", value, e)
            {
                RecommendedAction = "Pass registration.descriptor.runtimes[].extra_info of a key manager node (base64 or bytes).",
            });
        }
    }
}
