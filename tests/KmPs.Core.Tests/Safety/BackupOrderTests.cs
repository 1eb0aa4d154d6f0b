using KmPs.Core.LocalState;
using KmPs.Tests.Support;

namespace KmPs.Core.Tests.Safety;

/// <summary>Issue 9 #11: the backup to restore is the one moved aside last, whatever its name says.</summary>
public class BackupOrderTests
{
    private static LocalStatePath Fresh(FakeDataDir d, string content)
    {
        Directory.CreateDirectory(d.StorageDir);
        File.WriteAllText(Path.Combine(d.StorageDir, "MANIFEST"), content);
        return LocalStatePath.Resolve(d.DataDir, d.RuntimeId);
    }

    [Fact]
    public void A_clock_stepped_back_does_not_make_an_older_backup_the_newest()
    {
        using var d = new FakeDataDir();
        var p = LocalStatePath.Resolve(d.DataDir, d.RuntimeId);
        File.WriteAllText(Path.Combine(d.StorageDir, "MANIFEST"), "first");
        var first = LocalStateWiper.MoveAside(p, "km1", new DateTimeOffset(2026, 12, 1, 12, 0, 0, TimeSpan.Zero));
        // The clock is stepped back an hour before the second wipe.
        var second = LocalStateWiper.MoveAside(Fresh(d, "second"), "km1", new DateTimeOffset(2026, 12, 1, 11, 0, 0, TimeSpan.Zero));
        Assert.Equal(new[] { second.BackupPath!, first.BackupPath! }, p.Backups());
        var restored = LocalStateWiper.Restore(p, "km1", null);
        Assert.Equal(second.BackupPath, restored.BackupPath);
        Assert.Equal("second", File.ReadAllText(Path.Combine(d.StorageDir, "MANIFEST")));
    }

    [Fact]
    public void Suffixes_are_ordered_as_numbers_not_as_text()
    {
        using var d = new FakeDataDir();
        var p = LocalStatePath.Resolve(d.DataDir, d.RuntimeId);
        var at = new DateTimeOffset(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);
        var made = new List<string>();
        for (var i = 0; i < 12; i++)
            made.Add(LocalStateWiper.MoveAside(i == 0 ? p : Fresh(d, $"state {i}"), "km1", at).BackupPath!);
        Assert.EndsWith("-11", made[^1]);
        Assert.Equal(made.AsEnumerable().Reverse(), p.Backups());
    }

    [Fact]
    public void Backups_of_an_older_version_without_a_record_come_after_recorded_ones_newest_written_first()
    {
        using var d = new FakeDataDir();
        var p = LocalStatePath.Resolve(d.DataDir, d.RuntimeId);
        var oldA = Path.Combine(d.RuntimeDir, LocalStatePath.StorageName + ".backup-20300101T000000Z");
        var oldB = Path.Combine(d.RuntimeDir, LocalStatePath.StorageName + ".backup-20200101T000000Z");
        Directory.CreateDirectory(oldA);
        Directory.CreateDirectory(oldB);
        Directory.SetLastWriteTimeUtc(oldA, new DateTime(2025, 1, 1, 0, 0, 0, DateTimeKind.Utc));
        Directory.SetLastWriteTimeUtc(oldB, new DateTime(2025, 6, 1, 0, 0, 0, DateTimeKind.Utc));
        var recorded = LocalStateWiper.MoveAside(p, "km1", new DateTimeOffset(2019, 1, 1, 0, 0, 0, TimeSpan.Zero));
        Assert.Equal(new[] { recorded.BackupPath!, oldB, oldA }, p.Backups());
    }
}
