using System.Text.Json;
using KmPs.Core.Control;
using KmPs.Core.Inventory;
using KmPs.Core.Orchestration;
using KmPs.Core.Status;
using KmPs.Core;
using KmPs.Tests.Support;
using KmPs.Tests.Harness;

namespace KmPs.Module.Tests.Remoting;

/// <summary>
/// What the node's machine does with requests from the admin host: paths must be absolute there,
/// and a wipe the admin host did not confirm never moves state.
/// </summary>
public class RemoteSafetyTests
{
    private static JsonElement Op(PsEngine ps, string name, object args)
    {
        var r = ps.Run("[KmPs.Remoting.KmRemoteEndpoint]::Op($name, $json)",
            new Dictionary<string, object?> { ["name"] = name, ["json"] = JsonSerializer.Serialize(args) }).AssertClean();
        return JsonDocument.Parse((string)r.Output.Single().BaseObject).RootElement;
    }

    private static string ErrorId(JsonElement reply) => reply.GetProperty("error").GetProperty("ErrorId").GetString()!;

    [Fact]
    public void State_that_appeared_after_the_admin_host_found_none_is_refused_not_wiped()
    {
        using var d = new FakeDataDir();
        var before = d.Hash();
        using var ps = new PsEngine();
        var reply = Op(ps, "Wipe", new { Node = new { d.DataDir, d.RuntimeId, Name = "km1" }, ExpectAbsent = true, Delete = true, Timeout = "00:00:05" });
        Assert.Equal("LocalStateAppeared", ErrorId(reply));
        Assert.Equal(before, d.Hash());

        // Truly absent: the answer is the "nothing to wipe" record, and nothing changes.
        Directory.Delete(d.StorageDir, true);
        var empty = d.Hash();
        var ok = Op(ps, "Wipe", new { Node = new { d.DataDir, d.RuntimeId, Name = "km1" }, ExpectAbsent = true, Delete = false, Timeout = "00:00:05" });
        Assert.True(ok.TryGetProperty("ok", out _), ok.ToString());
        Assert.Equal(empty, d.Hash());
    }

    [Fact]
    public void Relative_paths_sent_to_a_node_machine_are_refused_and_change_nothing()
    {
        using var d = new FakeDataDir();
        var before = d.Hash();
        using var ps = new PsEngine();
        // A relative socket would be looked up in the remote process's folder: "no socket" would read as "stopped".
        Assert.Equal("InvalidSocketAddress", ErrorId(Op(ps, "Wipe", new { Node = new { d.DataDir, d.RuntimeId, Socket = "unix:internal.sock", Name = "km1" }, ExpectAbsent = false, Delete = false, Timeout = "00:00:05" })));
        Assert.Equal("InvalidSocketAddress", ErrorId(Op(ps, "NodeStopped", new { Socket = "internal.sock", TimeoutMs = 1000 })));
        Assert.Equal("InvalidDataDir", ErrorId(Op(ps, "Wipe", new { Node = new { DataDir = "data", d.RuntimeId, Name = "km1" }, ExpectAbsent = false, Delete = false, Timeout = "00:00:05" })));
        Assert.Equal("InvalidDataDir", ErrorId(Op(ps, "StatePath", new { DataDir = "data", d.RuntimeId })));
        Assert.Equal(before, d.Hash());
    }
}
