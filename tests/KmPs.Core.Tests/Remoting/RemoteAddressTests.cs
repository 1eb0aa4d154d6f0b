using KmPs.Core.Control;
using KmPs.Core.Inventory;
using KmPs.Core.Orchestration;
using KmPs.Core;
using KmPs.Tests.Support;

namespace KmPs.Core.Tests.Remoting;

/// <summary>
/// Addresses of nodes on other machines: a socket path must be absolute there (it is never resolved
/// here), and one path on two machines is two nodes, on one machine one.
/// </summary>
public class RemoteAddressTests
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

    /// <summary>Every read fails: the pre-flight's own checks on the node list are what is tested.</summary>
    private static readonly Func<KmNode, KmPs.Core.Hosting.INodeHost> Unreadable = _ => new UnreachableHost();

    private static KmNode Remote(string name, string host) => new()
    {
        Name = name, HostName = host, DataDir = "/node/data", Socket = "unix:/node/data/internal.sock", RuntimeId = TestOrcs.TestnetKm,
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
