using System.Text.Json;
using KmPs.Core.Sgx;
using KmPs.Simulator.Shapes;
using KmPs.Core.Status;
using KmPs.Core.Wire;

namespace KmPs.Simulator.Tests.Wire;

/// <summary>The simulator's GetRuntime answers (RegistryShapes) decoded by Core: tee hardware, enclaves, bundle_checksum; the decoding alone: KmPs.Core.Tests.</summary>
public class RegistryRuntimeTests
{
    private static readonly EnclaveIdentity A = new(new string('a', 64), new string('1', 64));
    private static readonly EnclaveIdentity B = new(new string('b', 64), new string('2', 64));

    [Fact]
    public void GetRuntime_answers_are_read_with_tee_hardware_enclaves_and_bundle_checksum()
    {
        var manifestHash = new string('c', 64);
        var deployments = new[]
        {
            new SimDeployment { Version = "0.5.0", ValidFrom = 1, Identity = A.ToString() },
            new SimDeployment { Version = "0.6.0", ValidFrom = 30, Identity = B.ToString(), ManifestHash = manifestHash },
        };
        var id = "4000000000000000000000000000000000000000000000008c5ea5e49b4bc9ac";
        var r25 = RegistryRuntime.FromCbor(CborCodec.Decode(RegistryShapes.EncodeRuntime(id, deployments, "25.6.0")));
        Assert.Equal(RegistryRuntime.TeeHardwareIntelSgx, r25.TeeHardware);
        Assert.Equal(new[] { A }, r25.Deployments[0].Enclaves);
        Assert.Equal(new[] { B }, r25.Find(new(0, 6, 0))!.Enclaves);
        Assert.Null(r25.Deployments[0].BundleChecksum);
        Assert.Equal(manifestHash, r25.Deployments[1].BundleChecksum);
        // Before 25.0 the simulated chain carries no bundle_checksum, as oasis-core set it nowhere.
        var r24 = RegistryRuntime.FromCbor(CborCodec.Decode(RegistryShapes.EncodeRuntime(id, deployments, "24.3.2")));
        Assert.Null(r24.Deployments[1].BundleChecksum);
        Assert.Equal(new[] { B }, r24.Deployments[1].Enclaves);
    }
}
