using System.Management.Automation;
using KmPs.Core.LocalState;
using KmPs.Core.Status;
using KmPs.Tests.Support;
using KmPs.Tests.Harness;

namespace KmPs.Module.Tests.Module;

/// <summary>Clear-KmLocalState / Restore-KmLocalState in the hosted engine: invariants 1-4 and bad input.</summary>
public class LocalStateModuleTests : IAsyncLifetime
{
    private SnapshotNode _peerA = null!, _peerB = null!;

    public async Task InitializeAsync()
    {
        _peerA = await SnapshotNode.StartAsync(Statuses.Ready(SchemaGeneration.V24, "peer-a"));
        _peerB = await SnapshotNode.StartAsync(Statuses.Ready(SchemaGeneration.V23_0, "peer-b"));
    }

    public async Task DisposeAsync()
    {
        await _peerA.DisposeAsync();
        await _peerB.DisposeAsync();
    }

    private Dictionary<string, object?> Vars(FakeDataDir d) => new()
    {
        ["dd"] = d.DataDir, ["rid"] = d.RuntimeId, ["peers"] = new[] { _peerA.Address, _peerB.DataDir },
    };

    [Fact]
    public void WhatIf_changes_nothing_and_outputs_nothing()
    {
        using var d = new FakeDataDir();
        var before = d.Hash();
        var host = new RecordingHost();
        using var ps = new PsEngine(host);
        var r = ps.Run("Clear-KmLocalState -DataDir $dd -RuntimeId $rid -RequirePeer $peers -WhatIf", Vars(d)).AssertClean();
        Assert.Empty(r.Output);
        Assert.Equal(before, d.Hash());
        Assert.Contains("What if:", host.Text);
        Assert.Contains("worker-local-storage.badger.db", host.Text);
    }

    [Fact]
    public void Confirmed_wipe_moves_exactly_the_state_aside_inside_the_runtime_folder()
    {
        using var d = new FakeDataDir();
        var mode = new DirectoryInfo(d.StorageDir).UnixFileMode;
        var vlog = File.ReadAllBytes(Path.Combine(d.StorageDir, "000001.vlog"));
        var siblings = TreeHash.Of(Path.Combine(d.DataDir, "persistent-store.badger.db"), Path.Combine(d.DataDir, "identity.pem"),
            Path.Combine(d.DataDir, "runtimes", "000000000000000000000000000000000000000000000000a6d1e3ebf60dff6c"));
        using var ps = new PsEngine();
        var rec = ps.Run("Clear-KmLocalState -DataDir $dd -RuntimeId $rid -RequirePeer $peers -Confirm:$false", Vars(d)).AssertClean()
            .Single<LocalStateRecord>();
        Assert.Equal("MovedAside", rec.Action);
        Assert.False(Directory.Exists(d.StorageDir));
        Assert.Equal(d.RuntimeDir, Path.GetDirectoryName(rec.BackupPath));
        Assert.Matches(@"worker-local-storage\.badger\.db\.backup-\d{8}T\d{6}Z$", rec.BackupPath);
        Assert.Equal(vlog, File.ReadAllBytes(Path.Combine(rec.BackupPath!, "000001.vlog")));
        Assert.Equal(mode, new DirectoryInfo(rec.BackupPath!).UnixFileMode);
        Assert.Equal(TestVectors.Checksum, rec.PeerChecksum);
        Assert.Equal(2, rec.VerifiedPeers.Length);
        Assert.Equal(siblings, TreeHash.Of(Path.Combine(d.DataDir, "persistent-store.badger.db"), Path.Combine(d.DataDir, "identity.pem"),
            Path.Combine(d.DataDir, "runtimes", "000000000000000000000000000000000000000000000000a6d1e3ebf60dff6c")));

        // Rollback puts it back.
        var back = ps.Run("Restore-KmLocalState -DataDir $dd -RuntimeId $rid -Confirm:$false", Vars(d)).AssertClean().Single<LocalStateRecord>();
        Assert.Equal("Restored", back.Action);
        Assert.Equal(vlog, File.ReadAllBytes(Path.Combine(d.StorageDir, "000001.vlog")));
        Assert.Empty(Directory.GetDirectories(d.RuntimeDir, "*.backup-*"));
    }

    [Fact]
    public async Task Running_node_is_never_wiped()
    {
        using var d = new FakeDataDir();
        await using var running = await SnapshotNode.StartAsync(Statuses.Ready(SchemaGeneration.V24));
        var before = d.Hash();
        using var ps = new PsEngine();
        var v = Vars(d);
        v["sock"] = running.Address;
        var r = ps.Run("Clear-KmLocalState -DataDir $dd -RuntimeId $rid -Socket $sock -RequirePeer $peers -Confirm:$false", v);
        Assert.Empty(r.Output);
        var e = Assert.Single(r.Errors);
        Assert.Equal("WipeRefused,KmPs.Cmdlets.ClearKmLocalStateCommand", e.FullyQualifiedErrorId);
        Assert.Contains("the node is running", e.Exception.Message);
        Assert.Equal(before, d.Hash());
    }

    [Theory]
    [InlineData("starting", "not ready")]
    [InlineData("disagree", "disagree on the checksum")]
    [InlineData("unreachable", "cannot be read")]
    [InlineData("self", "own required peers")]
    public async Task Wipe_is_refused_unless_staying_peers_are_ready_with_one_checksum(string kind, string expected)
    {
        using var d = new FakeDataDir();
        await using var other = await SnapshotNode.StartAsync(kind == "starting"
            ? Statuses.Starting(SchemaGeneration.V24)
            : Statuses.Ready(SchemaGeneration.V22_2));
        if (kind == "disagree")
            other.Backend.State.ExtraInfoBase64 = Convert.ToBase64String(KmInitResponse.Encode(true, new byte[32], new byte[32], new byte[64]));
        var before = d.Hash();
        var v = Vars(d);
        v["peers"] = kind switch
        {
            "unreachable" => new object[] { _peerA.Address, "/tmp/no-such-node-dir" },
            "self" => new object[] { _peerA.Address, d.DataDir },
            _ => new object[] { _peerA.Address, other.Address },
        };
        using var ps = new PsEngine();
        var r = ps.Run("Clear-KmLocalState -DataDir $dd -RuntimeId $rid -RequirePeer $peers -Confirm:$false", v);
        var e = Assert.Single(r.Errors);
        Assert.Equal("WipeRefused,KmPs.Cmdlets.ClearKmLocalStateCommand", e.FullyQualifiedErrorId);
        Assert.Contains(expected, e.Exception.Message);
        Assert.Equal(before, d.Hash());
    }

    [Theory]
    [InlineData("''", null, "InvalidDataDir")]
    [InlineData("'relative/data'", null, "InvalidDataDir")]
    [InlineData("'/'", null, "InvalidDataDir")]
    [InlineData("'/tmp/kmt-does-not-exist'", null, "DataDirNotFound")]
    [InlineData(null, "''", "InvalidRuntimeId")]
    [InlineData(null, "'4000'", "InvalidRuntimeId")]
    [InlineData(null, "'zz00000000000000000000000000000000000000000000004a1a53dff2ae482d'", "InvalidRuntimeId")]
    [InlineData(null, "'000000000000000000000000000000000000000000000000a6d1e3ebf60dff6c'", "NotKeyManagerRuntime")]
    public void Bad_input_is_a_clear_error_and_changes_nothing(string? dataDir, string? runtimeId, string errorId)
    {
        using var d = new FakeDataDir();
        var before = d.Hash();
        using var ps = new PsEngine();
        var r = ps.Run($"Clear-KmLocalState -DataDir {dataDir ?? "$dd"} -RuntimeId {runtimeId ?? "$rid"} -RequirePeer $peers -Confirm:$false", Vars(d));
        Assert.Empty(r.Output);
        Assert.Equal(errorId + ",KmPs.Cmdlets.ClearKmLocalStateCommand", Assert.Single(r.Errors).FullyQualifiedErrorId);
        Assert.Equal(before, d.Hash());
    }

    [Theory]
    [InlineData("runtimes")]
    [InlineData("runtime-dir")]
    [InlineData("storage")]
    public void Links_out_of_the_data_dir_are_refused(string which)
    {
        using var d = new FakeDataDir();
        using var outside = new TempDir("kmo");
        // The real folder moves outside; a link takes its place.
        var (linkPath, realTarget) = which switch
        {
            "runtimes" => (Path.Combine(d.DataDir, "runtimes"), Path.Combine(outside.Path, "runtimes")),
            "runtime-dir" => (d.RuntimeDir, Path.Combine(outside.Path, d.RuntimeId)),
            _ => (d.StorageDir, Path.Combine(outside.Path, "worker-local-storage.badger.db")),
        };
        Directory.Move(linkPath, realTarget);
        Directory.CreateSymbolicLink(linkPath, realTarget);
        var before = d.Hash() + TreeHash.Of(outside.Path);
        using var ps = new PsEngine();
        var r = ps.Run("Clear-KmLocalState -DataDir $dd -RuntimeId $rid -RequirePeer $peers -Confirm:$false", Vars(d));
        Assert.Equal("LinkOutOfDataDir,KmPs.Cmdlets.ClearKmLocalStateCommand", Assert.Single(r.Errors).FullyQualifiedErrorId);
        Assert.Equal(before, d.Hash() + TreeHash.Of(outside.Path));
    }

    [Fact]
    public void Data_dir_reached_through_a_link_is_allowed_and_wipes_the_real_folder()
    {
        using var d = new FakeDataDir();
        using var links = new TempDir("kml");
        var alias = Path.Combine(links.Path, "data");
        Directory.CreateSymbolicLink(alias, d.DataDir);
        using var ps = new PsEngine();
        var v = Vars(d);
        v["dd"] = alias;
        var rec = ps.Run("Clear-KmLocalState -DataDir $dd -RuntimeId $rid -RequirePeer $peers -Confirm:$false", v).AssertClean().Single<LocalStateRecord>();
        Assert.Equal("MovedAside", rec.Action);
        Assert.False(Directory.Exists(d.StorageDir));
        Assert.True(new DirectoryInfo(alias).LinkTarget is not null);
    }

    [Fact]
    public void Delete_needs_an_extra_confirmation_unless_Force()
    {
        using var d = new FakeDataDir();
        var before = d.Hash();
        var host = new RecordingHost(1); // ShouldContinue: No
        using (var ps = new PsEngine(host))
        {
            var r = ps.Run("Clear-KmLocalState -DataDir $dd -RuntimeId $rid -RequirePeer $peers -Delete -Confirm:$false", Vars(d)).AssertClean();
            Assert.Empty(r.Output);
        }
        Assert.Single(host.Prompts);
        Assert.Contains("no backup", host.Prompts[0]);
        Assert.Equal(before, d.Hash());

        using var ps2 = new PsEngine();
        var rec = ps2.Run("Clear-KmLocalState -DataDir $dd -RuntimeId $rid -RequirePeer $peers -Delete -Force -Confirm:$false", Vars(d))
            .AssertClean().Single<LocalStateRecord>();
        Assert.Equal("Deleted", rec.Action);
        Assert.False(Directory.Exists(d.StorageDir));
        Assert.Empty(Directory.GetDirectories(d.RuntimeDir, "*.backup-*"));
        Assert.True(Directory.Exists(Path.Combine(d.DataDir, "persistent-store.badger.db")));
    }

    [Theory]
    [InlineData(new[] { 0, 0 }, 2)] // Yes, Yes
    [InlineData(new[] { 2, 0 }, 1)] // No, Yes
    [InlineData(new[] { 1 }, 2)]    // Yes to All: one prompt
    [InlineData(new[] { 3 }, 0)]    // No to All: one prompt
    public void Confirm_answers_are_honoured_per_node(int[] answers, int wiped)
    {
        using var a = new FakeDataDir();
        using var b = new FakeDataDir();
        var host = new RecordingHost(answers);
        using var ps = new PsEngine(host);
        var r = ps.Run("""
            @([pscustomobject]@{ Name = 'a'; DataDir = $a; RuntimeId = $rid }, [pscustomobject]@{ Name = 'b'; DataDir = $b; RuntimeId = $rid }) |
                Clear-KmLocalState -RequirePeer $peers -Confirm
            """, new Dictionary<string, object?> { ["a"] = a.DataDir, ["b"] = b.DataDir, ["rid"] = a.RuntimeId, ["peers"] = new[] { _peerA.Address } })
            .AssertClean();
        Assert.Equal(answers.Length, host.Prompts.Count);
        Assert.Equal(wiped, r.Output.Count);
        Assert.Equal(wiped, new[] { a, b }.Count(d => !Directory.Exists(d.StorageDir)));
        if (answers[0] == 2) Assert.True(Directory.Exists(a.StorageDir));
    }

    [Fact]
    public void High_impact_without_a_prompting_host_fails_instead_of_hanging()
    {
        using var d = new FakeDataDir();
        var before = d.Hash();
        using var ps = new PsEngine();
        var r = ps.Run("Clear-KmLocalState -DataDir $dd -RuntimeId $rid -RequirePeer $peers", Vars(d));
        Assert.Empty(r.Output);
        Assert.NotEmpty(r.Errors.Concat(r.Terminating is RuntimeException t ? new[] { t.ErrorRecord } : Array.Empty<ErrorRecord>()));
        Assert.Equal(before, d.Hash());
    }

    [Fact]
    public void Nothing_to_wipe_is_reported_not_an_error()
    {
        using var d = new FakeDataDir();
        Directory.Delete(d.StorageDir, true);
        using var ps = new PsEngine();
        var rec = ps.Run("Clear-KmLocalState -DataDir $dd -RuntimeId $rid -RequirePeer $peers -Confirm:$false", Vars(d)).AssertClean().Single<LocalStateRecord>();
        Assert.Equal("NothingToWipe", rec.Action);
    }

    [Fact]
    public void Restore_refuses_over_existing_state_and_without_backups()
    {
        using var d = new FakeDataDir();
        var before = d.Hash();
        using var ps = new PsEngine();
        var r = ps.Run("Restore-KmLocalState -DataDir $dd -RuntimeId $rid -Confirm:$false", Vars(d));
        Assert.Equal("LocalStateExists,KmPs.Cmdlets.RestoreKmLocalStateCommand", Assert.Single(r.Errors).FullyQualifiedErrorId);
        Directory.Delete(d.StorageDir, true);
        r = ps.Run("Restore-KmLocalState -DataDir $dd -RuntimeId $rid -Confirm:$false", Vars(d));
        Assert.Equal("NoLocalStateBackup,KmPs.Cmdlets.RestoreKmLocalStateCommand", Assert.Single(r.Errors).FullyQualifiedErrorId);
    }
}

/// <summary>Issue 9 #4 through the cmdlet: a staying peer that stopped syncing does not count as a holder.</summary>
public class LocalStateFreshnessTests
{
    [Theory]
    [InlineData("stalled")]
    [InlineData("syncing")]
    public async Task A_peer_that_stopped_syncing_is_not_a_staying_holder(string kind)
    {
        using var d = new FakeDataDir();
        var stale = Statuses.Ready(SchemaGeneration.V24, "stale");
        var live = Statuses.Ready(SchemaGeneration.V24, "live");
        if (kind == "stalled") { live.Epoch = stale.Epoch + 40; }
        else stale.ConsensusSyncing = true;
        await using var a = await SnapshotNode.StartAsync(stale);
        await using var b = await SnapshotNode.StartAsync(live);
        var before = d.Hash();
        using var ps = new PsEngine();
        var r = ps.Run("Clear-KmLocalState -DataDir $dd -RuntimeId $rid -RequirePeer $peers -Confirm:$false",
            new Dictionary<string, object?> { ["dd"] = d.DataDir, ["rid"] = d.RuntimeId, ["peers"] = new[] { a.Address, b.Address } });
        var e = Assert.Single(r.Errors);
        Assert.Equal("WipeRefused,KmPs.Cmdlets.ClearKmLocalStateCommand", e.FullyQualifiedErrorId);
        Assert.Contains(kind == "stalled" ? "stale" : "not synced", e.Exception.Message);
        Assert.Equal(before, d.Hash());
    }
}

/// <summary>
/// The wipe's guards that need no other process (the database locks held by other processes, real Badger
/// and flock, are KmPs.Scenario.Tests' LocalStateLockTests): Badger's LOCK file, the socket the config
/// names, the node's own config and data dir, peers of another runtime, relative sockets, a data dir that is not a node's.
/// </summary>
public class LocalStateGuardModuleTests : WithReadyPeer
{
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
            new Dictionary<string, object?> { ["dd"] = d.DataDir, ["rid"] = d.RuntimeId, ["peers"] = new[] { Peer.Address } }).AssertClean();
        Assert.Contains(r.Verbose, v => v.Message.Contains($"node unix:{d.DataDir}/internal.sock"));
    }

    [Fact]
    public void A_data_dir_that_is_not_a_nodes_is_not_nothing_to_wipe()
    {
        using var t = new TempDir("kmw");
        var wrong = Path.Combine(t.Path, "data"); // a typo'd DataDir: exists, holds nothing of a node
        Directory.CreateDirectory(wrong);
        using var ps = new PsEngine();
        var r = ps.Run("Clear-KmLocalState -DataDir $dd -RuntimeId $rid -RequirePeer $peer -Confirm:$false",
            new Dictionary<string, object?> { ["dd"] = wrong, ["rid"] = TestOrcs.TestnetKm, ["peer"] = Peer.Address });
        var e = Assert.Single(r.Errors);
        Assert.Equal("DataDirNotNode,KmPs.Cmdlets.ClearKmLocalStateCommand", e.FullyQualifiedErrorId);
        Assert.Empty(r.Output);
        Assert.Empty(Directory.GetFileSystemEntries(wrong));

        // A node's data dir whose state is already gone (a wipe done before) is nothing to wipe.
        using var d = new FakeDataDir();
        Directory.Delete(d.StorageDir, true);
        var rec = ps.Run("Clear-KmLocalState -DataDir $dd -RuntimeId $rid -RequirePeer $peer -Confirm:$false",
            new Dictionary<string, object?> { ["dd"] = d.DataDir, ["rid"] = d.RuntimeId, ["peer"] = Peer.Address }).AssertClean().Single<LocalStateRecord>();
        Assert.Equal("NothingToWipe", rec.Action);
    }
}
