using KmPs.Core.LocalState;
using KmPs.Core;
using KmPs.Tests.Support;

namespace KmPs.Core.Tests.Safety;

/// <summary>
/// Invariant 3: <see cref="LocalStatePath.Resolve"/> names exactly
/// <c>&lt;DataDir&gt;/runtimes/&lt;64-hex KM runtime id&gt;/worker-local-storage.badger.db</c> or refuses.
/// The data dir is resolved as the kernel resolves it, never by collapsing ".." as text (issue 9 #10);
/// empty, relative and root inputs, other runtimes, links and non-folders below the data dir are refused.
/// </summary>
public class LocalStatePathTests
{
    private const string Km = TestOrcs.TestnetKm;

    [Fact]
    public void Dot_dot_after_a_link_goes_up_from_where_the_link_points()
    {
        using var t = new TempDir("kmp");
        // a/sub -> x/y, so a/sub/../data is x/data for the kernel; textually it would be a/data.
        var real = Path.Combine(t.Path, "x", "data");
        var decoy = Path.Combine(t.Path, "a", "data");
        Directory.CreateDirectory(Path.Combine(t.Path, "x", "y"));
        Directory.CreateDirectory(Path.Combine(real, "runtimes", Km, LocalStatePath.StorageName));
        Directory.CreateDirectory(Path.Combine(decoy, "runtimes", Km, LocalStatePath.StorageName));
        Directory.CreateSymbolicLink(Path.Combine(t.Path, "a", "sub"), Path.Combine(t.Path, "x", "y"));

        var p = LocalStatePath.Resolve(Path.Combine(t.Path, "a", "sub", "..", "data"), Km);
        Assert.Equal(real, p.RealDataDir);
        Assert.Equal(Path.Combine(real, "runtimes", Km, LocalStatePath.StorageName), p.StorageDir);
    }

    [Fact]
    public void Relative_link_targets_resolve_against_the_links_folder()
    {
        using var t = new TempDir("kmp");
        Directory.CreateDirectory(Path.Combine(t.Path, "disk", "node", "data"));
        Directory.CreateDirectory(Path.Combine(t.Path, "srv"));
        Directory.CreateSymbolicLink(Path.Combine(t.Path, "srv", "km"), "../disk/node");
        Assert.Equal(Path.Combine(t.Path, "disk", "node", "data"), LocalStatePath.RealPath(Path.Combine(t.Path, "srv", "km", "data")));
    }

    [Fact]
    public void More_than_forty_links_in_all_is_refused()
    {
        using var t = new TempDir("kmp");
        Directory.CreateDirectory(Path.Combine(t.Path, "end"));
        // l0 -> l1 -> ... -> l40 -> end: 41 links, one more than the kernel follows.
        for (var i = 0; i <= 40; i++)
            File.CreateSymbolicLink(Path.Combine(t.Path, $"l{i}"), i == 40 ? "end" : $"l{i + 1}");
        var e = Assert.Throws<KmException>(() => LocalStatePath.RealPath(Path.Combine(t.Path, "l0")));
        Assert.Contains("too many links", e.Message);
        Assert.Equal(Path.Combine(t.Path, "end"), LocalStatePath.RealPath(Path.Combine(t.Path, "l1")));
    }

    [Fact]
    public void A_link_loop_is_refused_not_followed_forever()
    {
        using var t = new TempDir("kmp");
        File.CreateSymbolicLink(Path.Combine(t.Path, "p"), "q");
        File.CreateSymbolicLink(Path.Combine(t.Path, "q"), "p");
        Assert.Throws<KmException>(() => LocalStatePath.RealPath(Path.Combine(t.Path, "p", "data")));
    }

    private static string Storage(string dataDir, string id = Km) => Path.Combine(dataDir, "runtimes", id, LocalStatePath.StorageName);

    private static string Refused(string? dataDir, string? runtimeId = Km) =>
        Assert.Throws<KmException>(() => LocalStatePath.Resolve(dataDir, runtimeId)).ErrorId;

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("\t")]
    public void An_empty_data_dir_is_refused_never_guessed(string? dataDir) =>
        Assert.Equal(LocalStateErrorIds.InvalidDataDir, Refused(dataDir));

    [Theory]
    [InlineData("data")]
    [InlineData("./data")]
    [InlineData("../node/data")]
    [InlineData("~/data")]
    [InlineData(".")]
    public void A_relative_data_dir_is_refused(string dataDir)
    {
        var e = Assert.Throws<KmException>(() => LocalStatePath.Resolve(dataDir, Km));
        Assert.Equal(LocalStateErrorIds.InvalidDataDir, e.ErrorId);
        Assert.Contains("relative", e.Message);
    }

    [Theory]
    [InlineData("/")]
    [InlineData("//")]
    [InlineData("/.")]
    [InlineData("/./")]
    public void The_file_system_root_is_refused(string dataDir) =>
        Assert.Equal(LocalStateErrorIds.InvalidDataDir, Refused(dataDir));

    [Fact]
    public void A_data_dir_that_is_a_link_to_the_root_is_refused()
    {
        using var t = new TempDir("kmp");
        var link = Path.Combine(t.Path, "data");
        Directory.CreateSymbolicLink(link, "/");
        var e = Assert.Throws<KmException>(() => LocalStatePath.Resolve(link, Km));
        Assert.Equal(LocalStateErrorIds.InvalidDataDir, e.ErrorId);
        Assert.Contains("resolves to the file system root", e.Message);
        // ".." above the root stays at the root, as for the kernel.
        Assert.Equal(LocalStateErrorIds.InvalidDataDir, Refused(Path.Combine(t.Path, "data", "..", "..", "..", "..", "..", "..", "..")));
    }

    [Fact]
    public void A_data_dir_that_does_not_exist_or_is_a_file_is_refused()
    {
        using var t = new TempDir("kmp");
        Assert.Equal(LocalStateErrorIds.DataDirNotFound, Refused(Path.Combine(t.Path, "missing")));
        File.WriteAllText(t.File("file"), "not a folder");
        var e = Assert.Throws<KmException>(() => LocalStatePath.Resolve(t.File("file"), Km));
        Assert.Equal(LocalStateErrorIds.InvalidDataDir, e.ErrorId);
        Assert.Contains("is not a folder", e.Message);
    }

    [Theory]
    [InlineData(null, "InvalidRuntimeId")]
    [InlineData("", "InvalidRuntimeId")]
    [InlineData("4000000000000000000000000000000000000000000000004a1a53dff2ae482", "InvalidRuntimeId")]    // 63 digits
    [InlineData("4000000000000000000000000000000000000000000000004a1a53dff2ae482dd", "InvalidRuntimeId")]  // 65 digits
    [InlineData("4000000000000000000000000000000000000000000000004a1a53dff2ae482g", "InvalidRuntimeId")]   // not hex
    [InlineData("../../../../../../../../../../../../../../../../../../../../etc/", "InvalidRuntimeId")] // a path, 64 characters
    [InlineData("000000000000000000000000000000000000000000000000f80306c9858e7279", "NotKeyManagerRuntime")] // Sapphire: a compute runtime
    public void Only_a_key_manager_runtime_id_names_the_folder(string? runtimeId, string errorId)
    {
        using var d = new FakeDataDir();
        Assert.Equal(errorId, Refused(d.DataDir, runtimeId));
    }

    [Fact]
    public void The_one_folder_is_under_the_lower_case_runtime_id_whatever_the_spelling_given()
    {
        using var d = new FakeDataDir();
        var p = LocalStatePath.Resolve(d.DataDir, Km.ToUpperInvariant());
        Assert.Equal(Km, p.RuntimeId);
        Assert.Equal(d.StorageDir, p.StorageDir);
        Assert.Equal(Path.Combine(d.DataDir, "runtimes", Km), p.RuntimeDir);
        Assert.True(p.Exists);
    }

    [Fact]
    public void Repeated_separators_dots_and_a_trailing_slash_do_not_change_the_folder()
    {
        using var d = new FakeDataDir();
        var messy = d.DataDir.Replace("/", "//") + "/./";
        var p = LocalStatePath.Resolve(messy, Km);
        Assert.Equal(d.DataDir, p.DataDir);
        Assert.Equal(d.StorageDir, p.StorageDir);
        Assert.Equal("/a/b/../c", LocalStatePath.Normalize("//a/./b//../c/"));
    }

    [Fact]
    public void Folders_of_other_names_are_not_the_state_and_a_missing_state_is_absent()
    {
        using var d = new FakeDataDir();
        Directory.Delete(d.StorageDir, true);
        // Look-alikes: another case, a suffix, a backup, the compute runtime's state, the node's own store.
        foreach (var name in new[] { "Worker-Local-Storage.badger.db", "worker-local-storage.badger.db.old", LocalStatePath.StorageName + LocalStatePath.BackupInfix + "20261201T120000Z" })
            Directory.CreateDirectory(Path.Combine(d.RuntimeDir, name));
        var p = LocalStatePath.Resolve(d.DataDir, Km);
        Assert.False(p.Exists);
        Assert.Equal(d.StorageDir, p.StorageDir);

        // Nothing below an absent runtimes folder is looked at: absent, not refused.
        using var bare = new TempDir("kmp");
        Assert.False(LocalStatePath.Resolve(bare.Path, Km).Exists);
    }

    [Fact]
    public void A_data_dir_reached_through_a_link_is_resolved_and_allowed()
    {
        using var d = new FakeDataDir();
        using var t = new TempDir("kmp");
        var link = Path.Combine(t.Path, "data");
        Directory.CreateSymbolicLink(link, d.DataDir); // /node/data -> /mnt/disk/data
        var p = LocalStatePath.Resolve(link, Km);
        Assert.Equal(link, p.DataDir);
        Assert.Equal(d.DataDir, p.RealDataDir);
        Assert.Equal(d.StorageDir, p.StorageDir);
    }

    [Theory]
    [InlineData("runtimes")]
    [InlineData("runtime dir")]
    [InlineData("storage")]
    public void A_link_below_the_data_dir_is_refused_even_one_that_points_inside_it(string where)
    {
        using var d = new FakeDataDir();
        var (path, target) = where switch
        {
            "runtimes" => (Path.Combine(d.DataDir, "runtimes"), Path.Combine(d.DataDir, "elsewhere")),
            "runtime dir" => (d.RuntimeDir, Path.Combine(d.DataDir, "runtimes", "elsewhere")),
            _ => (d.StorageDir, Path.Combine(d.RuntimeDir, "elsewhere")),
        };
        Directory.Move(path, target);
        Directory.CreateSymbolicLink(path, target);
        var before = d.Hash();
        var e = Assert.Throws<KmException>(() => LocalStatePath.Resolve(d.DataDir, Km));
        Assert.Equal(LocalStateErrorIds.LinkOutOfDataDir, e.ErrorId);
        Assert.Equal(path, e.Target);
        Assert.Equal(before, d.Hash());
    }

    [Fact]
    public void A_link_out_of_the_data_dir_is_refused()
    {
        using var d = new FakeDataDir();
        using var outside = new TempDir("kmo");
        Directory.Delete(d.StorageDir, true);
        Directory.CreateSymbolicLink(d.StorageDir, outside.Path);
        Assert.Equal(LocalStateErrorIds.LinkOutOfDataDir, Refused(d.DataDir));
    }

    [Theory]
    [InlineData("runtimes")]
    [InlineData("storage")]
    public void A_file_where_a_folder_belongs_is_refused(string where)
    {
        using var d = new FakeDataDir();
        var path = where == "runtimes" ? Path.Combine(d.DataDir, "runtimes") : d.StorageDir;
        Directory.Delete(path, true);
        File.WriteAllText(path, "a file");
        Assert.Equal(LocalStateErrorIds.LocalStateNotAFolder, Refused(d.DataDir));
    }
}
