using System.Text.Json.Nodes;
using KmPs.Core.Status;
using KmPs.Core.Wire;

namespace KmPs.Core.Tests.Wire;

/// <summary>The CLI JSON shape of a status (what <c>oasis-node control status</c> prints) from hand-made CBOR; from the simulator's statuses: KmPs.Simulator.Tests.</summary>
public class CliJsonTests
{
    [Fact]
    public void Genesis_state_root_is_hex_and_addresses_print_as_go_tcp_addresses()
    {
        var root = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();
        CborNode Addr(byte[] ip, string zone) => new CborMapBuilder().Add("IP", CborNode.Bytes(ip)).Add("Port", CborNode.UInt(26656)).Add("Zone", CborNode.Text(zone)).Build();
        var v6 = new byte[16]; v6[0] = 0xfe; v6[1] = 0x80; v6[15] = 1;
        var mapped = new byte[] { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 7 };
        var status = new CborMapBuilder()
            .Add("genesis", new CborMapBuilder().Add("state_root", CborNode.Bytes(root)).Add("round", CborNode.UInt(0)).Build())
            .Add("addresses", new CborArray(new[] { Addr(new byte[] { 192, 0, 2, 1 }, ""), Addr(v6, ""), Addr(v6, "eth0"), Addr(mapped, "") }))
            .Build();
        var j = (JsonObject)CliJson.Render(status, TimeZoneInfo.Utc)!;
        Assert.Equal(Hex.Encode(root), (string?)j["genesis"]!["state_root"]);
        Assert.Equal(new[] { "192.0.2.1:26656", "[fe80::1]:26656", "[fe80::1%eth0]:26656", "10.0.0.7:26656" },
            j["addresses"]!.AsArray().Select(a => (string?)a));
    }

    [Fact]
    public void Roles_text_by_generation()
    {
        Assert.Equal("key-manager", CliJson.RolesText(4, SchemaGeneration.V22_2));
        Assert.Equal("compute,validator", CliJson.RolesText(9, SchemaGeneration.V24));
        Assert.Equal("observer", CliJson.RolesText(2, SchemaGeneration.V23_0));
        Assert.Equal("unknown(0x2)", CliJson.RolesText(2, SchemaGeneration.V22_2));
    }

    [Fact]
    public void Base58_matches_known_values()
    {
        Assert.Equal("", Base58.Encode(Array.Empty<byte>()));
        Assert.Equal("11", Base58.Encode(new byte[2]));
        Assert.Equal("2g", Base58.Encode(new byte[] { 0x61 }));
        Assert.Equal("StV1DL6CwTryKyV", Base58.Encode("hello world"u8.ToArray()));
    }
}
