using KmPs.Core.LocalState;
using KmPs.Core;
using KmPs.Tests.Support;

namespace KmPs.Core.Tests.Safety;

/// <summary>Issue 9 #10: the data dir is resolved as the kernel resolves it, never by collapsing ".." as text.</summary>
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
}
