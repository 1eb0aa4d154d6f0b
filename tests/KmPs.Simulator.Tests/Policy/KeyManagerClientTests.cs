using KmPs.Core.Control;
using KmPs.Core.Policy;
using KmPs.Simulator.Shapes;
using KmPs.Core.Status;
using KmPs.Core.Wire;
using KmPs.Core;
using KmPs.Tests.Support;
using KmPs.Tests.Harness;

namespace KmPs.Simulator.Tests.Policy;

/// <summary>The key manager status query against the simulator's in-process control server, per oasis-core version.</summary>
public class KeyManagerClientTests
{
    private static SimNodeStatus Node(SchemaGeneration g, string? software = null, SimPolicy? next = null)
    {
        var s = Statuses.Ready(g);
        s.SoftwareVersion = software;
        s.NextPolicy = next;
        return s;
    }

    [Theory]
    [InlineData(SchemaGeneration.V22_2, null, ControlMethods.KeyManager)]
    [InlineData(SchemaGeneration.V23_0, null, ControlMethods.KeyManager)]
    [InlineData(SchemaGeneration.V24, "24.3.2", ControlMethods.KeyManager)]
    [InlineData(SchemaGeneration.V24, "25.0.0", ControlMethods.KeyManager)]
    [InlineData(SchemaGeneration.V24, "25.1.0", ControlMethods.KeyManagerSecrets)]
    [InlineData(SchemaGeneration.V24, "26.1.0", ControlMethods.KeyManagerSecrets)]
    public async Task Each_version_answers_on_the_service_name_it_registers(SchemaGeneration g, string? software, string service)
    {
        await using var node = await SnapshotNode.StartAsync(Node(g, software));
        var s = await KeyManagerClient.For(SocketAddress.Parse(node.Address)).GetPolicyStatusAsync(TestOrcs.TestnetKm);
        Assert.Equal(service, s.Service);
        Assert.Equal(TestOrcs.TestnetKm, s.RuntimeId);
        Assert.Equal(TestVectors.Checksum, s.Checksum);
        Assert.Equal(1u, s.Policy!.Serial);
        Assert.Equal(new[] { Statuses.OldEnclave, Statuses.NewEnclave }, s.Policy.Enclaves.Select(e => e.Enclave.ToString()));
        Assert.Equal(new[] { Statuses.NewEnclave }, s.Policy.Enclaves[0].MayReplicate.Select(e => e.ToString()));
        Assert.Equal(1, s.Policy.SignerCount);
        // The snapshot serves no Beacon: the epoch comes from the control status.
        Assert.Equal(100ul, s.Epoch);
        Assert.Equal(g >= SchemaGeneration.V23_0, s.Rsk is not null);
        // The deprecated name keeps answering on 25.1+.
        var old = await ControlClient.For(SocketAddress.Parse(node.Address)).CallAsync(ControlMethods.KeyManager, ControlMethods.GetStatus,
            KeyManagerClient.NamespaceQuery(Convert.FromHexString(TestOrcs.TestnetKm)), null, CancellationToken.None);
        Assert.Equal(1u, KmPolicyStatus.FromCbor(CborCodec.Decode(old)).Policy!.Serial);
    }

    [Fact]
    public async Task The_policy_checksum_is_what_the_enclave_registers()
    {
        var status = Node(SchemaGeneration.V24);
        status.PolicyChecksumHex = Convert.ToHexString(status.Policy!.Checksum(status.KmRuntimeId)).ToLowerInvariant();
        await using var node = await SnapshotNode.StartAsync(status);
        var s = await KeyManagerClient.For(SocketAddress.Parse(node.Address)).GetPolicyStatusAsync(TestOrcs.TestnetKm);
        Assert.Equal(status.PolicyChecksumHex, s.Policy!.Checksum);
    }

    [Fact]
    public async Task Only_25_6_and_later_show_the_next_policy()
    {
        var next = Statuses.Policy(serial: 2);
        await using (var node = await SnapshotNode.StartAsync(Node(SchemaGeneration.V24, "25.6.0", next)))
        {
            var s = await KeyManagerClient.For(SocketAddress.Parse(node.Address)).GetPolicyStatusAsync(TestOrcs.TestnetKm);
            Assert.Equal(2u, s.NextPolicy!.Serial);
            Assert.Equal(101ul, s.NextPolicyEpoch);
        }
        await using (var node = await SnapshotNode.StartAsync(Node(SchemaGeneration.V24, "25.5.0", next)))
            Assert.Null((await KeyManagerClient.For(SocketAddress.Parse(node.Address)).GetPolicyStatusAsync(TestOrcs.TestnetKm)).NextPolicy);
    }

    [Theory]
    [InlineData(SchemaGeneration.V22_2, "22.2.13", new[] { "id", "is_initialized", "is_secure", "checksum", "nodes", "policy" })]
    [InlineData(SchemaGeneration.V23_0, "23.0.11", new[] { "id", "is_initialized", "is_secure", "checksum", "nodes", "policy", "rsk" })]
    [InlineData(SchemaGeneration.V24, "25.6.0", new[] { "id", "is_initialized", "is_secure", "checksum", "nodes", "policy", "rsk", "next_policy" })]
    public void The_status_has_the_fields_of_its_version(SchemaGeneration g, string software, string[] keys)
    {
        var m = KeyManagerShapes.Status(Node(g, software, Statuses.Policy(serial: 2)));
        Assert.Equal(keys, m.Entries.Select(e => ((CborText)e.Key).Value));
        // PolicySGX has serial, id and enclaves; the enclaves map is keyed by the identity map.
        var policy = m["policy"]!.RequireMap("policy")["policy"]!.RequireMap("policy.policy");
        Assert.Equal(new[] { "serial", "id", "enclaves" }, policy.Entries.Select(e => ((CborText)e.Key).Value));
        Assert.All(policy["enclaves"]!.RequireMap("enclaves").Entries, e => Assert.IsType<CborMap>(e.Key));
    }

    [Fact]
    public async Task Another_runtime_has_no_status()
    {
        await using var node = await SnapshotNode.StartAsync(Node(SchemaGeneration.V24));
        var e = await Assert.ThrowsAsync<KmException>(() => KeyManagerClient.For(SocketAddress.Parse(node.Address)).GetPolicyStatusAsync(new string('0', 64)));
        Assert.Equal(PolicyErrorIds.KeyManagerStatusUnavailable, e.ErrorId);
        Assert.Contains("keymanager: no such status", e.Message);
    }

    [Fact]
    public async Task A_node_serving_neither_name_is_a_clear_error()
    {
        // The slow wrapper forwards no key manager calls: both names answer Unimplemented.
        await using var node = await SnapshotNode.StartAsync(Node(SchemaGeneration.V24, "25.6.0"), TimeSpan.Zero);
        var e = await Assert.ThrowsAsync<KmException>(() => KeyManagerClient.For(SocketAddress.Parse(node.Address)).GetPolicyStatusAsync(TestOrcs.TestnetKm));
        Assert.Equal(PolicyErrorIds.KeyManagerStatusNotServed, e.ErrorId);
    }
}
