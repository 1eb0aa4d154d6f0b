using KmPs.Core.Bundles;
using KmPs.Tests.Support;
using KmPs.Tests.Harness;

namespace KmPs.Module.Tests.Module;

/// <summary>Get-KmRuntimeBundle and Set-KmRuntimeBundle in the hosted engine: refusals, -WhatIf, -Confirm.</summary>
public class BundleModuleTests
{
    private sealed class Fixture : IDisposable
    {
        public TempDir Dir { get; } = new("kmb");
        public string Config => Dir.File("config.yml");
        public string V1 => Dir.File("runtimes/km-v1.orc");
        public string V2 => Dir.File("runtimes/km-v2.orc");

        public Fixture(bool v22 = false)
        {
            TestConfigs.WriteBundles(Dir.Path);
            File.WriteAllText(Config, v22 ? TestConfigs.V22Docs(V1) : TestConfigs.V23Docs(V1));
        }

        public string Hash() => TreeHash.Of(Dir.Path);
        public void Dispose() => Dir.Dispose();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Set_KmRuntimeBundle_swaps_only_the_path_and_keeps_a_backup(bool v22)
    {
        using var f = new Fixture(v22);
        var before = File.ReadAllText(f.Config);
        using var ps = new PsEngine();
        var r = ps.Run($"Set-KmRuntimeBundle -ConfigPath '{f.Config}' -Path '{f.V2}' -Confirm:$false").AssertClean();
        var change = (KmPs.Core.Config.KmBundleChange)r.Output.Single().BaseObject;
        Assert.True(change.Changed);
        Assert.Equal("0.5.0", change.NewVersion);
        Assert.Equal(before.Replace(f.V1, f.V2), File.ReadAllText(f.Config));
        Assert.Equal(before, File.ReadAllText(change.BackupPath!));
        // Idempotent: a second run changes nothing.
        var again = ps.Run($"Set-KmRuntimeBundle -ConfigPath '{f.Config}' -Path '{f.V2}' -Confirm:$false").AssertClean();
        Assert.False(((KmPs.Core.Config.KmBundleChange)again.Output.Single().BaseObject).Changed);
    }

    [Fact]
    public void WhatIf_and_No_change_nothing_and_Yes_changes()
    {
        using var f = new Fixture();
        var before = f.Hash();
        using (var ps = new PsEngine())
            Assert.Empty(ps.Run($"Set-KmRuntimeBundle -ConfigPath '{f.Config}' -Path '{f.V2}' -WhatIf").AssertClean().Output);
        Assert.Equal(before, f.Hash());
        var no = new RecordingHost(2);
        using (var ps = new PsEngine(no))
            Assert.Empty(ps.Run($"Set-KmRuntimeBundle -ConfigPath '{f.Config}' -Path '{f.V2}' -Confirm").AssertClean().Output);
        Assert.Single(no.Prompts);
        Assert.Equal(before, f.Hash());
        var yes = new RecordingHost(0);
        using (var ps = new PsEngine(yes))
            Assert.Single(ps.Run($"Set-KmRuntimeBundle -ConfigPath '{f.Config}' -Path '{f.V2}' -Confirm").AssertClean().Output);
        Assert.Contains(f.V2, File.ReadAllText(f.Config));
    }

    [Theory]
    [InlineData("testnet", "BundleRuntimeMismatch")]
    [InlineData("sapphire", "BundleRuntimeMismatch")]
    [InlineData("corrupt", "BundleNotZip")]
    [InlineData("missing", "BundleNotFound")]
    [InlineData("two", "ConfigTwoKmBundles")]
    [InlineData("badyaml", "ConfigInvalidYaml")]
    [InlineData("noconfig", "ConfigNotFound")]
    [InlineData("inventory-id", "BundleRuntimeMismatch")]
    public void Refusals_change_nothing(string kind, string errorId)
    {
        using var f = new Fixture();
        var orc = f.V2;
        var config = f.Config;
        var extra = "";
        switch (kind)
        {
            case "testnet": orc = f.Dir.File("runtimes/km-testnet.orc"); break;
            case "sapphire": orc = f.Dir.File("runtimes/sapphire.orc"); break;
            case "corrupt": orc = f.Dir.File("bad.orc"); File.WriteAllText(orc, "not a zip"); break;
            case "missing": orc = f.Dir.File("nope.orc"); break;
            case "two": File.WriteAllText(config, File.ReadAllText(config).Replace($"- \"{f.V1}\"", $"- \"{f.V1}\"\n    - \"{f.V2}\"")); break;
            case "badyaml": File.WriteAllText(config, "mode: keymanager\nruntime: [unclosed\n"); break;
            case "noconfig": config = f.Dir.File("none.yml"); break;
            case "inventory-id": extra = $"-RuntimeId {TestOrcs.TestnetKm}"; break;
        }
        var before = f.Hash();
        using var ps = new PsEngine();
        var r = ps.Run($"Set-KmRuntimeBundle -ConfigPath '{config}' -Path '{orc}' {extra} -Confirm:$false");
        Assert.Empty(r.Output);
        Assert.Equal(errorId + ",KmPs.Cmdlets.SetKmRuntimeBundleCommand", Assert.Single(r.Errors).FullyQualifiedErrorId);
        Assert.Equal(before, f.Hash());
    }

    [Fact]
    public void Get_KmRuntimeBundle_reports_bundles_and_their_problems()
    {
        using var f = new Fixture();
        var tampered = f.Dir.File("tampered.orc");
        TestOrcs.WriteRaw(tampered, TestOrcs.LegacyManifest(new Dictionary<string, string> { ["runtime.elf"] = new string('0', 64) }), TestOrcs.Elf);
        using var ps = new PsEngine();
        var r = ps.Run($"Get-KmRuntimeBundle '{f.V1}', '{f.V2}', '{tampered}', '{f.Dir.File("nope.orc")}'");
        var bundles = r.Output.Select(o => (OrcBundle)o.BaseObject).ToList();
        Assert.Equal(3, bundles.Count);
        Assert.True(bundles[0].IsValid && bundles[0].IsKeyManager);
        Assert.Equal("0.5.0", bundles[1].Version.ToString());
        Assert.False(bundles[2].IsValid);
        Assert.Equal(new[] { "BundleDigestMismatch", "BundleNotFound" },
            r.Errors.Select(e => e.FullyQualifiedErrorId.Split(',')[0]));
    }

    [Fact]
    public void Get_KmRuntimeBundle_shows_the_enclave_and_manifest_hash_within_80_columns()
    {
        using var f = new Fixture();
        var v2 = OrcBundle.Open(f.V2);
        var id = v2.EnclaveIdentity!;
        using var ps = new PsEngine();
        var table = string.Concat(ps.Run($"Get-KmRuntimeBundle '{f.V1}', '{f.V2}', '{f.Dir.File("runtimes/km-testnet.orc")}' | Out-String -Width 80").AssertClean().Output.Select(o => o.ToString()));
        var lines = table.Split('\n').Select(l => l.TrimEnd()).Where(l => l.Length > 0).ToList();
        Assert.All(lines, l => Assert.True(l.Length <= 80, $"'{l}' is {l.Length} columns"));
        Assert.Matches(@"^File +Version +Valid +Runtime +Enclave +ISV +Manifest$", lines[0]);
        var row = Assert.Single(lines, l => l.StartsWith("km-v2.orc", StringComparison.Ordinal));
        Assert.Contains("0.5.0", row);
        Assert.Contains("Mainnet", row);
        Assert.Contains(id.Short, row);
        Assert.Contains("0/0", row);
        Assert.Contains(v2.ManifestHash[..8], row);
        Assert.Contains("Testnet", Assert.Single(lines, l => l.StartsWith("km-testnet.orc", StringComparison.Ordinal)));

        // Format-List * has it all, in full.
        var list = string.Concat(ps.Run($"Get-KmRuntimeBundle '{f.V2}' | Format-List * | Out-String -Width 300").AssertClean().Output.Select(o => o.ToString()));
        foreach (var (name, value) in new[]
                 {
                     ("MrEnclave", id.MrEnclave), ("MrSigner", id.MrSigner), ("EnclaveIdentity", id.ToString()), ("IsvProdId", "0"), ("IsvSvn", "0"),
                     ("EnclaveHashMatches", "True"), ("ManifestHash", v2.ManifestHash), ("Network", "Mainnet"),
                 })
            Assert.Matches($@"(?m)^{name} +: {value}\s*$", list);
    }

    [Fact]
    public void Get_KmRuntimeBundle_reports_a_signature_of_another_build()
    {
        using var f = new Fixture();
        var spec = OrcSpec.Simulated(TestOrcs.MainnetKm, new(0, 6, 0));
        var mixed = f.Dir.File("mixed.orc");
        OrcWriter.Write(mixed, spec with { SgxSignature = OrcSpec.Simulated(TestOrcs.MainnetKm, new(0, 6, 0), build: "b").SgxSignature }, validate: false);
        using var ps = new PsEngine();
        var r = ps.Run($"Get-KmRuntimeBundle '{mixed}'");
        var b = (OrcBundle)Assert.Single(r.Output).BaseObject;
        Assert.False(b.IsValid);
        Assert.False(b.EnclaveHashMatches);
        var e = Assert.Single(r.Errors);
        Assert.Equal("BundleEnclaveHashMismatch,KmPs.Cmdlets.GetKmRuntimeBundleCommand", e.FullyQualifiedErrorId);
        Assert.Equal(System.Management.Automation.ErrorCategory.InvalidData, e.CategoryInfo.Category);
    }
}
