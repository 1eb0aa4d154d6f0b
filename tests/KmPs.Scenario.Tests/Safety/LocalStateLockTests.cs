using System.Management.Automation;
using KmPs.Core.LocalState;
using KmPs.Core.Status;
using KmPs.Tests.Support;
using KmPs.Tests.Harness;

namespace KmPs.Scenario.Tests.Safety;

/// <summary>Clear-KmLocalState against a database held open by another process: real Badger (a Go process) and util-linux flock.</summary>
public class LocalStateLockTests : WithReadyPeer
{
    [Theory]
    [InlineData("")]
    [InlineData(" -Delete -Force")]
    public void State_whose_database_folder_is_locked_is_never_wiped_even_with_a_silent_socket(string delete)
    {
        using var d = new FakeDataDir();
        // Badger's lock is flock on the database folder; flock(1) takes the same lock from another process.
        using var held = new FlockHolder(d.StorageDir);
        var before = d.Hash();
        using var ps = new PsEngine();
        var r = ps.Run("Clear-KmLocalState -DataDir $dd -RuntimeId $rid -RequirePeer $peers -Confirm:$false" + delete, Vars(d));
        Assert.Equal("LocalStateInUse,KmPs.Cmdlets.ClearKmLocalStateCommand", Assert.Single(r.Errors).FullyQualifiedErrorId);
        Assert.Empty(r.Output);
        Assert.Equal(before, d.Hash());
    }

    [Theory]
    [InlineData("")]
    [InlineData(" -Delete -Force")]
    public void A_real_badger_database_held_open_by_another_process_is_never_wiped(string delete)
    {
        using var d = new FakeDataDir();
        Directory.Delete(d.StorageDir, recursive: true);
        var rec = default(LocalStateRecord);
        using (var db = RealBadger.Open(d.StorageDir))
        {
            Assert.True(File.Exists(Path.Combine(d.StorageDir, "MANIFEST")));
            var before = d.Hash();
            using var ps = new PsEngine();
            var r = ps.Run("Clear-KmLocalState -DataDir $dd -RuntimeId $rid -RequirePeer $peers -Confirm:$false" + delete, Vars(d));
            var e = Assert.Single(r.Errors);
            Assert.Equal("LocalStateInUse,KmPs.Cmdlets.ClearKmLocalStateCommand", e.FullyQualifiedErrorId);
            Assert.Contains($"pid {db.Pid}", e.Exception.Message);
            Assert.Equal(before, d.Hash());
        }
        // Closed as a stopped node closes it: the same command now wipes.
        using (var ps = new PsEngine())
            rec = ps.Run("Clear-KmLocalState -DataDir $dd -RuntimeId $rid -RequirePeer $peers -Confirm:$false" + delete, Vars(d)).AssertClean()
                .Single<LocalStateRecord>();
        Assert.Equal(delete == "" ? "MovedAside" : "Deleted", rec.Action);
        Assert.False(Directory.Exists(d.StorageDir));
        if (delete == "") Assert.True(File.Exists(Path.Combine(rec.BackupPath!, "MANIFEST")));
    }

    [Fact]
    public void A_real_badger_database_cannot_be_opened_while_the_wipe_holds_its_lock()
    {
        // The other direction: what the wipe holds across the rename is what keeps a starting node out.
        using var d = new FakeDataDir();
        Directory.Delete(d.StorageDir, recursive: true);
        using (RealBadger.Open(d.StorageDir)) { }
        using var held = KmPs.Core.LocalState.LocalStateWiper.LockState(d.StorageDir);
        var e = Assert.Throws<InvalidOperationException>(() => RealBadger.Open(d.StorageDir).Dispose());
        Assert.Contains("Cannot acquire directory lock", e.Message);
    }
}
