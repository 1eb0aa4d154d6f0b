using KmPs.Core.Bundles;
using KmPs.Core.Bundles.Download;
using KmPs.Core.Status;
using KmPs.Core;
using KmPs.Tests.Support;

namespace KmPs.Core.Tests.Bundles.Download;

/// <summary>Where Save-KmRuntimeBundle saves and which addresses it takes, decided before any download (the downloads: KmPs.Simulator.Tests).</summary>
public class BundleSaveRequestTests
{
    private static readonly OasisVersion V6 = new(0, 6, 0);

    [Fact]
    public void The_destination_is_a_file_or_the_release_name_in_a_folder()
    {
        using var dir = new TempDir("kmd");
        Assert.Equal(dir.File("keymanager-0.6.0.orc"), BundleSaver.ResolveDestination(null, dir.Path, V6, KmNetwork.Mainnet));
        Assert.Equal(dir.File("keymanager-0.6.0-testnet.orc"), BundleSaver.ResolveDestination(dir.Path, "/", V6, KmNetwork.Testnet));
        Assert.Equal(dir.File("km.orc"), BundleSaver.ResolveDestination("km.orc", dir.Path, V6, KmNetwork.Mainnet));
        foreach (var bad in new[] { "missing/km.orc", "missing/" })
            Assert.Equal(DownloadErrorIds.DownloadDestinationInvalid,
                Assert.Throws<KmException>(() => BundleSaver.ResolveDestination(bad, dir.Path, V6, KmNetwork.Mainnet)).ErrorId);
    }

    [Theory]
    [InlineData("ftp://example.org/km.orc", false, DownloadErrorIds.InvalidDownloadUri)]
    [InlineData("keymanager.orc", false, DownloadErrorIds.InvalidDownloadUri)]
    [InlineData("http://example.org/km.orc", true, DownloadErrorIds.CredentialOverHttp)]
    public void Addresses_are_absolute_http_and_credentials_go_only_over_https(string uri, bool credential, string errorId) =>
        Assert.Equal(errorId, Assert.Throws<KmException>(() => BundleSaver.CheckUri(uri, credential)).ErrorId);

    [Fact]
    public void Credentials_over_http_only_when_allowed() =>
        Assert.Equal("http", BundleSaver.CheckUri("http://example.org/km.orc", true, allowUnencryptedAuthentication: true).Scheme);
}
