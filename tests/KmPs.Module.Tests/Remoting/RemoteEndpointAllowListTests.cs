using System.Text.Json;
using System.Text.RegularExpressions;
using KmPs.Tests.Harness;
using KmPs.Tests.Support;

namespace KmPs.Module.Tests.Remoting;

/// <summary>
/// The remote endpoint's allow-list: what a node's machine runs for the admin host. KmRemoting sends an
/// operation name and JSON arguments through the session; <c>KmRemoteEndpoint.RunAsync</c> (module
/// assembly) runs only the names of its switch, each one <c>LocalNodeHost</c> call or a step of the ORC
/// upload, and refuses every other name (RemoteOperationUnknown). The upload's path decision is Core's
/// (<c>BundleStaging.IsUpload</c>/<c>IsUploadFor</c>, unit-tested in KmPs.Core.Tests); here, through
/// the endpoint as a session calls it, in the hosted engine.
/// </summary>
public class RemoteEndpointAllowListTests(RemoteEndpointAllowListTests.Engine engine) : IClassFixture<RemoteEndpointAllowListTests.Engine>
{
    public sealed class Engine : IDisposable
    {
        public PsEngine Ps { get; } = new();
        public void Dispose() => Ps.Dispose();
    }

    /// <summary>Every operation, one per INodeHost call and three for the upload: adding one is a decision this list records.</summary>
    private static readonly string[] Operations =
    [
        "AppendUpload", "BeginUpload", "CommitUpload", "CompleteNode", "KeyManagerStatus", "KmBundles", "NodeStopped", "PreviewBundle",
        "Restore", "Runtime", "ScanLog", "SetBundle", "Start", "StateInfo", "StatePath", "StatusCbor", "Stop", "Wipe",
    ];

    private JsonElement Op(string name, string json)
    {
        var r = engine.Ps.Run("[KmPs.Remoting.KmRemoteEndpoint]::Op($name, $json)", new Dictionary<string, object?> { ["name"] = name, ["json"] = json }).AssertClean();
        return JsonDocument.Parse((string)r.Output.Single().BaseObject).RootElement;
    }

    private JsonElement Op(string name, object args) => Op(name, JsonSerializer.Serialize(args));

    private static string? ErrorId(JsonElement reply) =>
        reply.TryGetProperty("error", out var e) ? e.GetProperty("ErrorId").GetString() : null;

    private static string Source(string file) => File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "src", "KmPs", "Remoting", file));

    [Fact]
    public void The_endpoint_runs_exactly_the_operations_the_admin_hosts_node_host_sends()
    {
        var sent = Regex.Matches(Source("RemoteNodeHost.cs"), @"\bOp<[^>]+>\(""(\w+)""").Select(m => m.Groups[1].Value).Distinct().Order(StringComparer.Ordinal);
        var switchText = Regex.Match(Source("KmRemoteEndpoint.cs"), @"object\? result = name switch\s*\{(.*?)\n\s*\};", RegexOptions.Singleline).Groups[1].Value;
        var served = Regex.Matches(switchText, @"^\s*""(\w+)"" =>", RegexOptions.Multiline).Select(m => m.Groups[1].Value).Order(StringComparer.Ordinal);
        Assert.Equal(Operations, sent);
        Assert.Equal(Operations, served);
    }

    [Fact]
    public void Each_listed_operation_is_accepted()
    {
        // Empty arguments: each one fails on what it is missing, none as unknown (and none does anything).
        foreach (var op in Operations)
            Assert.NotEqual("RemoteOperationUnknown", ErrorId(Op(op, "{}")));
    }

    [Theory]
    [InlineData("")]
    [InlineData("wipe")]
    [InlineData("WIPE")]
    [InlineData("Wipe ")]
    [InlineData(" Wipe")]
    [InlineData("Wipe;Remove-Item")]
    [InlineData("Delete")]
    [InlineData("Remove-Item")]
    [InlineData("Invoke-Expression")]
    [InlineData("RunScript")]
    [InlineData("Begin")]
    [InlineData("Op")]
    [InlineData("Version")]
    [InlineData("ReadNode")]
    public void Any_other_name_is_refused_and_changes_nothing(string name)
    {
        using var d = new FakeDataDir();
        var before = d.Hash();
        // Arguments that the real Wipe would act on (delete, nothing expected absent).
        var reply = Op(name, new { Node = new { d.DataDir, d.RuntimeId, Name = "km1" }, ExpectAbsent = false, Delete = true, Timeout = "00:00:05" });
        Assert.Equal("RemoteOperationUnknown", ErrorId(reply));
        Assert.Equal(before, d.Hash());
    }

    [Fact]
    public void An_upload_step_on_a_file_that_is_not_an_upload_in_progress_is_refused()
    {
        using var t = new TempDir("kmu");
        var victim = t.File("victim/.profile");
        Directory.CreateDirectory(Path.GetDirectoryName(victim)!);
        File.WriteAllText(victim, "export PATH=/usr/bin\n");
        Directory.CreateDirectory(t.File(".upload-0")); // so that the path below leads somewhere: to the victim
        var before = TreeHash.Of(t.Path);
        var data = Convert.ToBase64String("rm -rf /\n"u8.ToArray());

        // Once accepted: a hidden name and ".upload-" somewhere in the path.
        Assert.Equal("InvalidUpload", ErrorId(Op("AppendUpload", new { TempPath = t.File(".upload-0/../victim/.profile"), Data = data })));
        Assert.Equal("InvalidUpload", ErrorId(Op("AppendUpload", new { TempPath = victim, Data = data })));
        Assert.Equal(before, TreeHash.Of(t.Path));

        // A real copy in progress, committed to another destination than the one it was made for.
        var destination = t.File("runtimes/km.orc");
        Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
        var temp = KmPs.Core.Bundles.BundleStaging.UploadPath(destination);
        File.WriteAllBytes(temp, []);
        before = TreeHash.Of(t.Path);
        var elsewhere = t.File("victim/km.orc");
        Assert.Equal("InvalidUpload", ErrorId(Op("CommitUpload", new { TempPath = temp, Destination = elsewhere, Digest = new string('0', 64), Length = 0 })));
        Assert.False(File.Exists(elsewhere));
        Assert.Equal(before, TreeHash.Of(t.Path));
        Assert.Equal("export PATH=/usr/bin\n", File.ReadAllText(victim));
    }
}
