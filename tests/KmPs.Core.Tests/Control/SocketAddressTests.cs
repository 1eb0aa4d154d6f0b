using KmPs.Core.Control;
using KmPs.Core;
using KmPs.Tests.Support;

namespace KmPs.Core.Tests.Control;

/// <summary>Control socket addresses as operators write them.</summary>
public class SocketAddressTests
{
    [Theory]
    [InlineData("unix:/node/data/internal.sock", "/node/data/internal.sock")]
    [InlineData("unix:///node/data/internal.sock", "/node/data/internal.sock")]
    [InlineData("/node/data/internal.sock", "/node/data/internal.sock")]
    [InlineData("/node/data/../data/internal.sock", "/node/data/internal.sock")]
    [InlineData("unix:rel/internal.sock", "/base/rel/internal.sock")]
    [InlineData("internal.sock", "/base/internal.sock")]
    public void Parses_operator_forms(string input, string expected) =>
        Assert.Equal(expected, SocketAddress.Parse(input, "/base").Path);

    [Fact]
    public void Data_dir_means_its_internal_sock()
    {
        using var dir = new TempDir();
        Assert.Equal(dir.File("internal.sock"), SocketAddress.Parse(dir.Path).Path);
        Assert.Equal(dir.File("internal.sock"), SocketAddress.Parse("unix:" + dir.Path).Path);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("unix:")]
    [InlineData("unix://host/x.sock")]
    [InlineData("tcp://10.0.0.1:9000")]
    [InlineData("http://localhost:42")]
    [InlineData("10.0.0.1:9000")]
    [InlineData("km1.example.org:42261")]
    [InlineData("/tmp/a\0b")]
    public void Malformed_addresses_are_InvalidSocketAddress(string? input)
    {
        var e = Assert.Throws<KmException>(() => SocketAddress.Parse(input, "/base"));
        Assert.Equal("InvalidSocketAddress", e.ErrorId);
        Assert.Equal(KmErrorCategory.InvalidArgument, e.Category);
        Assert.NotNull(e.RecommendedAction);
    }

    [Fact]
    public void Too_long_path_is_refused_before_connecting()
    {
        var e = Assert.Throws<KmException>(() => SocketAddress.Parse("/" + new string('a', 120) + "/internal.sock"));
        Assert.Contains("107 bytes", e.Message);
    }
}
