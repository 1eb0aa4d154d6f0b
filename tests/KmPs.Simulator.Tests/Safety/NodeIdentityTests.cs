using KmPs.Core.Inventory;
using KmPs.Core.Orchestration;
using KmPs.Simulator.Control;
using KmPs.Core.Status;
using KmPs.Tests.Support;
using KmPs.Tests.Harness;

namespace KmPs.Simulator.Tests.Safety;

/// <summary>
/// Issue 9 #8: one machine under two names (its host name and its IP) counted one physical holder
/// twice. Every node reports <c>identity.node</c>; two entries with one identity are one node.
/// </summary>
public class NodeIdentityTests
{
    /// <summary>Answers each node with the status of the node (seed) it really is.</summary>
    private sealed class Machine(string seed) : UnreachableHost
    {
        public override Task<KmPs.Core.Hosting.StatusRead> GetStatusCborAsync(string socket, TimeSpan timeout, CancellationToken ct) =>
            Task.FromResult(new KmPs.Core.Hosting.StatusRead(KmPs.Core.Wire.CborCodec.Decode(KmPs.Simulator.Shapes.StatusShapes.Encode(Statuses.Ready(SchemaGeneration.V24, seed))), DateTimeOffset.UtcNow));

        public override Task<IReadOnlyList<string>> GetKmBundlesAsync(string configPath, CancellationToken ct) =>
            Task.FromResult<IReadOnlyList<string>>(["/node/km.orc"]);
    }

    private static Func<KmNode, KmPs.Core.Hosting.INodeHost> Machines(Dictionary<string, string> seedOf) => n => new Machine(seedOf[n.Name]);

    private static KmNode Remote(string name, string host) => new()
    {
        Name = name, HostName = host, DataDir = "/node/data", Socket = "unix:/node/data/internal.sock", RuntimeId = TestOrcs.TestnetKm,
        ConfigPath = "/node/etc/config.yml", Lifecycle = LifecycleKind.Systemd, Unit = "oasis-node",
    };

    [Fact]
    public async Task Two_entries_that_report_one_node_identity_are_one_node_and_refused()
    {
        var nodes = new[] { Remote("km1", "km1.example.org"), Remote("km1-ip", "192.0.2.10"), Remote("km2", "km2.example.org") };
        var r = await UpgradePreflight.RunAsync(nodes, "/nonexistent.orc", new HashSet<string>(),
            Machines(new() { ["km1"] = "a", ["km1-ip"] = "a", ["km2"] = "b" }), TimeSpan.FromSeconds(1), CancellationToken.None);
        Assert.Contains(r.Problems, p => p.Message.Contains("km1, km1-ip") && p.Message.Contains("one node") && p.ErrorId == "SameNodeTwice");
        Assert.DoesNotContain(r.Problems, p => p.Message.Contains("km2") && p.Message.Contains("one node"));
    }

    [Fact]
    public async Task Distinct_identities_pass()
    {
        var nodes = new[] { Remote("km1", "km1.example.org"), Remote("km2", "km2.example.org") };
        var r = await UpgradePreflight.RunAsync(nodes, "/nonexistent.orc", new HashSet<string>(),
            Machines(new() { ["km1"] = "a", ["km2"] = "b" }), TimeSpan.FromSeconds(1), CancellationToken.None);
        Assert.DoesNotContain(r.Problems, p => p.Message.Contains("one node"));
    }

    [Theory]
    [InlineData(SchemaGeneration.V22_2)]
    [InlineData(SchemaGeneration.V23_0)]
    [InlineData(SchemaGeneration.V24)]
    public void Every_generation_reports_the_node_identity(SchemaGeneration g)
    {
        var s = StatusParser.Parse(KmPs.Simulator.Shapes.StatusShapes.Encode(Statuses.Ready(g, "a")), "x");
        Assert.False(string.IsNullOrEmpty(s.IdentityNode));
        Assert.Equal(true, s.ConsensusSynced);
    }
}
