using System.Text.Json;
using KmPs.Core.Status;
using KmPs.Core.Wire;
using KmPs.Tests.Support;

namespace KmPs.Core.Tests.Wire;

public class ExtraInfoTests
{
    [Fact]
    public void Real_22_2_vector_decodes_to_the_exact_values()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(TestVectors.File("extra-info-22.2.json")));
        var root = doc.RootElement;
        var decoded = root.GetProperty("decoded");
        var init = KmInitResponse.FromBase64(root.GetProperty("extra_info_base64").GetString()!);

        Assert.True(init.IsSecure);
        Assert.Equal(decoded.GetProperty("init_response").GetProperty("checksum").GetString(), init.Checksum);
        Assert.Equal(decoded.GetProperty("init_response").GetProperty("policy_checksum").GetString(), init.PolicyChecksum);
        Assert.Equal(decoded.GetProperty("signature").GetString(), init.Signature);
        Assert.Equal(TestVectors.Checksum, init.Checksum);
        Assert.Null(init.NextChecksum);
        Assert.Null(init.Rsk);
    }

    [Fact]
    public void Vector_keys_are_in_canonical_order_and_reencode_identically()
    {
        var bytes = Convert.FromBase64String(TestVectors.ExtraInfo);
        var tree = (CborMap)CborCodec.Decode(bytes);
        Assert.Equal(new[] { "signature", "init_response" }, tree.Entries.Select(e => ((CborText)e.Key).Value));
        Assert.Equal(bytes, CborCodec.Encode(tree));
    }

    [Fact]
    public void Encode_builds_what_decode_reads_including_23_0_fields()
    {
        var rsk = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();
        var bytes = KmInitResponse.Encode(true, new byte[32], Enumerable.Repeat((byte)0xab, 32).ToArray(), new byte[64], rsk);
        var init = KmInitResponse.FromExtraInfo(bytes);
        Assert.Equal(new string('0', 64), init.Checksum);
        Assert.Equal(string.Concat(Enumerable.Repeat("ab", 32)), init.PolicyChecksum);
        Assert.Equal(Convert.ToBase64String(rsk), init.Rsk);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("not base64 !!")]
    [InlineData("9g==")]          // CBOR null: registered before init
    [InlineData("oA==")]          // {} : no init_response
    [InlineData("nwH/")]          // indefinite array
    public void Bad_extra_info_is_a_clear_error(string text)
    {
        var e = Record.Exception(() => KmInitResponse.FromBase64(text));
        Assert.True(e is FormatException or CborDecodeException, e?.GetType().Name);
        Assert.False(string.IsNullOrWhiteSpace(e!.Message));
    }
}
