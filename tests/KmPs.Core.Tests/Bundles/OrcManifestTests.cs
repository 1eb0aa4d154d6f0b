using KmPs.Core.Bundles;
using KmPs.Core.Status;
using KmPs.Core;
using KmPs.Tests.Support;

namespace KmPs.Core.Tests.Bundles;

public class OrcManifestTests
{
    private static readonly string D1 = new('1', 64), D2 = new('2', 64), D3 = new('3', 64);

    // The 22.2-era example of the spec (Q1.2), digest placeholders filled in.
    private static readonly string Legacy =
        "{\"name\":\"keymanager\",\n \"id\":\"4000000000000000000000000000000000000000000000008c5ea5e49b4bc9ac\",\n \"version\":{\"minor\":3,\"patch\":4},\n" +
        " \"executable\":\"runtime.elf\",\n \"sgx\":{\"executable\":\"runtime.sgx\",\"signature\":\"runtime.sgx.sig\"},\n" +
        $" \"digests\":{{\"runtime.elf\":\"{D1}\",\"runtime.sgx\":\"{D2}\",\"runtime.sgx.sig\":\"{D3}\"}}}}";

    // The components form as Go's encoding/json writes it: the component version key is "Version".
    private static readonly string Components =
        "{\"name\":\"keymanager\",\"id\":\"4000000000000000000000000000000000000000000000004a1a53dff2ae482d\",\"version\":{}," +
        "\"components\":[{\"kind\":\"ronl\",\"Version\":{\"minor\":5},\"elf\":{\"executable\":\"ronl.elf\"}," +
        "\"sgx\":{\"executable\":\"ronl.sgx\",\"signature\":\"ronl.sgx.sig\"}}," +
        "{\"kind\":\"rofl\",\"name\":\"oracle\",\"elf\":{\"executable\":\"oracle.elf\"},\"disabled\":true}]," +
        $"\"digests\":{{\"ronl.elf\":\"{D1}\",\"ronl.sgx\":\"{D2}\",\"ronl.sgx.sig\":\"{D3}\",\"oracle.elf\":\"{D1}\"}}}}";

    private static OrcManifest Parse(string json) => OrcManifest.Parse(TestOrcs.Bytes(json), "test.orc");

    private static KmException Invalid(string json)
    {
        var e = Assert.Throws<KmException>(() => Parse(json));
        Assert.Equal("BundleManifestInvalid", e.ErrorId);
        Assert.Contains("test.orc", e.Message);
        return e;
    }

    [Fact]
    public void Legacy_form()
    {
        var m = Parse(Legacy);
        Assert.Equal("keymanager", m.Name);
        Assert.Equal(TestOrcs.MainnetKm, m.Id);
        Assert.True(m.IsLegacy);
        Assert.Equal(new OasisVersion(0, 3, 4), m.RuntimeVersion);
        Assert.Equal(new OrcSgx("runtime.sgx", "runtime.sgx.sig"), m.Sgx);
        Assert.Equal("runtime.sgx", m.Ronl!.EnclaveFile);
        Assert.Equal("runtime.elf", m.Ronl.ElfFile);
        Assert.Equal(D2, m.Digests["runtime.sgx"]);
        Assert.Equal(new[] { "runtime.elf", "runtime.sgx", "runtime.sgx.sig" }, m.NamedFiles().Select(f => f.File));
        Assert.Equal("ronl: SGX executable", m.NamedFiles()[1].Role);
    }

    [Fact]
    public void Components_form_reads_the_RONL_version_and_all_components()
    {
        var m = Parse(Components);
        Assert.False(m.IsLegacy);
        Assert.Equal(default, m.Version);
        Assert.Equal(new OasisVersion(0, 5, 0), m.RuntimeVersion);
        Assert.Equal("ronl.sgx", m.Ronl!.EnclaveFile);
        Assert.Equal("ronl.elf", m.Ronl.ElfExecutable);
        var rofl = m.Components[1];
        Assert.Equal(("rofl", "oracle", "rofl.oracle", true), (rofl.Kind, rofl.Name, rofl.Id, rofl.Disabled));
        Assert.Equal(new[] { "ronl.elf", "ronl.sgx", "ronl.sgx.sig", "oracle.elf" }, m.NamedFiles().Select(f => f.File));
    }

    [Fact]
    public void A_non_zero_top_level_version_wins_over_the_component_version()
    {
        var m = Parse(Components.Replace("\"version\":{}", "\"version\":{\"minor\":6}"));
        Assert.Equal(new OasisVersion(0, 6, 0), m.RuntimeVersion);
        Assert.Equal(new OasisVersion(0, 5, 0), m.Components[0].Version);
    }

    [Fact]
    public void Keys_match_case_insensitively_like_Go()
    {
        var m = Parse(Legacy.Replace("\"id\"", "\"ID\"").Replace("\"digests\"", "\"Digests\""));
        Assert.Equal(TestOrcs.MainnetKm, m.Id);
        Assert.Equal(3, m.Digests.Count);
    }

    [Fact]
    public void Base64_id_and_digests_are_accepted_and_shown_as_hex()
    {
        var idB64 = Convert.ToBase64String(Convert.FromHexString(TestOrcs.MainnetKm));
        var digestB64 = Convert.ToBase64String(Convert.FromHexString(D2));
        var m = Parse(Legacy.Replace(TestOrcs.MainnetKm, idB64).Replace(D2, digestB64));
        Assert.Equal(TestOrcs.MainnetKm, m.Id);
        Assert.Equal(D2, m.Digests["runtime.sgx"]);
    }

    [Fact]
    public void Round_trip_through_ToJson()
    {
        foreach (var json in new[] { Legacy, Components })
        {
            var m = Parse(json);
            var again = OrcManifest.Parse(m.ToJson());
            Assert.Equal(m.Ronl, again.Ronl);
            Assert.Equal(m.Digests, again.Digests);
            Assert.Equal(m.Components, again.Components);
            Assert.Equal(m.NamedFiles(), again.NamedFiles());
        }
    }

    [Fact]
    public void ToJson_leaves_out_zero_version_parts_and_sorts_digests()
    {
        var m = new OrcManifest
        {
            Id = TestOrcs.MainnetKm, Version = new OasisVersion(0, 5, 0), Executable = "runtime.elf",
            Digests = new Dictionary<string, string> { ["z"] = D1, ["a"] = D2 },
        };
        Assert.Equal(
            $"{{\"id\":\"{TestOrcs.MainnetKm}\",\"version\":{{\"minor\":5}},\"executable\":\"runtime.elf\",\"digests\":{{\"a\":\"{D2}\",\"z\":\"{D1}\"}}}}",
            System.Text.Encoding.UTF8.GetString(m.ToJson()));
    }

    [Fact]
    public void Both_legacy_and_RONL_component_is_rejected()
    {
        var both = Legacy.Replace("\"digests\"", "\"components\":[{\"kind\":\"ronl\",\"elf\":{\"executable\":\"ronl.elf\"}}],\"digests\"");
        Assert.Contains("both a legacy", Invalid(both).Message);
    }

    [Theory]
    [InlineData("not json", "not valid manifest JSON")]
    [InlineData("[]", "not valid manifest JSON")]
    [InlineData("null", "JSON null")]
    [InlineData("{\"executable\":\"runtime.elf\"}", "has no runtime id")]
    [InlineData("{\"id\":\"4000\"}", "is not a runtime id")]
    [InlineData("{\"id\":\"4100000000000000000000000000000000000000000000008c5ea5e49b4bc9ac\"}", "reserved flag bits")]
    [InlineData("{\"id\":\"4000000000000000000000000000000000000000000000008c5ea5e49b4bc9ac\",\"version\":{\"major\":70000}}", "not valid manifest JSON")]
    [InlineData("{\"id\":\"4000000000000000000000000000000000000000000000008c5ea5e49b4bc9ac\",\"digests\":{\"a\":\"zz\"}}", "the digest of 'a'")]
    [InlineData("{\"id\":\"4000000000000000000000000000000000000000000000008c5ea5e49b4bc9ac\",\"components\":[{\"kind\":\"ronl\"}]}", "must name an executable")]
    [InlineData("{\"id\":\"4000000000000000000000000000000000000000000000008c5ea5e49b4bc9ac\",\"components\":[{\"kind\":\"ronl\",\"name\":\"x\",\"executable\":\"e\"}]}", "empty name")]
    [InlineData("{\"id\":\"4000000000000000000000000000000000000000000000008c5ea5e49b4bc9ac\",\"components\":[{\"kind\":\"ronl\",\"executable\":\"e\",\"disabled\":true}]}", "cannot be disabled")]
    [InlineData("{\"id\":\"4000000000000000000000000000000000000000000000008c5ea5e49b4bc9ac\",\"components\":[{\"kind\":\"rofl\"},{\"kind\":\"rofl\"}]}", "already exists")]
    [InlineData("{\"id\":\"4000000000000000000000000000000000000000000000008c5ea5e49b4bc9ac\",\"components\":[{\"kind\":\"tee\"}]}", "unknown component kind 'tee'")]
    [InlineData("{\"id\":\"4000000000000000000000000000000000000000000000008c5ea5e49b4bc9ac\",\"sgx\":{\"signature\":\"s\"}}", "sgx.executable is empty")]
    public void Invalid_manifests(string json, string problem)
    {
        Assert.Contains(problem, Invalid(json).Message);
    }
}
