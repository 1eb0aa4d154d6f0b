using KmPs.Core.Bundles;
using KmPs.Core.Sgx;
using KmPs.Core.Status;
using static KmPs.Tests.Support.TestOrcs;
using KmPs.Core;
using KmPs.Tests.Support;

namespace KmPs.Core.Tests.Bundles;

public class OrcBundleTests
{
    private static KmException Fails(string path, string errorId)
    {
        var e = Assert.Throws<KmException>(() => OrcBundle.Open(path));
        Assert.Equal(errorId, e.ErrorId);
        Assert.Contains(Path.GetFileName(path), e.Message);
        Assert.NotNull(e.RecommendedAction);
        return e;
    }

    [Theory]
    [InlineData(OrcLayout.Legacy, "runtime")]
    [InlineData(OrcLayout.Components, "ronl")]
    public void Written_KM_bundles_open_with_their_identity(OrcLayout layout, string prefix)
    {
        using var dir = new TempDir();
        var written = WriteKm(dir.File("km.orc"), "0.5.1", layout);
        var b = OrcBundle.Open(dir.File("km.orc"));

        Assert.Equal(dir.File("km.orc"), b.Path);
        Assert.Equal(MainnetKm, b.RuntimeId);
        Assert.Equal("keymanager", b.Name);
        Assert.Equal(new OasisVersion(0, 5, 1), b.Version);
        Assert.True(b.IsKeyManager);
        Assert.True(b.IsValid);
        Assert.Equal(layout == OrcLayout.Legacy, b.Manifest.IsLegacy);
        Assert.Equal(new[] { $"{prefix}.elf", $"{prefix}.sgx", $"{prefix}.sgx.sig" }, b.Files.Select(f => f.Name));
        Assert.All(b.Files, f => Assert.True(f.Ok));
        Assert.Equal(prefix + ".sgx", b.EnclaveFile);
        var spec = OrcSpec.Simulated(MainnetKm, new(0, 5, 1), layout);
        Assert.Equal(new EnclaveIdentity(Sgxs.MrEnclave(spec.Sgx), EnclaveSigner.Named().MrSigner), b.EnclaveIdentity);
        Assert.True(b.EnclaveHashMatches);
        Assert.Equal(spec.SgxSignature, b.ReadFile(prefix + ".sgx.sig"));
        Assert.Equal(written.Manifest.ToJson(), b.Manifest.ToJson());
    }

    [Fact]
    public void Versions_differ_in_enclave_identity_and_bytes_are_reproducible()
    {
        using var dir = new TempDir();
        var v1 = WriteKm(dir.File("v1.orc"), "0.4.1");
        var v2 = WriteKm(dir.File("v2.orc"), "0.5.0");
        WriteKm(dir.File("v1again.orc"), "0.4.1");
        Assert.NotEqual(v1.EnclaveIdentity, v2.EnclaveIdentity);
        Assert.Equal(File.ReadAllBytes(dir.File("v1.orc")), File.ReadAllBytes(dir.File("v1again.orc")));
    }

    [Fact]
    public void Content_digest_follows_the_bytes_not_the_path_or_version()
    {
        using var dir = new TempDir();
        var spec = OrcSpec.Simulated(MainnetKm, new(0, 6, 0), build: "a");
        var a = OrcWriter.Write(dir.File("a.orc"), spec);
        var copy = OrcWriter.Write(dir.File("copy.orc"), spec);
        Assert.Equal(a.ContentDigest, copy.ContentDigest);
        Assert.Matches("^[0-9a-f]{64}$", a.ContentDigest);
        // Rebuilt with another enclave but the same version, at the same path.
        var rebuilt = OrcWriter.Write(dir.File("a.orc"), OrcSpec.Simulated(MainnetKm, new(0, 6, 0), build: "b"));
        Assert.Equal(a.Version, rebuilt.Version);
        Assert.NotEqual(a.ContentDigest, rebuilt.ContentDigest);
    }

    [Fact]
    public void A_bundle_opened_again_with_the_same_bytes_is_the_same_and_one_with_other_bytes_is_read_afresh()
    {
        using var dir = new TempDir();
        var path = dir.File("km.orc");
        WriteKm(path, "0.6.0", build: "a");
        var first = OrcBundle.Open(path);
        Assert.Same(first, OrcBundle.Open(path));
        // Other bytes at the same path (another build, the same version): another enclave, seen at once.
        WriteKm(path, "0.6.0", build: "b");
        var rebuilt = OrcBundle.Open(path);
        Assert.NotEqual(first.ContentDigest, rebuilt.ContentDigest);
        Assert.NotEqual(first.EnclaveIdentity, rebuilt.EnclaveIdentity);
        // The same bytes at another path open as that path's bundle.
        File.Copy(path, dir.File("copy.orc"));
        Assert.Equal(dir.File("copy.orc"), OrcBundle.Open(dir.File("copy.orc")).Path);
        // A file made invalid in place is reported, never answered from what it was.
        var bytes = File.ReadAllBytes(path);
        bytes[^30] ^= 0xff;
        File.WriteAllBytes(path, bytes);
        Assert.ThrowsAny<KmException>(() => OrcBundle.Open(path));
    }

    [Fact]
    public void Without_SGX_the_enclave_file_is_the_ELF_and_there_is_no_identity()
    {
        using var dir = new TempDir();
        var b = OrcWriter.Write(dir.File("elf.orc"), new OrcSpec { RuntimeId = Sapphire, Version = new(1, 0, 0), Elf = Bytes("elf"), Layout = OrcLayout.Components });
        Assert.False(b.IsKeyManager);
        Assert.Equal("ronl.elf", b.EnclaveFile);
        Assert.Null(b.Enclave);
        Assert.Null(b.EnclaveIdentity);
        Assert.Null(b.EnclaveHashMatches);
    }

    [Fact]
    public void BundleNotFound()
    {
        using var dir = new TempDir();
        Fails(dir.File("nope.orc"), "BundleNotFound");
    }

    [Theory]
    [InlineData("")]
    [InlineData("this is not a zip file at all")]
    public void BundleNotZip(string content)
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("bad.orc"), content);
        Fails(dir.File("bad.orc"), "BundleNotZip");
    }

    [Fact]
    public void BundleManifestMissing()
    {
        using var dir = new TempDir();
        OrcWriter.WriteZip(dir.File("m.orc"), new[] { Elf });
        Fails(dir.File("m.orc"), "BundleManifestMissing");
    }

    [Fact]
    public void BundleManifestNotFirst()
    {
        using var dir = new TempDir();
        var (name, data) = Elf;
        var manifest = LegacyManifest(new Dictionary<string, string> { [name] = Sha512_256.HashHex(data) });
        OrcWriter.WriteZip(dir.File("second.orc"), new[] { Elf, (OrcManifest.EntryName, manifest) });
        var e = Fails(dir.File("second.orc"), "BundleManifestNotFirst");
        Assert.Contains("starts with 'runtime.elf'", e.Message);
    }

    [Fact]
    public void BundleManifestInvalid()
    {
        using var dir = new TempDir();
        WriteRaw(dir.File("json.orc"), Bytes("{\"id\": "), Elf);
        Fails(dir.File("json.orc"), "BundleManifestInvalid");
    }

    [Theory]
    [InlineData("dir/runtime.elf")]
    [InlineData("META-INF/extra")]
    [InlineData("..")]
    [InlineData("a\\b")]
    public void BundleNestedPath(string entry)
    {
        using var dir = new TempDir();
        WriteRaw(dir.File("nested.orc"), Elf, (entry, Bytes("x")));
        var e = Fails(dir.File("nested.orc"), "BundleNestedPath");
        Assert.Contains($"'{entry}'", e.Message);
    }

    [Fact]
    public void BundleDuplicateEntry()
    {
        using var dir = new TempDir();
        WriteRaw(dir.File("dup.orc"), Elf, Elf);
        Fails(dir.File("dup.orc"), "BundleDuplicateEntry");
    }

    [Fact]
    public void BundleMissingFile()
    {
        using var dir = new TempDir();
        WriteRaw(dir.File("missing.orc"), ("other.bin", Bytes("x")));
        var e = Fails(dir.File("missing.orc"), "BundleMissingFile");
        Assert.Contains("'runtime.elf' as its ronl: ELF executable", e.Message);
    }

    [Fact]
    public void BundleMissingDigest()
    {
        using var dir = new TempDir();
        var (name, data) = Elf;
        WriteRaw(dir.File("nodigest.orc"), LegacyManifest(new Dictionary<string, string> { [name] = Sha512_256.HashHex(data) }), Elf, ("extra.bin", Bytes("x")));
        var e = Fails(dir.File("nodigest.orc"), "BundleMissingDigest");
        Assert.Contains("'extra.bin'", e.Message);
    }

    [Fact]
    public void BundleDigestMismatch_and_Inspect_shows_every_file()
    {
        using var dir = new TempDir();
        var wrong = new string('0', 64);
        WriteRaw(dir.File("wrong.orc"), LegacyManifest(new Dictionary<string, string> { ["runtime.elf"] = wrong }), Elf);
        var e = Fails(dir.File("wrong.orc"), "BundleDigestMismatch");
        Assert.Contains($"the manifest says {wrong}", e.Message);

        var b = OrcBundle.Inspect(dir.File("wrong.orc"));
        Assert.False(b.IsValid);
        var f = Assert.Single(b.Files);
        Assert.Equal(("runtime.elf", 4L, wrong, Sha512_256.HashHex(Bytes("\u007fELF")), false), (f.Name, f.Size, f.ExpectedDigest, f.ActualDigest, f.Ok));
        Assert.Equal("BundleDigestMismatch", Assert.Single(b.Problems).ErrorId);
    }

    [Fact]
    public void ReadFile_notices_a_bundle_that_changed_since_it_was_opened()
    {
        using var dir = new TempDir();
        var b = WriteKm(dir.File("km.orc"), "0.5.0");
        WriteKm(dir.File("km.orc"), "0.6.0");
        Assert.Equal("BundleDigestMismatch", Assert.Throws<KmException>(() => b.ReadFile("runtime.sgx")).ErrorId);
        Assert.Equal("BundleMissingFile", Assert.Throws<KmException>(() => b.ReadFile("nope")).ErrorId);
    }

    [Fact]
    public void Writer_refuses_nested_names()
    {
        using var dir = new TempDir();
        var m = new OrcManifest { Id = MainnetKm, Executable = "runtime.elf" };
        var e = Assert.Throws<KmException>(() => OrcWriter.Write(dir.File("x.orc"), m, new Dictionary<string, byte[]> { ["a/runtime.elf"] = Bytes("x") }));
        Assert.Equal("BundleNestedPath", e.ErrorId);
        Assert.False(File.Exists(dir.File("x.orc")));
    }

    [Fact]
    public void BundleUnreadable_without_read_permission()
    {
        if (KmPs.Core.Files.UnixFile.EffectiveUid == 0) return; // root reads anything
        using var dir = new TempDir();
        WriteKm(dir.File("km.orc"), "0.5.0");
        UnixModes.SetMode(dir.File("km.orc"), "000");
        Fails(dir.File("km.orc"), "BundleUnreadable");
    }
}
