using KmPs.Core.Bundles;
using KmPs.Tests.Support;

namespace KmPs.Core.Tests.Bundles;

public class Sha512_256Tests
{
    [Theory]
    [InlineData("", "c672b8d1ef56ed28ab87c3622c5114069bdd3ad7b8f9737498d0c01ecef0967a")]
    [InlineData("abc", "53048e2681941ef99b2e29b76b4c7dabe4c2d0c634fc6d46e0e2f13107e7af23")]
    public void Known_answers(string input, string expected)
    {
        Assert.Equal(expected, Sha512_256.HashHex(TestOrcs.Bytes(input)));
        Assert.Equal(expected, Sha512_256.HashHex(new MemoryStream(TestOrcs.Bytes(input))));
    }

    [Fact]
    public void Stream_and_bytes_agree_past_one_buffer()
    {
        var data = new byte[300_001];
        new Random(7).NextBytes(data);
        Assert.Equal(Sha512_256.Hash(data), Sha512_256.Hash(new MemoryStream(data)));
        Assert.Equal(32, Sha512_256.Hash(data).Length);
    }
}
