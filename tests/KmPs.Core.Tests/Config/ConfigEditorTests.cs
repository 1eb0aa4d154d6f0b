using KmPs.Core.Config;
using static KmPs.Tests.Support.UnixModes;
using KmPs.Core;
using KmPs.Tests.Support;

namespace KmPs.Core.Tests.Config;

public class ConfigEditorTests
{
    private const string Commented = """
        # Key manager node, edited by hand.
        mode: keymanager   # never change this
        common:
          data_dir: /node/data
        runtime:
          paths:
            # the key manager bundle comes first
            - runtimes/km-v1.orc  # 0.4.1
            - 'runtimes/sapphire.orc'
          sgx_loader: /node/bin/oasis-core-runtime-loader
        keymanager:
          runtime_id: "4000000000000000000000000000000000000000000000008c5ea5e49b4bc9ac"   # Mainnet

        """;

    private static NodeConfig Write(TempDir dir, string text)
    {
        TestConfigs.WriteBundles(dir.Path);
        File.WriteAllText(dir.File("config.yml"), text);
        return NodeConfig.Load(dir.File("config.yml"));
    }

    [Fact]
    public void Only_the_KM_path_changes_comments_and_layout_stay()
    {
        using var dir = new TempDir();
        var edit = ConfigEditor.SetKmBundlePath(Write(dir, Commented), "runtimes/km-v2.orc");
        Assert.Equal("""
            # Key manager node, edited by hand.
            mode: keymanager   # never change this
            common:
              data_dir: /node/data
            runtime:
              paths:
                # the key manager bundle comes first
                - runtimes/km-v2.orc  # 0.4.1
                - 'runtimes/sapphire.orc'
              sgx_loader: /node/bin/oasis-core-runtime-loader
            keymanager:
              runtime_id: "4000000000000000000000000000000000000000000000008c5ea5e49b4bc9ac"   # Mainnet

            """, edit.NewText);
        Assert.True(edit.Changed);
        Assert.Equal(0, edit.Entry.Index);
        Assert.Equal("0.5.0", edit.Bundle.Version.ToString());
        Assert.Equal(Commented, File.ReadAllText(dir.File("config.yml")));
    }

    [Fact]
    public void The_22_2_docs_example_keeps_its_double_quotes()
    {
        using var dir = new TempDir();
        var edit = ConfigEditor.SetKmBundlePath(Write(dir, TestConfigs.V22Docs("runtimes/km-v1.orc")), "runtimes/km-v2.orc");
        Assert.Equal(TestConfigs.V22Docs("runtimes/km-v2.orc"), edit.NewText);
    }

    [Fact]
    public void The_23_0_docs_example_with_an_absolute_path_that_needs_escaping()
    {
        using var dir = new TempDir();
        var config = Write(dir, TestConfigs.V23Docs(dir.File("runtimes/km-v1.orc")));
        var weird = dir.File("runtimes/km \"v2\".orc");
        File.Copy(dir.File("runtimes/km-v2.orc"), weird);
        var edit = ConfigEditor.SetKmBundlePath(config, weird);
        Assert.Equal(TestConfigs.V23Docs(dir.File("runtimes/km \\\"v2\\\".orc")), edit.NewText);
    }

    [Fact]
    public void Flow_sequence()
    {
        using var dir = new TempDir();
        var text = $"mode: keymanager\nkeymanager: {{runtime_id: {TestOrcs.MainnetKm}}}\nruntime:\n  paths: [ runtimes/sapphire.orc , runtimes/km-v1.orc ]  # both\n";
        var edit = ConfigEditor.SetKmBundlePath(Write(dir, text), "runtimes/km-v2.orc");
        Assert.Equal(text.Replace("km-v1.orc ]", "km-v2.orc ]"), edit.NewText);
    }

    [Fact]
    public void Same_path_is_no_change()
    {
        using var dir = new TempDir();
        var edit = ConfigEditor.SetKmBundlePath(Write(dir, Commented), "runtimes/km-v1.orc");
        Assert.False(edit.Changed);
    }

    [Fact]
    public void Two_KM_bundles_are_refused()
    {
        using var dir = new TempDir();
        var config = Write(dir, Commented.Replace("'runtimes/sapphire.orc'", "runtimes/km-v2.orc"));
        var e = Assert.Throws<KmException>(() => ConfigEditor.SetKmBundlePath(config, "runtimes/km-v2.orc"));
        Assert.Equal("ConfigTwoKmBundles", e.ErrorId);
    }

    [Theory]
    [InlineData("runtimes/km-testnet.orc")]
    [InlineData("runtimes/sapphire.orc")]
    public void BundleRuntimeMismatch(string orc)
    {
        using var dir = new TempDir();
        var e = Assert.Throws<KmException>(() => ConfigEditor.SetKmBundlePath(Write(dir, Commented), orc));
        Assert.Equal("BundleRuntimeMismatch", e.ErrorId);
        Assert.Contains(TestOrcs.MainnetKm, e.Message);
    }

    [Fact]
    public void ConfigNoKmBundle()
    {
        using var dir = new TempDir();
        var config = Write(dir, Commented.Replace("- runtimes/km-v1.orc  # 0.4.1\n", ""));
        Assert.Equal("ConfigNoKmBundle", Assert.Throws<KmException>(() => ConfigEditor.SetKmBundlePath(config, "runtimes/km-v2.orc")).ErrorId);
    }

    [Fact]
    public void A_missing_new_bundle_is_BundleNotFound()
    {
        using var dir = new TempDir();
        Assert.Equal("BundleNotFound", Assert.Throws<KmException>(() => ConfigEditor.SetKmBundlePath(Write(dir, Commented), "runtimes/nope.orc")).ErrorId);
    }

    [Theory]
    // Plain stays plain when it can, else single quotes, else double quotes.
    [InlineData("a:\n  - old.orc # c\n", "new.orc", "a:\n  - new.orc # c\n")]
    [InlineData("a:\n  - old.orc # c\n", "km: v2 #1.orc", "a:\n  - 'km: v2 #1.orc' # c\n")]
    [InlineData("a:\n  - old.orc\n", "it's #x", "a:\n  - 'it''s #x'\n")]
    [InlineData("a:\n  - old.orc\n", "true", "a:\n  - 'true'\n")]
    [InlineData("a:\n  - old.orc\n", "0.5", "a:\n  - '0.5'\n")]
    [InlineData("a:\n  - old.orc\n", "-x.orc", "a:\n  - '-x.orc'\n")]
    [InlineData("a:\n  - old.orc\n", "tab\there", "a:\n  - \"tab\\there\"\n")]
    [InlineData("a: old\n  continued\nb: 1\n", "one line", "a: one line\nb: 1\n")]
    // Quoted stays quoted, escaped as its style wants.
    [InlineData("a: 'old.orc'\n", "it's.orc", "a: 'it''s.orc'\n")]
    [InlineData("a: 'old.orc'\n", "line\nbreak", "a: \"line\\nbreak\"\n")]
    [InlineData("a: \"old.orc\"\n", "C:\\km \"v2\".orc", "a: \"C:\\\\km \\\"v2\\\".orc\"\n")]
    // Flow collections: plain cannot hold , [ ] { }.
    [InlineData("a: [old.orc, \"b\"]\n", "new.orc", "a: [new.orc, \"b\"]\n")]
    [InlineData("a: [old.orc, \"b\"]\n", "x,y", "a: ['x,y', \"b\"]\n")]
    [InlineData("a: {k: old.orc}\n", "{x}", "a: {k: '{x}'}\n")]
    // Line endings are kept.
    [InlineData("a:\r\n  - old.orc\r\nb: c\r\n", "new.orc", "a:\r\n  - new.orc\r\nb: c\r\n")]
    public void ReplaceScalar_keeps_the_style(string text, string newValue, string expected)
    {
        Assert.Equal(expected, ConfigEditor.ReplaceScalar(text, text.Contains("old.orc") ? "old.orc" : "old continued", newValue));
    }

    [Theory]
    [InlineData("a: x\n", "old", "ConfigValueNotFound")]
    [InlineData("old: x\n", "old", "ConfigValueNotFound")]
    [InlineData("a: old\nb: [old]\n", "old", "ConfigValueAmbiguous")]
    [InlineData("a: |\n  old\n", "old\n", "ConfigEditUnsupported")]
    [InlineData("a: &p old\nb: *p\n", "old", "ConfigEditUnsupported")]
    [InlineData("a: !!str old\n", "old", "ConfigEditUnsupported")]
    [InlineData("a: [old\n", "old", "ConfigInvalidYaml")]
    public void ReplaceScalar_refuses(string text, string oldValue, string errorId)
    {
        Assert.Equal(errorId, Assert.Throws<KmException>(() => ConfigEditor.ReplaceScalar(text, oldValue, "new")).ErrorId);
    }

    [Fact]
    public void Save_writes_the_edit_and_a_backup_with_the_same_mode()
    {
        using var dir = new TempDir();
        var config = Write(dir, Commented);
        SetMode(config.Path, "640");
        var edit = ConfigEditor.SetKmBundlePath(config, "runtimes/km-v2.orc");

        var saved = ConfigEditor.Save(edit, new DateTimeOffset(2026, 3, 4, 5, 6, 7, TimeSpan.Zero));

        Assert.Equal(dir.File("config.yml.20260304T050607Z.bak"), saved.BackupPath);
        Assert.Equal(Commented, File.ReadAllText(saved.BackupPath));
        Assert.Equal(edit.NewText, File.ReadAllText(config.Path));
        Assert.Equal("rw-r-----", Mode(config.Path));
        Assert.Equal("rw-r-----", Mode(saved.BackupPath));
        Assert.Equal(new[] { "config.yml", "config.yml.20260304T050607Z.bak", "runtimes" },
            Directory.GetFileSystemEntries(dir.Path).Select(Path.GetFileName).Order());
    }

    [Fact]
    public void Save_refuses_a_config_that_changed_underneath()
    {
        using var dir = new TempDir();
        var edit = ConfigEditor.SetKmBundlePath(Write(dir, Commented), "runtimes/km-v2.orc");
        File.AppendAllText(dir.File("config.yml"), "# someone else\n");
        var e = Assert.Throws<KmException>(() => ConfigEditor.Save(edit));
        Assert.Equal("ConfigChangedUnderneath", e.ErrorId);
        Assert.Equal(Commented + "# someone else\n", File.ReadAllText(dir.File("config.yml")));
        Assert.Empty(Directory.GetFiles(dir.Path, "*.bak"));
    }

    [Fact]
    public void Save_keeps_a_byte_order_mark()
    {
        using var dir = new TempDir();
        TestConfigs.WriteBundles(dir.Path);
        File.WriteAllBytes(dir.File("config.yml"), [0xEF, 0xBB, 0xBF, .. TestOrcs.Bytes(Commented)]);
        var edit = ConfigEditor.SetKmBundlePath(NodeConfig.Load(dir.File("config.yml")), "runtimes/km-v2.orc");
        ConfigEditor.Save(edit);
        Assert.Equal([0xEF, 0xBB, 0xBF, .. TestOrcs.Bytes(edit.NewText)], File.ReadAllBytes(dir.File("config.yml")));
    }
}
