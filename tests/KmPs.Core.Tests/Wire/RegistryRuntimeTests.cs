using System.Text.Json;
using KmPs.Core.Sgx;
using KmPs.Core.Status;
using KmPs.Core.Wire;

namespace KmPs.Core.Tests.Wire;

/// <summary>registry.Runtime deployments: tee as versioned SGXConstraints (go/common/node/sgx.go), bundle_checksum; decoding the simulator's GetRuntime answers: KmPs.Simulator.Tests.</summary>
public class RegistryRuntimeTests
{
    private static readonly EnclaveIdentity A = new(new string('a', 64), new string('1', 64));
    private static readonly EnclaveIdentity B = new(new string('b', 64), new string('2', 64));

    private static CborMap Id(EnclaveIdentity e) => e.ToCbor();

    [Fact]
    public void Version_1_constraints_have_enclaves_policy_and_max_attestation_age()
    {
        var tee = CborCodec.Encode(new CborMapBuilder()
            .Add("v", CborNode.UInt(1))
            .Add("enclaves", new CborArray(new CborNode[] { Id(A), Id(B) }))
            .Add("policy", new CborMapBuilder().Add("ias", new CborMapBuilder().Build()).Add("pcs", new CborMapBuilder().Add("tcb_validity_period", CborNode.UInt(30)).Build()).Build())
            .Add("max_attestation_age", CborNode.UInt(1200))
            .Build());
        var c = SgxConstraints.FromCbor(tee);
        Assert.Equal(1u, c.Version);
        Assert.Equal(new[] { A, B }, c.Enclaves);
        Assert.Equal(1200ul, c.MaxAttestationAge);
        Assert.Equal(30ul, c.Policy.Map("policy")!["pcs"].Map("pcs")!["tcb_validity_period"].UInt("x"));
        Assert.Equal(tee, CborCodec.Encode(c.ToCbor()));
    }

    [Fact]
    public void Unversioned_constraints_are_version_0_with_enclaves_and_quote_statuses()
    {
        var tee = CborCodec.Encode(new CborMapBuilder()
            .Add("enclaves", new CborArray(new CborNode[] { Id(A) }))
            .Add("allowed_quote_statuses", new CborArray(new CborNode[] { CborNode.UInt(2) }))
            .Build());
        var c = SgxConstraints.FromCbor(tee);
        Assert.Equal(0u, c.Version);
        Assert.Equal(new[] { A }, c.Enclaves);
        Assert.Null(c.Policy);
    }

    [Theory]
    [InlineData("a1617602", "unsupported SGX constraints version 2")]
    [InlineData("a168656e636c61766573816161", "tee.enclaves[0]: expected a map")]
    [InlineData("80", "tee: expected a map")]
    [InlineData("ff", "malformed CBOR")]
    public void Bad_constraints_say_what_is_wrong(string hex, string expected)
    {
        var d = new RuntimeDeployment { Tee = Convert.FromHexString(hex) };
        Assert.Contains(expected, d.TeeProblem);
        Assert.Null(d.Sgx);
        Assert.Empty(d.Enclaves);
    }

    [Theory]
    [InlineData(null, false)]
    [InlineData("24.3.2", false)]
    [InlineData("25.0.0", true)]
    [InlineData("25.6", true)]
    [InlineData("26.1.0-rc1", true)]
    [InlineData("not a version", false)]
    public void Bundle_checksum_is_a_manifest_hash_from_25_0(string? nodeVersion, bool manifestHash)
    {
        Assert.Equal(manifestHash, new RegistryRuntime().WithNodeVersion(nodeVersion).BundleChecksumIsManifestHash);
    }

    [Fact]
    public void A_runtime_survives_the_remoting_JSON_with_its_enclaves()
    {
        var r = new RegistryRuntime
        {
            Id = "ab", Kind = 2, TeeHardware = 1, NodeSoftwareVersion = "25.6.0",
            Deployments = new[] { new RuntimeDeployment { Version = new(0, 6, 0), ValidFrom = 3, Tee = CborCodec.Encode(new SgxConstraints { Version = 1, Enclaves = new[] { A } }.ToCbor()), BundleChecksum = "cd" } },
        };
        var json = JsonSerializer.Serialize(r);
        var back = JsonSerializer.Deserialize<RegistryRuntime>(json)!;
        Assert.Equal(new[] { A }, back.Deployments[0].Enclaves);
        Assert.True(back.BundleChecksumIsManifestHash);
        Assert.Equal("cd", back.Deployments[0].BundleChecksum);
        Assert.DoesNotContain("TeeProblem", json);
    }

    [Fact]
    public void A_deployment_row_survives_the_remoting_JSON_with_its_enclave_identities()
    {
        var d = new KmDeployment { RuntimeId = "ab", Version = "0.6.0", ValidFrom = 3, Enclaves = new[] { A, B } };
        var back = JsonSerializer.Deserialize<KmDeployment>(JsonSerializer.Serialize(d))!;
        Assert.Equal(new[] { A, B }, back.Enclaves);
    }
}
