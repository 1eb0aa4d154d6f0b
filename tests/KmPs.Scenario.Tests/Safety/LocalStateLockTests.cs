using System.Management.Automation;
using KmPs.Core.LocalState;
using KmPs.Core.Status;
using KmPs.Tests.Support;
using KmPs.Tests.Harness;

namespace KmPs.Scenario.Tests.Safety;

/// <summary>Clear-KmLocalState against a database held open by another process: real Badger (a Go process) and util-linux flock.</summary>
public class LocalStateLockTests : IAsyncLifetime
{
    private SnapshotNode _peer = null!;
    public async Task InitializeAsync() => _peer = await SnapshotNode.StartAsync(Statuses.Ready(SchemaGeneration.V24, "peer"));
    public async Task DisposeAsync() => await _peer.DisposeAsync();

    private Dictionary<string, object?> Vars(FakeDataDir d) =>
        new() { ["dd"] = d.DataDir, ["rid"] = d.RuntimeId, ["peers"] = new[] { _peer.Address } };

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

    [Fact]
    public void A_LOCK_file_alone_is_only_badgers_pid_file_and_does_not_block_a_wipe()
    {
        using var d = new FakeDataDir();
        File.WriteAllText(Path.Combine(d.StorageDir, "LOCK"), "4242\n");
        using var ps = new PsEngine();
        var rec = ps.Run("Clear-KmLocalState -DataDir $dd -RuntimeId $rid -RequirePeer $peers -Confirm:$false", Vars(d)).AssertClean()
            .Single<LocalStateRecord>();
        Assert.Equal("MovedAside", rec.Action);
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

    [Theory]
    [InlineData("24")]
    [InlineData("22.2")]
    public async Task A_node_whose_config_moves_its_socket_is_seen_running_there(string layout)
    {
        using var d = new FakeDataDir();
        await using var running = await SnapshotNode.StartAsync(Statuses.Ready(SchemaGeneration.V24, "moved"));
        var config = Path.Combine(d.Root, "config.yml");
        File.WriteAllText(config, layout == "24"
            ? $"mode: keymanager\ncommon:\n  data_dir: {d.DataDir}\n  internal_socket_path: {running.SocketPath}\nkeymanager:\n  runtime_id: {d.RuntimeId}\n"
            : $"datadir: {d.DataDir}\ndebug:\n  grpc:\n    internal:\n      socket_path: {running.SocketPath}\nruntime:\n  mode: keymanager\nworker:\n  keymanager:\n    runtime:\n      id: {d.RuntimeId}\n");
        var before = d.Hash();
        using var ps = new PsEngine();
        var v = Vars(d);
        v["cfg"] = config;
        var r = ps.Run("Clear-KmLocalState -DataDir $dd -RuntimeId $rid -ConfigPath $cfg -RequirePeer $peers -Confirm:$false", v);
        var e = Assert.Single(r.Errors);
        Assert.Equal("WipeRefused,KmPs.Cmdlets.ClearKmLocalStateCommand", e.FullyQualifiedErrorId);
        Assert.Contains("the node is running", e.Exception.Message);
        Assert.Equal(before, d.Hash());

        // The inventory takes the socket from the config, so piping the node does the same.
        var node = ps.Run("New-KmNode -Name km1 -DataDir $dd -ConfigPath $cfg", v).AssertClean().Single<KmPs.Core.Inventory.KmNode>();
        Assert.Equal("unix:" + running.SocketPath, node.Socket);
        v["node"] = node;
        r = ps.Run("$node | Clear-KmLocalState -RequirePeer $peers -Confirm:$false", v);
        Assert.Equal("WipeRefused,KmPs.Cmdlets.ClearKmLocalStateCommand", Assert.Single(r.Errors).FullyQualifiedErrorId);
        Assert.Equal(before, d.Hash());
    }

    [Fact]
    public void A_config_of_another_data_dir_is_refused_before_anything_is_checked()
    {
        using var d = new FakeDataDir();
        var config = Path.Combine(d.Root, "config.yml");
        File.WriteAllText(config, $"mode: keymanager\ncommon:\n  data_dir: /srv/other/data\nkeymanager:\n  runtime_id: {d.RuntimeId}\n");
        var before = d.Hash();
        using var ps = new PsEngine();
        var v = Vars(d);
        v["cfg"] = config;
        var r = ps.Run("Clear-KmLocalState -DataDir $dd -RuntimeId $rid -ConfigPath $cfg -RequirePeer $peers -Confirm:$false", v);
        Assert.Equal("ConfigDataDirMismatch,KmPs.Cmdlets.ClearKmLocalStateCommand", Assert.Single(r.Errors).FullyQualifiedErrorId);
        Assert.Equal(before, d.Hash());
    }

    [Fact]
    public async Task Peer_of_another_key_manager_runtime_does_not_count()
    {
        using var d = new FakeDataDir();
        var other = Statuses.Ready(SchemaGeneration.V24, "other");
        other.KmRuntimeId = "4000000000000000000000000000000000000000000000008c5ea5e49b4bc9ac";
        await using var foreign = await SnapshotNode.StartAsync(other);
        var before = d.Hash();
        using var ps = new PsEngine();
        var r = ps.Run("Clear-KmLocalState -DataDir $dd -RuntimeId $rid -RequirePeer $peers -Confirm:$false",
            new Dictionary<string, object?> { ["dd"] = d.DataDir, ["rid"] = d.RuntimeId, ["peers"] = new[] { foreign.Address } });
        var e = Assert.Single(r.Errors);
        Assert.Equal("WipeRefused,KmPs.Cmdlets.ClearKmLocalStateCommand", e.FullyQualifiedErrorId);
        Assert.Contains("runs key manager runtime 4000000000000000000000000000000000000000000000008c5ea5e49b4bc9ac", e.Exception.Message);
        Assert.Equal(before, d.Hash());
    }

    [Fact]
    public void Relative_socket_resolves_against_the_current_location()
    {
        using var d = new FakeDataDir();
        using var ps = new PsEngine();
        // The relative '.' is the data dir here; with the process's working directory it would be elsewhere.
        var r = ps.Run("$ExecutionContext.SessionState.Path.SetLocation($dd) | Out-Null; Clear-KmLocalState -DataDir $dd -RuntimeId $rid -Socket . -RequirePeer $peers -WhatIf -Verbose",
            new Dictionary<string, object?> { ["dd"] = d.DataDir, ["rid"] = d.RuntimeId, ["peers"] = new[] { _peer.Address } }).AssertClean();
        Assert.Contains(r.Verbose, v => v.Message.Contains($"node unix:{d.DataDir}/internal.sock"));
    }
}
