using System.Text;
using KmPs.Core.Bundles;
using KmPs.Core.Sgx;
using KmPs.Core.Status;
using static KmPs.Tests.Support.TestOrcs;
using KmPs.Core;
using KmPs.Tests.Support;

namespace KmPs.Core.Tests.Bundles;

/// <summary>A bundle's enclave identity (MRENCLAVE, MRSIGNER, the SIGSTRUCT check) and its manifest hash.</summary>
public class BundleIdentityTests
{
    private static OrcSpec Km(string build = "") => OrcSpec.Simulated(MainnetKm, new OasisVersion(0, 6, 0), OrcLayout.Components, build);

    private static KmException Problem(OrcBundle b, string errorId)
    {
        Assert.False(b.IsValid);
        var p = Assert.Single(b.Problems);
        Assert.Equal(errorId, p.ErrorId);
        Assert.Equal(KmErrorCategory.InvalidData, p.Category);
        Assert.NotNull(p.RecommendedAction);
        Assert.Equal(errorId, Assert.Throws<KmException>(() => OrcBundle.Open(b.Path)).ErrorId);
        return p;
    }

    [Fact]
    public void The_identity_is_the_sgxs_MRENCLAVE_and_the_signer_MRSIGNER_with_ISV_fields()
    {
        using var dir = new TempDir();
        var spec = OrcSpec.Simulated(MainnetKm, new OasisVersion(0, 6, 0), OrcLayout.Components, isvProdId: 4, isvSvn: 9);
        var b = OrcWriter.Write(dir.File("km.orc"), spec);
        Assert.Equal(System.Security.Cryptography.SHA256.HashData(spec.Sgx!), Convert.FromHexString(b.MrEnclave!));
        Assert.Equal(EnclaveSigner.Named().MrSigner, b.MrSigner);
        Assert.Equal(b.MrEnclave + b.MrSigner, b.EnclaveIdentity!.ToString());
        Assert.Equal(((ushort?)4, (ushort?)9), (b.IsvProdId, b.IsvSvn));
        Assert.True(b.EnclaveHashMatches);
        Assert.Equal("ronl.sgx", b.Enclave!.SgxsFile);
        Assert.Equal("ronl.sgx.sig", b.Enclave.SignatureFile);
        Assert.Empty(b.ManifestIdentities);
    }

    [Fact]
    public void Another_build_of_the_same_version_has_another_MRENCLAVE_and_the_same_MRSIGNER()
    {
        using var dir = new TempDir();
        var a = OrcWriter.Write(dir.File("a.orc"), Km());
        var b = OrcWriter.Write(dir.File("b.orc"), Km("rebuilt"));
        var c = OrcWriter.Write(dir.File("c.orc"), OrcSpec.Simulated(MainnetKm, new OasisVersion(0, 6, 0), OrcLayout.Components, signer: "another signer"));
        Assert.Equal(a.Version, b.Version);
        Assert.NotEqual(a.MrEnclave, b.MrEnclave);
        Assert.Equal(a.MrSigner, b.MrSigner);
        Assert.Equal(a.MrEnclave, c.MrEnclave);
        Assert.NotEqual(a.MrSigner, c.MrSigner);
        Assert.NotEqual(a.ManifestHash, b.ManifestHash);
    }

    [Fact]
    public void A_signature_of_another_build_is_BundleEnclaveHashMismatch()
    {
        using var dir = new TempDir();
        var b = OrcWriter.Write(dir.File("mixed.orc"), Km() with { SgxSignature = Km("other").SgxSignature }, validate: false);
        var e = Problem(b, "BundleEnclaveHashMismatch");
        Assert.Contains("'ronl.sgx.sig'", e.Message);
        Assert.Contains(b.Enclave!.MrEnclave, e.Message);
        Assert.Contains(b.Enclave.SigStruct!.EnclaveHash, e.Message);
        Assert.False(b.EnclaveHashMatches);
        Assert.Contains("another build", e.Message);
    }

    [Fact]
    public void A_short_signature_is_BundleSigstructMalformed_and_leaves_no_identity()
    {
        using var dir = new TempDir();
        var b = OrcWriter.Write(dir.File("short.orc"), Km() with { SgxSignature = Km().SgxSignature![..1000] }, validate: false);
        Assert.Contains("is 1000 bytes, not 1808", Problem(b, "BundleSigstructMalformed").Message);
        Assert.NotNull(b.Enclave);
        Assert.Null(b.EnclaveIdentity);
        Assert.Null(b.EnclaveHashMatches);
    }

    [Fact]
    public void A_signature_with_exponent_65537_is_BundleSigstructExponent()
    {
        using var dir = new TempDir();
        var sig = Km().SgxSignature!.ToArray();
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(sig.AsSpan(512), 65537);
        var b = OrcWriter.Write(dir.File("e.orc"), Km() with { SgxSignature = sig }, validate: false);
        Assert.Contains("exponent is 65537", Problem(b, "BundleSigstructExponent").Message);
    }

    [Fact]
    public void A_tampered_signature_is_BundleSigstructSignatureInvalid()
    {
        using var dir = new TempDir();
        var sig = Km().SgxSignature!.ToArray();
        sig[1026] ^= 1; // ISVSVN raised by hand
        var b = OrcWriter.Write(dir.File("t.orc"), Km() with { SgxSignature = sig }, validate: false);
        Problem(b, "BundleSigstructSignatureInvalid");
    }

    [Fact]
    public void The_writer_refuses_a_bundle_that_does_not_validate_and_writes_nothing()
    {
        using var dir = new TempDir();
        var e = Assert.Throws<KmException>(() => OrcWriter.Write(dir.File("x.orc"), Km() with { SgxSignature = Encoding.UTF8.GetBytes("not a sigstruct") }));
        Assert.Equal("BundleSigstructMalformed", e.ErrorId);
        Assert.Empty(Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void Without_a_signature_file_there_is_no_MRSIGNER_and_no_problem()
    {
        // oasis-core's Validate skips the check without a signature; MrSigner then fails outside tests.
        using var dir = new TempDir();
        var b = OrcWriter.Write(dir.File("nosig.orc"), Km() with { SgxSignature = null });
        Assert.True(b.IsValid);
        Assert.Equal(Sgxs.MrEnclave(Km().Sgx!), b.Enclave!.MrEnclave);
        Assert.Null(b.EnclaveIdentity);
    }

    [Fact]
    public void A_25_manifest_identity_is_read_and_must_match_what_the_files_measure()
    {
        using var dir = new TempDir();
        var b = OrcWriter.Write(dir.File("id.orc"), Km() with { ManifestIdentity = true });
        var listed = Assert.Single(b.ManifestIdentities);
        Assert.Equal(b.Enclave!.Identity, listed.Enclave);
        Assert.Null(listed.Hypervisor);
        using var json = System.Text.Json.JsonDocument.Parse(b.ReadFile(OrcManifest.EntryName));
        var entry = Assert.Single(json.RootElement.GetProperty("components")[0].GetProperty("identity").EnumerateArray());
        // sgx.EnclaveIdentity's text form: base64 of MRENCLAVE‖MRSIGNER.
        Assert.Equal(Convert.ToBase64String(Convert.FromHexString(listed.Enclave.ToString())), entry.GetProperty("enclave").GetString());
        Assert.False(entry.TryGetProperty("hypervisor", out _));

        // A manifest naming another enclave than its files measure.
        var other = OrcWriter.Write(dir.File("other.orc"), Km("other") with { ManifestIdentity = true }).EnclaveIdentity!;
        var m = b.Manifest with { Components = new[] { b.Manifest.Components[0] with { Identities = new[] { new OrcIdentity(other) } } } };
        var files = b.Files.ToDictionary(f => f.Name, f => b.ReadFile(f.Name));
        var lying = OrcWriter.Write(dir.File("lying.orc"), m, files, validate: false);
        var e = Problem(lying, "BundleIdentityMismatch");
        Assert.Contains(other.Short, e.Message);
        Assert.Contains(b.EnclaveIdentity!.Short, e.Message);
    }

    [Fact]
    public void Without_SGX_files_the_manifest_identity_is_the_identity()
    {
        using var dir = new TempDir();
        var id = new EnclaveIdentity(new string('1', 64), new string('2', 64));
        var m = new OrcManifest
        {
            Id = MainnetKm,
            Components = new[] { new OrcComponent { Kind = "ronl", Version = new(0, 6, 0), ElfExecutable = "ronl.elf", Identities = new[] { new OrcIdentity(id, "qemu") } } },
        };
        var b = OrcWriter.Write(dir.File("elf.orc"), m, new Dictionary<string, byte[]> { ["ronl.elf"] = Bytes("elf") });
        Assert.Null(b.Enclave);
        Assert.Equal(id, b.EnclaveIdentity);
        Assert.Equal("qemu", b.ManifestIdentities[0].Hypervisor);
        Assert.Equal(b.Manifest.ToJson(), OrcManifest.Parse(b.Manifest.ToJson()).ToJson());
    }

    [Theory]
    [InlineData("\"identity\":[{\"enclave\":\"AQID\"}]", "is not 64 bytes")]
    [InlineData("\"identity\":[{\"hypervisor\":\"x\"}]", "has no enclave")]
    [InlineData("\"identity\":[null]", "has no enclave")]
    public void A_malformed_identity_is_BundleManifestInvalid(string field, string expected)
    {
        var json = $"{{\"id\":\"{MainnetKm}\",\"components\":[{{\"kind\":\"ronl\",\"elf\":{{\"executable\":\"e\"}},{field}}}]}}";
        var e = Assert.Throws<KmException>(() => OrcManifest.Parse(Encoding.UTF8.GetBytes(json)));
        Assert.Equal("BundleManifestInvalid", e.ErrorId);
        Assert.Contains("component 0: identity 0", e.Message);
        Assert.Contains(expected, e.Message);
    }

    // Manifest.Hash test vectors of oasis-core go/runtime/bundle/manifest_test.go (v25.x), the
    // manifests built here from their description.
    private static string Digest(byte first) => first.ToString("x2") + new string('0', 62);
    private static readonly string Zero = new('0', 64);
    private static readonly OrcTdx Tdx = new("firmware", "kernel", "initrd", "image") { ExtraKernelOptions = new[] { "opt1", "opt2" }, Resources = new(1, 2) };

    [Fact]
    public void Manifest_hash_of_the_empty_manifest()
    {
        Assert.Equal("dcc4f7c821d750caf4656cdee9f0bed52bee7697a00bab0aefb836149252cb1f", new OrcManifest { Id = Zero, DigestsAbsent = true }.Hash());
        // Go's nil map (no "digests" in the JSON) is CBOR null; an empty map is an empty CBOR map.
        Assert.NotEqual(new OrcManifest { Id = Zero, DigestsAbsent = true }.Hash(), new OrcManifest { Id = Zero }.Hash());
    }

    [Fact]
    public void Manifest_hash_of_a_full_component_manifest()
    {
        var m = new OrcManifest
        {
            Name = "name", Id = Zero,
            Components = new[]
            {
                new OrcComponent
                {
                    Kind = "ronl", Name = "name", Version = new(1, 2, 3), ElfExecutable = "exe", Sgx = new OrcSgx("exe", "sig"), Tdx = Tdx,
                    Identities = new[] { new OrcIdentity(new EnclaveIdentity("010203" + new string('0', 58), "030405" + new string('0', 58)), "hypervisor") },
                    Disabled = true,
                },
            },
            Digests = new Dictionary<string, string> { ["a"] = Digest(1), ["b"] = Digest(2) },
        };
        Assert.Equal("2ddf81b85d08dbecb24571ba75858ec94871800b674d581cf37214c0d56263c3", m.Hash());
        // The same manifest through its JSON (the writer's, then the reader's) hashes the same.
        Assert.Equal(m.Hash(), OrcManifestJson.Read(m.ToJson(), "test", validate: false).Hash());
    }

    [Fact]
    public void Manifest_hash_of_a_legacy_manifest()
    {
        var m = new OrcManifest
        {
            Name = "name", Id = Zero, Version = new(1, 2, 3), Executable = "exe", Sgx = new OrcSgx("exe", "sig"),
            Components = new[] { new OrcComponent { Kind = "ronl", Name = "ronl", Executable = "exe", Sgx = new OrcSgx("exe", "sig"), Tdx = Tdx, Disabled = true } },
            Digests = new Dictionary<string, string> { ["a"] = Digest(1), ["b"] = Digest(2) },
        };
        Assert.Equal("bd2987c59d2c672dee5c723b2d01adf6a7030c67efa368c342b54f887c1fe188", m.Hash());
    }

    [Fact]
    public void Manifest_hash_of_a_minimal_TDX_manifest_read_from_JSON()
    {
        var identity = Convert.ToBase64String(Convert.FromHexString("010203" + new string('0', 58) + "030405" + new string('0', 58)));
        var json = $$$"""
            {"name":"name","id":"{{{Zero}}}","version":{},
             "components":[{"kind":"ronl","name":"name","version":{},
               "tdx":{"firmware":"firmware","kernel":"kernel","extra_kernel_options":["opt1","opt2"],"stage2_image":"image","resources":{"memory":1,"cpus":2}},
               "identity":[{"hypervisor":"hypervisor","enclave":"{{{identity}}}"}]}],
             "digests":{"a":"{{{Digest(1)}}}","b":"{{{Digest(2)}}}"}}
            """;
        Assert.Equal("07c7b90d8412bf8efa6e96132888ac64dad330b0c1b538458fd05ee7a908617b",
            OrcManifestJson.Read(Encoding.UTF8.GetBytes(json), "test", validate: false).Hash());
    }

    [Fact]
    public void A_top_level_version_is_left_out_of_the_RONL_component_in_the_hash()
    {
        var plain = new OrcManifest { Name = "name", Id = Zero, Version = new(1, 2, 3), Components = new[] { new OrcComponent { Kind = "ronl" } }, DigestsAbsent = true };
        var copied = plain with { Components = new[] { new OrcComponent { Kind = "ronl", Version = new(1, 2, 3) } } };
        Assert.Equal(plain.Hash(), copied.Hash());
        Assert.NotEqual(plain.Hash(), (plain with { Version = default }).Hash());
    }

    [Fact]
    public void Bundles_report_their_manifest_hash()
    {
        using var dir = new TempDir();
        var b = OrcWriter.Write(dir.File("km.orc"), Km());
        Assert.Equal(b.Manifest.Hash(), b.ManifestHash);
        Assert.Equal(Sha512_256.HashHex(OrcManifestCbor.Encode(b.Manifest)), b.ManifestHash);
        Assert.Equal(b.ManifestHash, OrcBundle.Open(b.Path).ManifestHash);
    }
}
