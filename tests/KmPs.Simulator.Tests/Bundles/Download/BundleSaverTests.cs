using KmPs.Core.Bundles;
using KmPs.Core.Bundles.Download;
using KmPs.Core.Status;
using KmPs.Core;
using KmPs.Tests.Support;
using KmPs.Tests.Harness;

namespace KmPs.Simulator.Tests.Bundles.Download;

/// <summary>Download, verification and the final rename, without PowerShell.</summary>
public class BundleSaverTests
{
    private static readonly OasisVersion V6 = new(0, 6, 0);

    private static BundleSaveRequest Request(ReleaseFixture f, KmNetwork network = KmNetwork.Mainnet, OasisVersion? version = null,
        bool force = false, ChainDeployments? chain = null, string? destination = null)
    {
        var v = version ?? V6;
        return new BundleSaveRequest
        {
            Uri = KmRelease.AssetUri(f.Server.BaseUri, v, network), Version = v, Network = network, Force = force, Chain = chain,
            Destination = destination ?? f.Saved(KmRelease.FileName(v, network)),
        };
    }

    private static BundleDownloader Downloader() => new(new HttpDownloadOptions { NoProxy = true });

    private static ChainDeployments Chain(string runtimeId, params (string Version, ulong ValidFrom)[] deployments) => new(new RegistryRuntime
    {
        Id = runtimeId, Kind = RegistryRuntime.KindKeyManager,
        Deployments = deployments.Select(d => new RuntimeDeployment { Version = OasisVersion.Parse(d.Version), ValidFrom = d.ValidFrom }).ToArray(),
    }, "km1");

    [Fact]
    public async Task A_good_bundle_is_saved_under_its_release_name_and_says_it_checked_only_its_digests()
    {
        await using var f = await ReleaseFixture.StartAsync();
        var published = f.Publish("v0.6.0");
        using var d = Downloader();
        var r = Request(f);
        var saved = await BundleSaver.SaveAsync(d, r);

        Assert.Equal(f.Saved("keymanager-0.6.0.orc"), saved.Path);
        Assert.Equal(File.ReadAllBytes(f.Server.AssetPath("v0.6.0")), File.ReadAllBytes(saved.Path));
        Assert.Equal(new[] { "keymanager-0.6.0.orc" }, Directory.GetFiles(f.Out).Select(Path.GetFileName));
        Assert.Equal("0.6.0", saved.Version);
        Assert.Equal("v0.6.0", saved.Tag);
        Assert.Equal(KmNetwork.Mainnet, saved.Network);
        Assert.Equal(KmRelease.MainnetRuntimeId, saved.RuntimeId);
        Assert.Equal(new FileInfo(saved.Path).Length, saved.Size);
        Assert.Equal(BundleStaging.Digest(saved.Path), saved.Digest);
        Assert.Equal(r.Uri.ToString(), saved.SourceUri);
        Assert.Equal(SavedKmBundle.DigestsOnly, saved.VerifiedAgainst);
        Assert.False(saved.DeploymentVerified);
        Assert.Equal("digests only", saved.Verification);
        Assert.Equal(published.ContentDigest, OrcBundle.Open(saved.Path).ContentDigest);
    }

    [Fact]
    public async Task With_the_deployments_the_version_must_be_deployed()
    {
        await using var f = await ReleaseFixture.StartAsync();
        f.Publish("v0.6.0");
        using var d = Downloader();
        var saved = await BundleSaver.SaveAsync(d, Request(f, chain: Chain(KmRelease.MainnetRuntimeId, ("0.5.0", 10), ("0.6.0", 42))));
        Assert.True(saved.DeploymentVerified);
        Assert.Equal(42UL, saved.ValidFrom);
        Assert.Equal("km1", saved.Node);
        Assert.Contains("deployment 0.6.0 (valid from epoch 42) read from km1", saved.VerifiedAgainst);

        var before = f.OutHash();
        var e = await Assert.ThrowsAsync<KmException>(() => BundleSaver.SaveAsync(d, Request(f, force: true, chain: Chain(KmRelease.MainnetRuntimeId, ("0.5.0", 10)))));
        Assert.Equal(DownloadErrorIds.BundleNotDeployed, e.ErrorId);
        Assert.Contains("0.5.0@10", e.Message);
        Assert.Equal(before, f.OutHash());
    }

    [Fact]
    public async Task The_right_version_of_another_build_is_refused_when_its_identity_is_not_deployed()
    {
        await using var f = await ReleaseFixture.StartAsync();
        var deployed = ReleaseFixture.WriteBundle(f.Dir.File("deployed.orc"), KmRelease.MainnetRuntimeId, "0.6.0", build: 0);
        f.Publish("v0.6.0", build: 7);
        using var d = Downloader();
        var chain = new ChainDeployments(new RegistryRuntime
        {
            Id = KmRelease.MainnetRuntimeId, Kind = RegistryRuntime.KindKeyManager,
            Deployments = new[] { new RuntimeDeployment { Version = V6, ValidFrom = 42, Tee = Tee(deployed.EnclaveIdentity!) } },
        }, "km1");
        var e = await Assert.ThrowsAsync<KmException>(() => BundleSaver.SaveAsync(d, Request(f, chain: chain)));
        Assert.Equal(DeploymentErrorIds.EnclaveNotDeployed, e.ErrorId);
        Assert.Contains(deployed.EnclaveIdentity!.Short, e.Message);
        Assert.Contains("is not the build the network deployed", e.Message);
        Assert.Empty(Directory.GetFileSystemEntries(f.Out));
    }

    /// <summary>CBOR(SGXConstraints v1) allowing one enclave, as the simulator's deployments carry it.</summary>
    private static byte[] Tee(KmPs.Core.Sgx.EnclaveIdentity enclave) =>
        KmPs.Core.Wire.CborCodec.Encode(new SgxConstraints { Version = 1, Enclaves = new[] { enclave } }.ToCbor());

    [Fact]
    public async Task A_tampered_file_is_a_digest_mismatch_and_leaves_nothing()
    {
        await using var f = await ReleaseFixture.StartAsync();
        f.PublishTampered("v0.6.0");
        using var d = Downloader();
        var r = Request(f);
        var e = await Assert.ThrowsAsync<KmException>(() => BundleSaver.SaveAsync(d, r));
        Assert.Equal(BundleErrorIds.BundleDigestMismatch, e.ErrorId);
        Assert.Contains(r.Uri.ToString(), e.Message);
        Assert.Contains("Nothing was saved", e.Message);
        Assert.Empty(Directory.GetFileSystemEntries(f.Out));
    }

    [Theory]
    [InlineData(KmNetwork.Mainnet, KmRelease.TestnetRuntimeId, DownloadErrorIds.BundleWrongNetwork)]
    [InlineData(KmNetwork.Testnet, KmRelease.MainnetRuntimeId, DownloadErrorIds.BundleWrongNetwork)]
    [InlineData(KmNetwork.Mainnet, TestOrcs.Sapphire, DownloadErrorIds.BundleWrongRuntime)]
    public async Task A_bundle_of_another_network_or_runtime_is_refused(KmNetwork network, string servedRuntime, string errorId)
    {
        await using var f = await ReleaseFixture.StartAsync();
        f.Publish(KmRelease.Tag(V6, network), servedRuntime);
        using var d = Downloader();
        var e = await Assert.ThrowsAsync<KmException>(() => BundleSaver.SaveAsync(d, Request(f, network)));
        Assert.Equal(errorId, e.ErrorId);
        Assert.Contains(servedRuntime, e.Message);
        Assert.Empty(Directory.GetFileSystemEntries(f.Out));
    }

    [Fact]
    public async Task Another_version_under_the_tag_is_refused()
    {
        await using var f = await ReleaseFixture.StartAsync();
        f.Publish("v0.6.0", version: "0.5.0");
        using var d = Downloader();
        var e = await Assert.ThrowsAsync<KmException>(() => BundleSaver.SaveAsync(d, Request(f)));
        Assert.Equal(DownloadErrorIds.BundleVersionMismatch, e.ErrorId);
        Assert.Contains("0.5.0", e.Message);
        Assert.Empty(Directory.GetFileSystemEntries(f.Out));
    }

    [Fact]
    public async Task An_existing_file_is_kept_when_identical_refused_when_different_and_replaced_with_Force()
    {
        await using var f = await ReleaseFixture.StartAsync();
        f.Publish("v0.6.0");
        using var d = Downloader();
        var first = await BundleSaver.SaveAsync(d, Request(f));
        var again = await BundleSaver.SaveAsync(d, Request(f));
        Assert.True(again.Unchanged);
        Assert.Equal(first.Digest, again.Digest);
        Assert.Single(Directory.GetFiles(f.Out));

        f.Publish("v0.6.0", build: 3);
        var before = f.OutHash();
        var e = await Assert.ThrowsAsync<KmException>(() => BundleSaver.SaveAsync(d, Request(f)));
        Assert.Equal(DownloadErrorIds.BundleFileExists, e.ErrorId);
        Assert.Equal(before, f.OutHash());

        var forced = await BundleSaver.SaveAsync(d, Request(f, force: true));
        Assert.True(forced.Replaced);
        Assert.Equal(File.ReadAllBytes(f.Server.AssetPath("v0.6.0")), File.ReadAllBytes(forced.Path));
        Assert.Single(Directory.GetFiles(f.Out));
    }

    [Fact]
    public async Task A_resumed_download_that_fails_verification_is_downloaded_again_from_zero()
    {
        await using var f = await ReleaseFixture.StartAsync();
        // No validators: the server cannot tell the client that the file changed between the two halves.
        f.Server.SendETag = false;
        f.Server.SendLastModified = false;
        f.Publish("v0.6.0");
        f.Server.CutNext(100_000);
        using var d = Downloader();
        var r = Request(f);
        var cut = await Assert.ThrowsAsync<KmException>(() => BundleSaver.SaveAsync(d, r));
        Assert.Equal(DownloadErrorIds.BundleDownloadInterrupted, cut.ErrorId);
        Assert.False(File.Exists(r.Destination));
        Assert.True(File.Exists(r.Partial));

        f.Publish("v0.6.0", build: 5); // same size, other bytes
        var log = new List<string>();
        var saved = await BundleSaver.SaveAsync(d, r, null, log.Add);
        Assert.Equal(File.ReadAllBytes(f.Server.AssetPath("v0.6.0")), File.ReadAllBytes(saved.Path));
        Assert.Equal(0, saved.ResumedFrom);
        Assert.Contains(log, l => l.StartsWith("Resumed", StringComparison.Ordinal));
        Assert.Contains(log, l => l.Contains("failed verification") && l.Contains("again from the start"));
        Assert.Equal(new[] { saved.Path }, Directory.GetFileSystemEntries(f.Out));
    }
}
