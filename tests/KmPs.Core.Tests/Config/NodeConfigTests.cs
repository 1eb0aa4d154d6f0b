using System.Text;
using KmPs.Core.Config;
using KmPs.Core.Status;
using KmPs.Core;
using KmPs.Tests.Support;

namespace KmPs.Core.Tests.Config;

public class NodeConfigTests
{
    private static NodeConfig Parse(string text) => NodeConfig.Parse(text, "/node/etc/config.yml");

    private static KmException Fails(string text, string errorId)
    {
        var e = Assert.Throws<KmException>(() => Parse(text));
        Assert.Equal(errorId, e.ErrorId);
        return e;
    }

    [Fact]
    public void The_22_2_docs_example()
    {
        var c = Parse(TestConfigs.V22Docs("/node/runtimes/keymanager.orc"));
        Assert.Equal(ConfigLayout.V22_2, c.Layout);
        Assert.Equal("keymanager", c.Mode);
        Assert.Equal("/node/data", c.DataDir);
        Assert.Equal("/node/data", c.DataDirPath);
        Assert.Equal(TestOrcs.MainnetKm, c.KmRuntimeId);
        var p = Assert.Single(c.RuntimePaths);
        Assert.Equal((0, "/node/runtimes/keymanager.orc", "/node/runtimes/keymanager.orc", 21L, 7L), (p.Index, p.Value, p.FullPath, p.Line, p.Column));
        Assert.Null(c.LogFile);
        Assert.Empty(c.FindUnknownKeys());
        Assert.Equal("/node/etc", c.Folder);
    }

    [Fact]
    public void The_23_0_docs_example()
    {
        var c = Parse(TestConfigs.V23Docs("/node/runtimes/keymanager.orc", TestOrcs.TestnetKm));
        Assert.Equal(ConfigLayout.V23, c.Layout);
        Assert.Equal("keymanager", c.Mode);
        Assert.Equal("/node/data", c.DataDir);
        Assert.Equal(TestOrcs.TestnetKm, c.KmRuntimeId);
        Assert.Equal("/node/runtimes/keymanager.orc", Assert.Single(c.RuntimePaths).Value);
        Assert.Empty(c.FindUnknownKeys());
        Assert.Empty(c.FindUnknownKeys(new OasisVersion(26, 1, 0)));
    }

    [Fact]
    public void The_23_0_docs_example_has_keys_older_nodes_refuse()
    {
        var c = Parse(TestConfigs.V23Docs("/node/runtimes/keymanager.orc"));
        var unknown = c.FindUnknownKeys(new OasisVersion(24, 0, 0));
        Assert.Equal(new[] { "registration.entity_id", "runtime.sgx" }, unknown.Select(u => u.Key));
        Assert.Equal((13L, 3L), (unknown[0].Line, unknown[0].Column));
        Assert.Contains("known from oasis-core 24.2 on", unknown[0].Reason);
        Assert.Contains("use runtime.sgx_loader", unknown[1].Reason);
    }

    [Fact]
    public void Unknown_keys_of_a_23_config_with_hints()
    {
        var c = Parse("""
            mode: keymanager
            datadir: /node/data
            common:
              data_dir: /node/data
              colour: blue
            consensus:
              tendermint:
                core: {}
            worker:
              keymanager:
                runtime:
                  id: x
            keymanager:
              runtime_id: 4000000000000000000000000000000000000000000000008c5ea5e49b4bc9ac
              may_generate: true
            """);
        var unknown = c.FindUnknownKeys();
        Assert.Equal(new[] { "datadir", "common.colour", "consensus.tendermint", "worker" }, unknown.Select(u => u.Key));
        Assert.Equal("22.2 name: use common.data_dir", unknown[0].Reason);
        Assert.Equal("not a known setting", unknown[1].Reason);
        Assert.Equal((5L, 3L), (unknown[1].Line, unknown[1].Column));
        Assert.Contains("keymanager.*", unknown[3].Reason);
        Assert.Equal("keymanager.may_generate", Assert.Single(c.FindUnknownKeys(new OasisVersion(24, 0, 0)).Skip(4)).Key);
    }

    [Fact]
    public void Viper_style_dotted_keys_in_22_2()
    {
        var c = Parse("""
            datadir: data
            runtime.mode: keymanager
            runtime:
              paths: [km.orc]
            worker.keymanager.runtime.id: 4000000000000000000000000000000000000000000000008c5ea5e49b4bc9ac
            log.file: node.log
            """);
        Assert.Equal(ConfigLayout.V22_2, c.Layout);
        Assert.Equal(TestOrcs.MainnetKm, c.KmRuntimeId);
        Assert.Equal("/node/etc/data", c.DataDirPath);
        Assert.Equal("/node/etc/km.orc", c.RuntimePaths[0].FullPath);
        Assert.Equal("node.log", c.LogFile);
        Assert.Equal("/node/etc/data/node.log", c.LogFilePath);
    }

    [Theory]
    [InlineData("/var/log/oasis.log", "/var/log/oasis.log")]
    [InlineData("logs/node.log", "/node/data/logs/node.log")]
    public void Log_file_resolves_against_the_data_dir(string file, string expected)
    {
        var c = Parse(TestConfigs.V23Docs("/k.orc").Replace("    format: JSON", $"    format: JSON\n    file: {file}"));
        Assert.Equal(file, c.LogFile);
        Assert.Equal(expected, c.LogFilePath);
    }

    [Fact]
    public void ConfigNotFound()
    {
        using var dir = new TempDir();
        Assert.Equal("ConfigNotFound", Assert.Throws<KmException>(() => NodeConfig.Load(dir.File("config.yml"))).ErrorId);
    }

    [Fact]
    public void ConfigUnreadable_when_not_UTF8()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("config.yml"), [0x6d, 0x6f, 0x64, 0x65, 0x3a, 0x20, 0xff, 0xfe, 0x0a]);
        var e = Assert.Throws<KmException>(() => NodeConfig.Load(dir.File("config.yml")));
        Assert.Equal("ConfigUnreadable", e.ErrorId);
        Assert.Contains("not UTF-8", e.Message);
    }

    [Theory]
    [InlineData("mode: keymanager\ncommon:\n  data_dir: [/a\n  x: 1\n", 3)]
    [InlineData("mode: keymanager\nmode: compute\n", 2)]
    [InlineData("mode: 'keymanager\n", 1)]
    public void ConfigInvalidYaml_says_where(string text, int line)
    {
        var e = Fails(text, "ConfigInvalidYaml");
        Assert.Contains($"line {line}, column", e.Message);
        Assert.Contains("/node/etc/config.yml", e.Message);
    }

    [Theory]
    [InlineData("- a\n- b\n", "the top level")]
    [InlineData("mode: keymanager\nkeymanager:\n  runtime_id: [a]\n", "keymanager.runtime_id (line 3, column 15) must be a single value")]
    [InlineData("mode: keymanager\nkeymanager: {runtime_id: 4000000000000000000000000000000000000000000000008c5ea5e49b4bc9ac}\nruntime: {paths: x.orc}\n", "runtime.paths (line 3")]
    [InlineData("mode: keymanager\nkeymanager: {runtime_id: 4000000000000000000000000000000000000000000000008c5ea5e49b4bc9ac}\nruntime: {paths: [a, ~]}\n", "runtime.paths[1]")]
    public void ConfigInvalidValue(string text, string where)
    {
        Assert.Contains(where, Fails(text, "ConfigInvalidValue").Message);
    }

    [Theory]
    [InlineData("", "it is empty")]
    [InlineData("mode: compute\n", "mode is 'compute', not 'keymanager'")]
    [InlineData("mode: keymanager\n", "it sets no keymanager.runtime_id")]
    [InlineData("runtime:\n  mode: client\n", "runtime.mode is 'client'")]
    [InlineData("mode: keymanager\nkeymanager:\n  runtime_id: 000000000000000000000000000000000000000000000000f80306c9858e7279\n", "not a key manager runtime id")]
    public void ConfigNotKeyManager(string text, string problem)
    {
        Assert.Contains(problem, Fails(text, "ConfigNotKeyManager").Message);
    }

    [Fact]
    public void InvalidRuntimeId()
    {
        var e = Fails(TestConfigs.V22Docs("/k.orc", TestOrcs.MainnetKm[..63]), "InvalidRuntimeId");
        Assert.Contains("worker.keymanager.runtime.id", e.Message);
        Assert.Contains("non-hex", Fails(TestConfigs.V23Docs("/k.orc", new string('g', 64)), "InvalidRuntimeId").Message);
    }

    [Fact]
    public void Load_reads_the_file_and_remembers_its_hash_and_BOM()
    {
        using var dir = new TempDir();
        var text = TestConfigs.V23Docs("runtimes/km.orc");
        File.WriteAllBytes(dir.File("config.yml"), [.. Encoding.UTF8.Preamble, .. Encoding.UTF8.GetBytes(text)]);
        var c = NodeConfig.Load(dir.File("config.yml"));
        Assert.Equal(text, c.Text);
        Assert.True(c.HasByteOrderMark);
        Assert.Equal(KmPs.Core.Files.SafeFile.HashFile(dir.File("config.yml")), c.ContentHash);
        Assert.Equal(dir.File("runtimes/km.orc"), c.RuntimePaths[0].FullPath);
    }

    [Fact]
    public void FindKmBundle_zero_one_or_two()
    {
        using var dir = new TempDir();
        TestConfigs.WriteBundles(dir.Path);
        NodeConfig With(params string[] paths) =>
            NodeConfig.Parse($"mode: keymanager\nkeymanager:\n  runtime_id: {TestOrcs.MainnetKm}\nruntime:\n  paths: [{string.Join(", ", paths)}]\n", dir.File("config.yml"));

        Assert.Null(With().FindKmBundle());
        Assert.Null(With("runtimes/sapphire.orc", "runtimes/km-testnet.orc").FindKmBundle());
        Assert.Equal(1, With("runtimes/sapphire.orc", "runtimes/km-v1.orc").FindKmBundle()!.Index);

        var two = With("runtimes/km-v1.orc", "runtimes/sapphire.orc", "runtimes/km-v2.orc");
        Assert.Equal(new[] { 0, 2 }, two.FindKmBundles().Select(p => p.Index));
        var e = Assert.Throws<KmException>(() => two.FindKmBundle());
        Assert.Equal("ConfigTwoKmBundles", e.ErrorId);
        Assert.Contains("runtimes/km-v1.orc, runtimes/km-v2.orc", e.Message);
    }
}
