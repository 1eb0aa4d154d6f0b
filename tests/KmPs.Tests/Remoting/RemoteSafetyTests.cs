using System.Text.Json;
using KmPs.Core.Control;
using KmPs.Core.Inventory;
using KmPs.Core.Orchestration;
using KmPs.Core.Status;
using KmPs.Tests.Infrastructure;
using KmPs.Core;

namespace KmPs.Tests.Remoting;

/// <summary>
/// What the node's machine does with requests from the admin host: paths must be absolute there,
/// and a wipe the admin host did not confirm never moves state.
/// </summary>
public class RemoteSafetyTests
{
    [Theory]
    [InlineData("unix:/node/data/internal.sock", "unix:/node/data/internal.sock")]
    [InlineData("unix:///node/data/internal.sock", "unix:/node/data/internal.sock")]
    [InlineData("/node/data/internal.sock", "unix:/node/data/internal.sock")]
    public void Absolute_socket_addresses_parse(string input, string expected) =>
        Assert.Equal(expected, SocketAddress.ParseAbsolute(input).ToString());

    [Theory]
    [InlineData("unix:data/internal.sock")]
    [InlineData("data")]
    [InlineData("./internal.sock")]
    [InlineData("")]
    [InlineData("10.0.0.1:9000")]
    public void Relative_or_unusable_socket_addresses_are_refused_for_other_machines(string input) =>
        Assert.Equal("InvalidSocketAddress", Assert.Throws<KmException>(() => SocketAddress.ParseAbsolute(input)).ErrorId);

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

    /// <summary>Every read fails: the pre-flight's own checks on the node list are what is tested.</summary>
    private static readonly Func<KmNode, KmPs.Core.Hosting.INodeHost> Unreadable = _ => new UnreachableHost();

    private static KmNode Remote(string name, string host) => new()
    {
        Name = name, HostName = host, DataDir = "/node/data", Socket = "unix:/node/data/internal.sock", RuntimeId = Statuses.TestnetKm,
    };

    [Fact]
    public async Task The_same_socket_path_on_two_machines_is_two_nodes_on_one_machine_it_is_one()
    {
        var apart = await UpgradePreflight.RunAsync(new[] { Remote("km1", "a.example.org"), Remote("km2", "b.example.org") },
            "/nonexistent.orc", new HashSet<string>(), Unreadable, TimeSpan.FromSeconds(1), CancellationToken.None);
        Assert.DoesNotContain(apart.Problems, p => p.Message.Contains("share the", StringComparison.Ordinal));

        var together = await UpgradePreflight.RunAsync(new[] { Remote("km1", "a.example.org"), Remote("km2", "A.example.org") },
            "/nonexistent.orc", new HashSet<string>(), Unreadable, TimeSpan.FromSeconds(1), CancellationToken.None);
        Assert.Contains(together.Problems, p => p.Message.Contains("nodes km1, km2 share the control socket unix:/node/data/internal.sock", StringComparison.Ordinal));
    }
}

public class RemoteSocketComparisonTests
{
    [Theory]
    [InlineData("unix:/node/data/internal.sock", "/node/data/internal.sock", true)]
    [InlineData("/node/data", "unix:/node/data/internal.sock", true)]
    [InlineData("/node/data/", "unix:///node/data/internal.sock", true)]
    [InlineData("unix:/node/data/internal.sock", "/node/data", true)]
    [InlineData("/node/data", "/node/data2", false)]
    [InlineData("/node/a/internal.sock", "/node/b/internal.sock", false)]
    [InlineData("", "", false)]
    public void A_node_is_recognised_however_its_socket_is_spelled(string a, string b, bool same) =>
        Assert.Equal(same, SocketAddress.SameRemoteSocket(a, b));
}
