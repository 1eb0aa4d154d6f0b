using KmPs.Core.Bundles;
using KmPs.Core.Config;
using KmPs.Tests.Support;
using KmPs.Tests.Harness;

namespace KmPs.Module.Tests.Safety;

/// <summary>
/// Issue 9 #7: the config names one verified copy beside the node's current bundle, never the
/// operator's file (a CI workspace cleaned afterwards left nodes that could not restart).
/// </summary>
public class BundlePinningTests
{
    private sealed class Fixture : IDisposable
    {
        public TempDir Dir { get; } = new("kmp");
        public string Config => Dir.File("config.yml");
        public string V1 => Dir.File("runtimes/km-v1.orc");
        /// <summary>The new ORC in an operator's workspace, outside the node's bundle folder.</summary>
        public string Workspace => Dir.File("workspace/km-v2.orc");
        public string Staged => Dir.File("runtimes/km-v2.orc");

        public Fixture()
        {
            TestConfigs.WriteBundles(Dir.Path);
            File.WriteAllText(Config, TestConfigs.V23Docs(V1));
            Directory.CreateDirectory(Dir.File("workspace"));
            File.Move(Staged, Workspace);
        }

        public void Dispose() => Dir.Dispose();
    }

    [Fact]
    public void The_config_names_a_verified_copy_beside_the_current_bundle_and_survives_the_original_being_removed()
    {
        using var f = new Fixture();
        var bytes = File.ReadAllBytes(f.Workspace);
        using var ps = new PsEngine();
        var change = ps.Run($"Set-KmRuntimeBundle -ConfigPath '{f.Config}' -Path '{f.Workspace}' -Confirm:$false").AssertClean().Single<KmBundleChange>();
        Assert.Equal(f.Staged, change.NewBundle);
        Assert.Equal(bytes, File.ReadAllBytes(f.Staged));
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(f.Staged)!, ".*upload-*"));
        File.Delete(f.Workspace); // the CI workspace is cleaned
        Assert.Equal(f.Staged, NodeConfig.Load(f.Config).FindKmBundle()!.FullPath);
        // Again with the same file: nothing to copy, nothing to change.
        File.WriteAllBytes(f.Workspace, bytes);
        Assert.False(ps.Run($"Set-KmRuntimeBundle -ConfigPath '{f.Config}' -Path '{f.Workspace}' -Confirm:$false").AssertClean().Single<KmBundleChange>().Changed);
    }

    [Fact]
    public void WhatIf_copies_nothing_and_says_where_the_copy_would_go()
    {
        using var f = new Fixture();
        var before = TreeHash.Of(f.Dir.Path);
        var host = new RecordingHost();
        using var ps = new PsEngine(host);
        Assert.Empty(ps.Run($"Set-KmRuntimeBundle -ConfigPath '{f.Config}' -Path '{f.Workspace}' -WhatIf").AssertClean().Output);
        Assert.Equal(before, TreeHash.Of(f.Dir.Path));
        Assert.Contains($"Copy {f.Workspace} to {f.Staged}", host.Text);
    }

    [Fact]
    public void Another_file_of_the_same_name_beside_the_bundle_is_never_overwritten()
    {
        using var f = new Fixture();
        File.WriteAllText(f.Staged, "someone else's file");
        var before = TreeHash.Of(f.Dir.Path);
        using var ps = new PsEngine();
        var r = ps.Run($"Set-KmRuntimeBundle -ConfigPath '{f.Config}' -Path '{f.Workspace}' -Confirm:$false");
        Assert.Equal("BundleConflict,KmPs.Cmdlets.SetKmRuntimeBundleCommand", Assert.Single(r.Errors).FullyQualifiedErrorId);
        Assert.Equal(before, TreeHash.Of(f.Dir.Path));
    }

    [Fact]
    public void An_ORC_that_changed_since_it_was_planned_is_refused()
    {
        using var f = new Fixture();
        var planned = BundleStaging.Digest(f.Workspace);
        File.Copy(f.V1, f.Workspace, overwrite: true); // rebuilt at the same path
        var before = TreeHash.Of(f.Dir.Path);
        using var ps = new PsEngine();
        var r = ps.Run($"Set-KmRuntimeBundle -ConfigPath '{f.Config}' -Path '{f.Workspace}' -ExpectedDigest {planned} -Confirm:$false");
        Assert.Equal("BundleChanged,KmPs.Cmdlets.SetKmRuntimeBundleCommand", Assert.Single(r.Errors).FullyQualifiedErrorId);
        Assert.Equal(before, TreeHash.Of(f.Dir.Path));
    }
}
