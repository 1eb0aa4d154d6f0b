using KmPs.Core.Bundles;
using KmPs.Core.Sgx;
using KmPs.Core.Status;
using KmPs.Core.Wire;
using static KmPs.Tests.Support.TestOrcs;
using KmPs.Tests.Support;

namespace KmPs.Core.Tests.Bundles;

/// <summary>DeploymentCheck: a bundle against the registry's deployments of its runtime, and the network check.</summary>
public sealed class DeploymentCheckTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private OrcBundle Bundle(string version = "0.6.0", string build = "", string runtimeId = MainnetKm, string file = "km.orc") =>
        OrcWriter.Write(_dir.File(file), OrcSpec.Simulated(runtimeId, OasisVersion.Parse(version), OrcLayout.Components, build));

    private static RuntimeDeployment Deployment(string version, ulong validFrom, EnclaveIdentity? enclave, string? checksum = null) => new()
    {
        Version = OasisVersion.Parse(version),
        ValidFrom = validFrom,
        Tee = enclave is null ? null : CborCodec.Encode(new SgxConstraints { Version = 1, Enclaves = new[] { enclave } }.ToCbor()),
        BundleChecksum = checksum,
    };

    private static RegistryRuntime Runtime(string? nodeVersion = "25.6.0", string id = MainnetKm, params RuntimeDeployment[] deployments) => new()
    {
        Id = id, Kind = RegistryRuntime.KindKeyManager, TeeHardware = RegistryRuntime.TeeHardwareIntelSgx,
        Deployments = deployments, NodeSoftwareVersion = nodeVersion,
    };

    private static DeploymentProblem Single(DeploymentCheckResult r, string errorId)
    {
        Assert.False(r.Ok);
        var p = Assert.Single(r.Problems);
        Assert.Equal(errorId, p.ErrorId);
        return p;
    }

    [Fact]
    public void The_deployed_bundle_matches_its_deployment()
    {
        var b = Bundle();
        var old = Bundle("0.5.0", file: "old.orc");
        var r = DeploymentCheck.Verify(b, Runtime(deployments: new[]
        {
            Deployment("0.5.0", 1, old.EnclaveIdentity, old.ManifestHash), Deployment("0.6.0", 20, b.EnclaveIdentity, b.ManifestHash),
        }));
        Assert.True(r.Ok, r.ToString());
        Assert.Equal(new OasisVersion(0, 6, 0), r.Deployment!.Version);
        Assert.Equal(20ul, r.Deployment.ValidFrom);
        Assert.Equal(b.EnclaveIdentity, r.BundleIdentity);
        Assert.Equal(new[] { b.EnclaveIdentity! }, r.DeployedIdentities);
        Assert.True(r.BundleChecksumVerified);
    }

    [Fact]
    public void Another_build_of_the_deployed_version_is_EnclaveNotDeployed_naming_both_identities()
    {
        var deployed = Bundle(file: "deployed.orc");
        var other = Bundle(build: "another build", file: "other.orc");
        var p = Single(DeploymentCheck.Verify(other, Runtime("24.3.2", deployments: Deployment("0.6.0", 20, deployed.EnclaveIdentity))), "EnclaveNotDeployed");
        Assert.Contains("other.orc is version 0.6.0", p.Message);
        Assert.Contains(other.EnclaveIdentity!.MrEnclave, p.Message);
        Assert.Contains(other.EnclaveIdentity.MrSigner, p.Message);
        Assert.Contains(deployed.EnclaveIdentity!.Short, p.Message);
        Assert.Contains("another build", p.Message);
    }

    [Fact]
    public void A_version_with_no_deployment_is_VersionNotDeployed_with_the_existing_text()
    {
        var b = Bundle("0.7.0");
        var p = Single(DeploymentCheck.Verify(b, Runtime(deployments: Deployment("0.6.0", 20, b.EnclaveIdentity))), "VersionNotDeployed");
        Assert.Equal($"version 0.7.0 is not in the deployments of {MainnetKm} (deployed: 0.6.0 from epoch 20); no node could run it", p.Message);
    }

    [Fact]
    public void A_manifest_hash_checksum_that_differs_is_BundleChecksumMismatch_on_25_nodes_only()
    {
        var b = Bundle();
        var wrong = new string('e', 64);
        var p = Single(DeploymentCheck.Verify(b, Runtime("25.2.1", deployments: Deployment("0.6.0", 20, b.EnclaveIdentity, wrong))), "BundleChecksumMismatch");
        Assert.Contains(wrong, p.Message);
        Assert.Contains(b.ManifestHash, p.Message);
        // 23.0-24.x: the field meant something else and oasis-core set it nowhere; it is not compared.
        var old = DeploymentCheck.Verify(b, Runtime("24.3.2", deployments: Deployment("0.6.0", 20, b.EnclaveIdentity, wrong)));
        Assert.True(old.Ok);
        Assert.False(old.BundleChecksumVerified);
        // Unknown node version: not compared either.
        Assert.True(DeploymentCheck.Verify(b, Runtime(null, deployments: Deployment("0.6.0", 20, b.EnclaveIdentity, wrong))).Ok);
        // Without a checksum (optional), nothing to compare.
        Assert.True(DeploymentCheck.Verify(b, Runtime("25.6.0", deployments: Deployment("0.6.0", 20, b.EnclaveIdentity))).Ok);
    }

    [Fact]
    public void Every_problem_of_the_deployment_is_listed()
    {
        var deployed = Bundle(file: "deployed.orc");
        var other = Bundle(build: "x", file: "other.orc");
        var r = DeploymentCheck.Verify(other, Runtime("25.6.0", deployments: Deployment("0.6.0", 20, deployed.EnclaveIdentity, deployed.ManifestHash)));
        Assert.Equal(new[] { "EnclaveNotDeployed", "BundleChecksumMismatch" }, r.Problems.Select(p => p.ErrorId));
        Assert.NotNull(r.Deployment);
    }

    [Theory]
    [InlineData(TestnetKm, MainnetKm, "is a Testnet key manager bundle", "run the Mainnet key manager")]
    [InlineData(MainnetKm, TestnetKm, "is a Mainnet key manager bundle", "run the Testnet key manager")]
    public void A_bundle_of_the_other_network_says_so_by_name(string bundleId, string nodesId, string expected, string nodes)
    {
        var b = Bundle(runtimeId: bundleId);
        var p = Single(DeploymentCheck.Verify(b, Runtime(id: nodesId, deployments: Deployment("0.6.0", 20, b.EnclaveIdentity))), "BundleOtherNetwork");
        Assert.Contains(expected, p.Message);
        Assert.Contains(nodes, p.Message);
    }

    [Fact]
    public void A_bundle_of_another_runtime_is_BundleOtherRuntime()
    {
        var b = Bundle(runtimeId: Sapphire);
        var p = Single(DeploymentCheck.Verify(b, Runtime(deployments: Deployment("0.6.0", 20, b.EnclaveIdentity))), "BundleOtherRuntime");
        Assert.Contains($"not of the nodes' key manager {MainnetKm}", p.Message);
    }

    [Fact]
    public void A_testnet_file_name_marks_a_bundle_of_an_unknown_runtime_as_Testnet()
    {
        var custom = "4000000000000000000000000000000000000000000000000000000000000001";
        var b = Bundle(runtimeId: custom, file: "keymanager-0.6.0-testnet.orc");
        Assert.Equal(KmNetwork.Testnet, KmNetworks.OfBundle(b));
        Assert.Equal("BundleOtherNetwork", DeploymentCheck.NetworkProblem(b, MainnetKm)!.ErrorId);
        // A file name never outweighs the runtime id.
        Assert.Equal(KmNetwork.Mainnet, KmNetworks.OfBundle(Bundle(file: "keymanager-0.6.0-testnet.orc")));
    }

    [Fact]
    public void Undecodable_TEE_constraints_are_DeploymentTeeUnreadable()
    {
        var b = Bundle();
        var d = new RuntimeDeployment { Version = new(0, 6, 0), ValidFrom = 20, Tee = new byte[] { 0xa1, 0x61, 0x76, 0x05 } }; // {"v": 5}
        var p = Single(DeploymentCheck.Verify(b, Runtime(deployments: d)), "DeploymentTeeUnreadable");
        Assert.Contains("unsupported SGX constraints version 5", p.Message);
    }

    [Fact]
    public void A_bundle_without_an_identity_is_BundleIdentityUnknown()
    {
        var b = OrcWriter.Write(_dir.File("nosig.orc"), OrcSpec.Simulated(MainnetKm, new(0, 6, 0)) with { SgxSignature = null });
        Single(DeploymentCheck.Verify(b, Runtime(deployments: Deployment("0.6.0", 20, new EnclaveIdentity(new string('1', 64), new string('2', 64))))), "BundleIdentityUnknown");
    }

    [Fact]
    public void KmNetwork_knows_the_two_key_managers_and_the_testnet_suffix()
    {
        Assert.Equal(KmNetwork.Mainnet, KmNetworks.OfRuntime("4000000000000000000000000000000000000000000000008C5EA5E49B4BC9AC"));
        Assert.Equal(KmNetwork.Testnet, KmNetworks.OfRuntime(TestnetKm));
        Assert.Null(KmNetworks.OfRuntime(Sapphire));
        Assert.Null(KmNetworks.OfRuntime(null));
        Assert.Equal(KmNetwork.Testnet, KmNetworks.OfVersionText("v0.6.0-testnet"));
        Assert.Equal(KmNetwork.Testnet, KmNetworks.OfVersionText("keymanager-0.6.0-Testnet.orc"));
        Assert.Null(KmNetworks.OfVersionText("v0.6.0"));
        Assert.Equal(MainnetKm, KmNetworks.KeyManagerOf(KmNetwork.Mainnet));
        Assert.Equal(TestnetKm, KmNetworks.KeyManagerOf(KmNetwork.Testnet));
    }
}
