using KmPs.Core.Control;
using KmPs.Core.Status;
using KmPs.Core.Wire;
using KmPs.Tests.Support;

namespace KmPs.Core.Tests.Wire;

public class CborCodecTests
{
    private static byte[] H(string hex) => Convert.FromHexString(hex.Replace(" ", ""));
    private static string X(byte[] b) => Convert.ToHexString(b).ToLowerInvariant();

    [Fact]
    public void RequestShutdown_body_is_an_explicit_cbor_bool()
    {
        Assert.Equal("f5", X(ControlClient.ShutdownRequest(true)));
        Assert.Equal("f4", X(ControlClient.ShutdownRequest(false)));
    }

    [Fact]
    public void GetRuntimeQuery_is_canonical_with_id_before_height()
    {
        var id = Convert.FromHexString(TestOrcs.TestnetKm);
        var bytes = ControlClient.GetRuntimeRequest(id, 0);
        // a2 | 62 "id" 58 20 <32 bytes> | 66 "height" 00 : length-first key order, no include_suspended.
        Assert.Equal("a2" + "626964" + "5820" + TestOrcs.TestnetKm + "66686569676874" + "00", X(bytes));
    }

    [Fact]
    public void GetRuntimeQuery_encodes_negative_and_large_heights_in_shortest_form()
    {
        var id = new byte[32];
        Assert.EndsWith("66686569676874" + "1a000f4240", X(ControlClient.GetRuntimeRequest(id, 1_000_000)));
        Assert.Throws<ArgumentException>(() => ControlClient.GetRuntimeRequest(new byte[31]));
    }

    [Fact]
    public void Version_is_omitempty()
    {
        Assert.Equal("a1656d696e6f7205", X(CborCodec.Encode(new OasisVersion(0, 5, 0).ToCbor())));
        Assert.Equal("a0", X(CborCodec.Encode(new OasisVersion(0, 0, 0).ToCbor())));
        Assert.Equal(new OasisVersion(0, 3, 3), OasisVersion.FromCbor(CborCodec.Decode(H("a2656d696e6f720365706174636803"))));
        Assert.Equal(default, OasisVersion.FromCbor(CborCodec.Decode(H("a0"))));
    }

    [Fact]
    public void Canonical_encoder_sorts_keys_length_first()
    {
        var map = new CborMapBuilder().Add("zz", CborNode.UInt(1)).Add("a", CborNode.UInt(2)).Add("bbb", CborNode.UInt(3)).Build();
        Assert.Equal("a3" + "6161" + "02" + "627a7a" + "01" + "63626262" + "03", X(CborCodec.Encode(map)));
    }

    [Fact]
    public void Empty_payload_decodes_to_null_like_UnmarshalRPC()
    {
        Assert.IsType<CborNull>(CborCodec.Decode(Array.Empty<byte>()));
    }

    [Theory]
    [InlineData("9f01ff", "indefinite-length arrays")]
    [InlineData("bf6161 01ff", "indefinite-length maps")]
    [InlineData("5f4101ff", "indefinite-length strings")]
    [InlineData("7f6161ff", "indefinite-length strings")]
    [InlineData("c11a5f5e1000", "tag 1")]
    [InlineData("d8185820" + "0000000000000000000000000000000000000000000000000000000000000000", "tag 24")]
    [InlineData("a2616101616102", "duplicate map key")]
    [InlineData("0102", "trailing bytes")]
    [InlineData("58", "malformed")]
    [InlineData("f0", "simple value")]
    public void Refuses_what_oasis_core_refuses(string hex, string reason)
    {
        var e = Assert.Throws<CborDecodeException>(() => CborCodec.Decode(H(hex)));
        Assert.Contains(reason, e.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Maps_can_have_byte_string_integer_and_map_keys()
    {
        // {h'01': 1, 2: 2, {"mr_enclave": h'aa', "mr_signer": h'bb'}: 3}
        var bytes = H("a3" + "4101" + "01" + "02" + "02" + "a2" + "6a6d725f656e636c617665" + "41aa" + "696d725f7369676e6572" + "41bb" + "03");
        var map = Assert.IsType<CborMap>(CborCodec.Decode(bytes));
        Assert.IsType<CborBytes>(map.Entries[0].Key);
        Assert.IsType<CborInteger>(map.Entries[1].Key);
        var keyMap = Assert.IsType<CborMap>(map.Entries[2].Key);
        Assert.Equal(new byte[] { 0xbb }, keyMap["mr_signer"].Bytes("k"));
        // Re-encoding is canonical: shortest key first (02, then h'01', then the map key).
        var again = CborCodec.Encode(map);
        Assert.StartsWith("a3" + "0202" + "410101" + "a2" + "696d725f7369676e6572", X(again));
        Assert.Equal(X(again), X(CborCodec.Encode(CborCodec.Decode(again))));
    }

    [Fact]
    public void Integers_of_every_width_and_sign_round_trip()
    {
        foreach (var v in new long[] { 0, 23, 24, 255, 256, 65535, 65536, uint.MaxValue, (long)uint.MaxValue + 1, long.MaxValue, -1, -24, -25, long.MinValue })
        {
            var bytes = CborCodec.Encode(CborNode.Int(v));
            Assert.Equal(v, Assert.IsType<CborInteger>(CborCodec.Decode(bytes)).ToInt64());
        }
        var max = CborCodec.Encode(CborNode.UInt(ulong.MaxValue));
        Assert.Equal("1bffffffffffffffff", X(max));
        Assert.Throws<CborDecodeException>(() => ((CborInteger)CborCodec.Decode(max)).ToInt64());
    }

    [Fact]
    public void Typed_reads_follow_go_zero_values_and_name_the_field()
    {
        var m = (CborMap)CborCodec.Decode(CborCodec.Encode(new CborMapBuilder()
            .Add("t", CborNode.Null).Add("n", CborNode.Text("x")).Add("b", CborNode.Bytes(new byte[3])).Build()));
        Assert.Null(m["t"].Time("t"));
        Assert.Null(m["missing"].Bytes("missing"));
        Assert.Equal(0UL, m["missing"].UInt("missing"));
        Assert.False(m["missing"].Bool("missing"));
        var e = Assert.Throws<CborDecodeException>(() => m["n"].UInt("status.n"));
        Assert.Contains("status.n", e.Message);
        Assert.Throws<CborDecodeException>(() => m["b"].FixedBytes("b", 32));
    }

    [Fact]
    public void Time_is_unix_seconds()
    {
        var t = CborCodec.Decode(H("1a65562d00")).Time("t");
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(0x65562d00), t);
        Assert.Equal(TimeSpan.Zero, t!.Value.Offset);
    }
}
