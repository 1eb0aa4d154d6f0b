using KmPs.Core.Bundles;
using KmPs.Core.Bundles.Download;
using KmPs.Core.Status;
using KmPs.Core;
using KmPs.Tests.Support;

namespace KmPs.Core.Tests.Bundles.Download;

public class KmReleaseTests
{
    private static readonly OasisVersion V6 = new(0, 6, 0);

    [Fact]
    public void The_default_source_is_the_key_manager_paratimes_github_release()
    {
        Assert.Equal("https://github.com/oasisprotocol/keymanager-paratime/releases/download/v0.6.0/keymanager.orc",
            KmRelease.AssetUri(null, V6, KmNetwork.Mainnet).ToString());
        Assert.Equal("https://github.com/oasisprotocol/keymanager-paratime/releases/download/v0.6.0-testnet/keymanager.orc",
            KmRelease.AssetUri(null, V6, KmNetwork.Testnet).ToString());
    }

    [Theory]
    [InlineData("https://mirror.example.org/km/", "https://mirror.example.org/km/v0.6.0/keymanager.orc")]
    [InlineData("https://mirror.example.org/km", "https://mirror.example.org/km/v0.6.0/keymanager.orc")]
    [InlineData("http://127.0.0.1:8080", "http://127.0.0.1:8080/v0.6.0/keymanager.orc")]
    public void A_mirror_has_the_same_layout_under_its_base(string baseUri, string expected) =>
        Assert.Equal(expected, KmRelease.AssetUri(new Uri(baseUri), V6, KmNetwork.Mainnet).ToString());

    [Theory]
    [InlineData("0.6.0", null, KmNetwork.Mainnet)]
    [InlineData("v0.6.0", null, KmNetwork.Mainnet)]
    [InlineData("0.6.0", KmNetwork.Testnet, KmNetwork.Testnet)]
    [InlineData("0.6.0-testnet", null, KmNetwork.Testnet)]
    [InlineData("v0.6.0-testnet", KmNetwork.Testnet, KmNetwork.Testnet)]
    public void Versions_are_read_as_operators_write_them(string text, KmNetwork? given, KmNetwork network)
    {
        var (v, n) = KmRelease.ParseVersion(text, given);
        Assert.Equal(V6, v);
        Assert.Equal(network, n);
    }

    [Theory]
    [InlineData("latest", null, DownloadErrorIds.InvalidVersion)]
    [InlineData("0.6.0.1", null, DownloadErrorIds.InvalidVersion)]
    [InlineData("-testnet", null, DownloadErrorIds.InvalidVersion)]
    [InlineData("0.6.0-testnet", KmNetwork.Mainnet, DownloadErrorIds.NetworkVersionConflict)]
    public void Bad_versions_are_refused(string text, KmNetwork? given, string errorId) =>
        Assert.Equal(errorId, Assert.Throws<KmException>(() => KmRelease.ParseVersion(text, given)).ErrorId);

    [Fact]
    public void Runtime_ids_name_their_network()
    {
        Assert.Equal(KmNetwork.Mainnet, KmRelease.NetworkOf(TestOrcs.MainnetKm));
        Assert.Equal(KmNetwork.Testnet, KmRelease.NetworkOf(TestOrcs.TestnetKm.ToUpperInvariant()));
        Assert.Null(KmRelease.NetworkOf(TestOrcs.Sapphire));
        Assert.Equal("keymanager-0.6.0-testnet.orc", KmRelease.FileName(V6, KmNetwork.Testnet));
    }
}
