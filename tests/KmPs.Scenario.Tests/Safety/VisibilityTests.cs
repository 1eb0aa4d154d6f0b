using System.Diagnostics;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using KmPs.Core.LocalState;
using KmPs.Core.Status;
using KmPs.Tests.Support;
using KmPs.Tests.Harness;

namespace KmPs.Scenario.Tests.Safety;

/// <summary>
/// Issue 9 #2: "cannot see" is not "absent", and "nothing to wipe" is proven, never assumed. The
/// unreadable case runs as an unprivileged user (nobody) in its own process: root reads everything.
/// </summary>
public class VisibilityTests : WithReadyPeer
{
    private const int Nobody = 65534;



    private static bool Root => Environment.UserName == "root";

    /// <summary>A data dir as an oasis user keeps it: the folder itself 0700, its parent open.</summary>
    private static FakeDataDir Private()
    {
        var d = new FakeDataDir();
        File.SetUnixFileMode(d.Root, (UnixFileMode)0x1ed); // 0755
        File.SetUnixFileMode(d.DataDir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return d;
    }

    [Fact]
    public void A_user_that_cannot_look_into_the_data_dir_is_refused_locally_and_on_the_node_side_and_nothing_changes()
    {
        Assert.True(Root, "this test switches to an unprivileged user and must run as root (as CI does)");
        using var d = Private();
        var before = d.Hash();
        var (who, _) = AsUser.Run(Nobody, "[Environment]::UserName");
        Assert.Equal(["nobody"], who);

        // The cmdlets run by that user on its own machine ...
        var (_, errors) = AsUser.Run(Nobody,
            "param($dd, $rid, $peer) Clear-KmLocalState -DataDir $dd -RuntimeId $rid -RequirePeer $peer -Confirm:$false; " +
            "Clear-KmLocalState -DataDir $dd -RuntimeId $rid -RequirePeer $peer -Delete -Force -Confirm:$false; " +
            "Restore-KmLocalState -DataDir $dd -RuntimeId $rid -Confirm:$false",
            d.DataDir, d.RuntimeId, Peer.Address);
        Assert.Equal(3, errors.Count);
        Assert.StartsWith("LocalStateUnreadable,KmPs.Cmdlets.ClearKmLocalStateCommand ", errors[0]);
        Assert.Contains("permission denied", errors[0]);
        Assert.StartsWith("LocalStateUnreadable,KmPs.Cmdlets.ClearKmLocalStateCommand ", errors[1]);
        Assert.StartsWith("LocalStateUnreadable,KmPs.Cmdlets.RestoreKmLocalStateCommand ", errors[2]);

        // ... and the node side of a remote wipe (what an admin host's session runs there).
        var (ops, _) = AsUser.Run(Nobody,
            "param($dd, $rid) [KmPs.Remoting.KmRemoteEndpoint]::Op('StatePath', \"{`\"DataDir`\": `\"$dd`\", `\"RuntimeId`\": `\"$rid`\"}\"); " +
            "[KmPs.Remoting.KmRemoteEndpoint]::Op('Wipe', \"{`\"Node`\": {`\"DataDir`\": `\"$dd`\", `\"RuntimeId`\": `\"$rid`\", `\"Name`\": `\"km1`\"}, `\"Delete`\": false, `\"ExpectAbsent`\": true, `\"Timeout`\": `\"00:00:05`\"}\")",
            d.DataDir, d.RuntimeId);
        Assert.Equal(2, ops.Count);
        Assert.All(ops, o => Assert.Contains("\"LocalStateUnreadable\"", o));
        Assert.Equal(before, d.Hash());
    }

    [Theory]
    [InlineData("storage")]
    [InlineData("below")]
    public void A_mount_point_at_or_below_the_state_folder_is_refused_and_never_deleted_into(string where)
    {
        Assert.True(Root, "this test mounts a file system and must run as root (as CI does)");
        using var d = new FakeDataDir();
        using var other = new TempDir("kmm");
        File.WriteAllText(Path.Combine(other.Path, "precious"), "another file system's data");
        var target = where == "storage" ? d.StorageDir : Path.Combine(d.StorageDir, "sub");
        Directory.CreateDirectory(target);
        Mount("--bind", other.Path, target);
        try
        {
            var before = d.Hash();
            using var ps = new PsEngine();
            var r = ps.Run("Clear-KmLocalState -DataDir $dd -RuntimeId $rid -RequirePeer $peer -Delete -Force -Confirm:$false",
                new Dictionary<string, object?> { ["dd"] = d.DataDir, ["rid"] = d.RuntimeId, ["peer"] = Peer.Address });
            Assert.Equal("LocalStateMountPoint,KmPs.Cmdlets.ClearKmLocalStateCommand", Assert.Single(r.Errors).FullyQualifiedErrorId);
            Assert.Equal(before, d.Hash());
            Assert.Equal("another file system's data", File.ReadAllText(Path.Combine(other.Path, "precious")));
        }
        finally { Mount("-u", target); }
    }

    private static void Mount(params string[] args)
    {
        var unmount = args[0] == "-u";
        var p = Process.Start(new ProcessStartInfo(unmount ? "umount" : "mount", unmount ? args[1..] : args) { RedirectStandardError = true })!;
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"mount {string.Join(' ', args)}: {p.StandardError.ReadToEnd()}");
    }
}
