using KmPs.Core.Files;
using static KmPs.Tests.Support.UnixModes;
using KmPs.Core;
using KmPs.Tests.Support;

namespace KmPs.Core.Tests.Files;

public class SafeFileTests
{
    private static readonly DateTimeOffset Now = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);

    private static string Existing(TempDir dir, string octalMode, string content = "old\n")
    {
        var path = dir.File("config.yml");
        File.WriteAllText(path, content);
        SetMode(path, octalMode);
        return path;
    }

    [Theory]
    [InlineData("640", "rw-r-----")]
    [InlineData("600", "rw-------")]
    [InlineData("644", "rw-r--r--")]
    public void WriteAtomic_keeps_the_mode_and_leaves_no_temp_file(string octal, string expected)
    {
        using var dir = new TempDir();
        var path = Existing(dir, octal);
        SafeFile.WriteAtomic(path, "new\n"u8);
        Assert.Equal("new\n", File.ReadAllText(path));
        Assert.Equal(expected, Mode(path));
        Assert.Equal(new[] { path }, Directory.GetFileSystemEntries(dir.Path));
    }

    [Fact]
    public void A_new_file_is_0600()
    {
        using var dir = new TempDir();
        SafeFile.WriteAtomic(dir.File("fresh"), "x"u8);
        Assert.Equal("rw-------", Mode(dir.File("fresh")));
    }

    [Fact]
    public void Backup_is_timestamped_keeps_the_mode_and_never_overwrites()
    {
        using var dir = new TempDir();
        var path = Existing(dir, "640");
        var first = SafeFile.Backup(path, Now);
        File.WriteAllText(path, "changed\n");
        var second = SafeFile.Backup(path, Now);

        Assert.Equal(dir.File("config.yml.20260102T030405Z.bak"), first);
        Assert.Equal(dir.File("config.yml.20260102T030405Z.1.bak"), second);
        Assert.Equal("old\n", File.ReadAllText(first));
        Assert.Equal("changed\n", File.ReadAllText(second));
        Assert.Equal("rw-r-----", Mode(first));
        Assert.Equal(3, Directory.GetFileSystemEntries(dir.Path).Length);
    }

    [Fact]
    public void Owner_and_group_are_kept_when_root()
    {
        if (UnixFile.EffectiveUid != 0) return; // only root can give a file to another owner
        using var dir = new TempDir();
        var path = Existing(dir, "640");
        Assert.True(UnixFile.TryChown(path, 1234, 4321));
        SafeFile.WriteAtomic(path, "new\n"u8);
        var backup = SafeFile.Backup(path, Now);
        Assert.Equal((1234u, 4321u), UnixFile.Owner(path));
        Assert.Equal((1234u, 4321u), UnixFile.Owner(backup));
        Assert.Equal("rw-r-----", Mode(path));
    }

    [Fact]
    public void HashFile_is_SHA512_256()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("abc"), "abc");
        Assert.Equal("53048e2681941ef99b2e29b76b4c7dabe4c2d0c634fc6d46e0e2f13107e7af23", SafeFile.HashFile(dir.File("abc")));
    }

    [Fact]
    public void FileWriteFailed_names_the_path()
    {
        using var dir = new TempDir();
        var e = Assert.Throws<KmException>(() => SafeFile.WriteAtomic(dir.File("no/such/folder/x"), "x"u8));
        Assert.Equal("FileWriteFailed", e.ErrorId);
        Assert.Contains(dir.File("no/such/folder/x"), e.Message);
    }

    [Fact]
    public void A_symlinked_file_is_written_through_the_link()
    {
        using var dir = new TempDir();
        var real = Existing(dir, "640");
        var link = dir.File("link.yml");
        File.CreateSymbolicLink(link, real);
        SafeFile.WriteAtomic(link, "new\n"u8);
        var backup = SafeFile.Backup(link, Now);
        Assert.Equal(real, new FileInfo(link).LinkTarget);
        Assert.Equal("new\n", File.ReadAllText(real));
        Assert.Equal(dir.File("link.yml.20260102T030405Z.bak"), backup);
        Assert.Null(new FileInfo(backup).LinkTarget);
        Assert.Equal("rw-r-----", Mode(backup));
    }
}
