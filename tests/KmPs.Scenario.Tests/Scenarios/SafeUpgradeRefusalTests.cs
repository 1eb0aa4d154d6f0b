using KmPs.Core.Orchestration;
using KmPs.Core.Bundles;
using KmPs.Core.Status;
using KmPs.Tests.Harness;

namespace KmPs.Scenario.Tests.Scenarios;

/// <summary>Pre-flight refusals: every problem reported, nothing changed.</summary>
public class SafeUpgradeRefusalTests
{
    private static async Task<System.Management.Automation.ErrorRecord> AssertRefusedAsync(SimCluster c, string expected, string? bundle = null)
    {
        var before = UpgradeHarness.Snapshot(c);
        using var ps = new PsEngine();
        var cmd = UpgradeHarness.Command(c);
        if (bundle is not null) cmd = cmd.Replace(c.NewOrc, bundle);
        var e = UpgradeHarness.SingleError(ps.Run(cmd));
        Assert.Equal("PreflightFailed,Invoke-KmSafeUpgrade", e.FullyQualifiedErrorId);
        Assert.Contains(expected, e.Exception.Message);
        Assert.Contains("nothing was changed", e.Exception.Message);
        Assert.Equal(before, UpgradeHarness.Snapshot(c));
        foreach (var n in c.Names) Assert.True((await c.StatusAsync(n)).IsReady);
        return e;
    }

    [Fact]
    public async Task Single_node_cluster_is_refused()
    {
        await using var c = await UpgradeHarness.ClusterAsync(1);
        await AssertRefusedAsync(c, "only one key manager node");
    }

    [Fact]
    public async Task Orc_of_another_runtime_is_refused()
    {
        await using var c = await UpgradeHarness.ClusterAsync(2);
        var other = Path.Combine(c.Root, "compute.orc");
        OrcWriter.Write(other, new OrcSpec
        {
            RuntimeId = "000000000000000000000000000000000000000000000000a6d1e3ebf60dff6c", Version = new OasisVersion(0, 6, 0),
            Elf = new byte[] { 0x7f, 0x45, 0x4c, 0x46 }, Sgx = new byte[64],
        });
        await AssertRefusedAsync(c, "not a key manager bundle", other);
    }

    [Fact]
    public async Task Corrupt_orc_is_refused()
    {
        await using var c = await UpgradeHarness.ClusterAsync(2);
        var bad = Path.Combine(c.Root, "corrupt.orc");
        File.WriteAllBytes(bad, System.Security.Cryptography.RandomNumberGenerator.GetBytes(4096));
        await AssertRefusedAsync(c, "the new bundle is not usable", bad);
    }

    [Fact]
    public async Task Version_not_deployed_is_refused()
    {
        await using var c = await UpgradeHarness.ClusterAsync(2);
        var v7 = Simulator.Cluster.ClusterBuilder.WriteOrc(c.Layout, c.Spec.KmRuntimeId, "0.7.0", OrcLayout.Components);
        await AssertRefusedAsync(c, "0.7.0 is not in the deployments", v7.Path);
    }

    [Fact]
    public async Task Orc_of_the_right_version_but_another_build_is_refused()
    {
        await using var c = await UpgradeHarness.ClusterAsync(2);
        var rebuilt = Path.Combine(c.Root, "keymanager-0.6.0-rebuilt.orc");
        var other = Simulator.Cluster.ClusterBuilder.WriteOrc(c.Layout, c.Spec.KmRuntimeId, c.Options.NewVersion, OrcLayout.Components, build: "rebuilt elsewhere", path: rebuilt);
        var deployed = OrcBundle.Open(c.NewOrc).EnclaveIdentity!;
        Assert.Equal(OrcBundle.Open(c.NewOrc).Version, other.Version);
        var e = await AssertRefusedAsync(c, "is not one the network deployed for 0.6.0", rebuilt);
        Assert.Contains(other.EnclaveIdentity!.MrEnclave, e.Exception.Message);
        Assert.Contains(deployed.Short, e.Exception.Message);
        Assert.Equal(new[] { PreflightErrorIds.EnclaveNotDeployed }, UpgradeHarness.PreflightIds(e));
    }

    [Fact]
    public async Task Testnet_orc_on_Mainnet_nodes_is_refused_by_network_name()
    {
        await using var c = await UpgradeHarness.ClusterAsync(2, configure: o => o.KmRuntimeId = KmNetworks.MainnetKeyManager);
        var testnet = Path.Combine(c.Root, "keymanager-0.6.0-testnet.orc");
        Simulator.Cluster.ClusterBuilder.WriteOrc(c.Layout, KmNetworks.TestnetKeyManager, c.Options.NewVersion, OrcLayout.Components, path: testnet);
        var e = await AssertRefusedAsync(c, "is a Testnet key manager bundle", testnet);
        Assert.Contains("the nodes run the Mainnet key manager", e.Exception.Message);
        Assert.Equal(new[] { PreflightErrorIds.BundleOtherNetwork }, UpgradeHarness.PreflightIds(e));
    }

    [Fact]
    public async Task Orc_whose_manifest_is_not_the_deployed_one_is_refused_on_25_nodes()
    {
        // The same enclave (same .sgxs and SIGSTRUCT), another manifest: a 25.0+ deployment's
        // bundle_checksum (the manifest hash) names the deployed bundle, not this one.
        await using var c = await UpgradeHarness.ClusterAsync(2, configure: o => o.SoftwareVersion = "25.6.0");
        var renamed = Path.Combine(c.Root, "keymanager-0.6.0-renamed.orc");
        var deployed = OrcBundle.Open(c.NewOrc);
        var spec = OrcSpec.Simulated(c.Spec.KmRuntimeId, deployed.Version, OrcLayout.Components) with { Name = "keymanager-renamed" };
        var b = OrcWriter.Write(renamed, spec);
        Assert.Equal(deployed.EnclaveIdentity, b.EnclaveIdentity);
        var e = await AssertRefusedAsync(c, $"has manifest hash {b.ManifestHash}", renamed);
        Assert.Contains(deployed.ManifestHash, e.Exception.Message);
        Assert.Equal(new[] { PreflightErrorIds.BundleChecksumMismatch }, UpgradeHarness.PreflightIds(e));
    }

    [Fact]
    public async Task Config_listing_two_bundles_is_refused()
    {
        await using var c = await UpgradeHarness.ClusterAsync(3);
        // A config edited by hand to list both bundles (the running node read the old, single one).
        var cfg = c.Layout.ConfigFile("km2");
        File.WriteAllText(cfg, File.ReadAllText(cfg).Replace($"    - \"{c.OldOrc}\"", $"    - \"{c.OldOrc}\"\n    - \"{c.NewOrc}\""));
        await AssertRefusedAsync(c, "km2");
    }

    [Fact]
    public async Task Node_not_ready_is_refused_with_every_problem_listed()
    {
        await using var c = await UpgradeHarness.ClusterAsync(3);
        Simulator.Cluster.NodeProcesses.Stop(c.Layout, "km3", TimeSpan.FromSeconds(20));
        var cfg = c.Layout.ConfigFile("km2");
        File.WriteAllText(cfg, File.ReadAllText(cfg).Replace($"    - \"{c.OldOrc}\"", $"    - \"{c.OldOrc}\"\n    - \"{c.NewOrc}\""));
        using var ps = new PsEngine();
        var e = UpgradeHarness.SingleError(ps.Run(UpgradeHarness.Command(c)));
        Assert.Contains("km3: cannot read its status", e.Exception.Message);
        Assert.Contains("km2:", e.Exception.Message);
    }

    [Fact]
    public async Task The_same_node_twice_is_refused()
    {
        await using var c = await UpgradeHarness.ClusterAsync(2);
        var before = UpgradeHarness.Snapshot(c);
        using var ps = new PsEngine();
        var e = UpgradeHarness.SingleError(ps.Run(
            $"$n = @(Import-KmNode '{c.Layout.InventoryFile}'); Invoke-KmSafeUpgrade -Node @($n[0], $n[0], $n[1]) -BundlePath '{c.NewOrc}' -JournalPath '{UpgradeHarness.Journal(c)}' -Confirm:$false"));
        Assert.Equal("PreflightFailed,Invoke-KmSafeUpgrade", e.FullyQualifiedErrorId);
        Assert.Contains("'km1' is given 2 times", e.Exception.Message);
        Assert.Equal(before, UpgradeHarness.Snapshot(c));
    }

    [Fact]
    public async Task A_second_run_over_the_same_journal_is_refused_while_the_first_holds_it()
    {
        await using var c = await UpgradeHarness.ClusterAsync(2);
        var before = UpgradeHarness.Snapshot(c);
        // What another run in progress holds (another terminal, a retried CI job).
        using (new FileStream(UpgradeHarness.Journal(c) + ".lock", FileMode.Create, FileAccess.ReadWrite, FileShare.None))
        {
            var e = UpgradeHarness.SingleError(UpgradeHarness.Run(c));
            Assert.Equal("JournalInUse,Invoke-KmSafeUpgrade", e.FullyQualifiedErrorId);
            Assert.Contains("Another Invoke-KmSafeUpgrade run is using the journal", e.Exception.Message);
            Assert.Contains("Let the other run finish", e.ErrorDetails.RecommendedAction);
            Assert.Equal(before, UpgradeHarness.Snapshot(c));
            foreach (var n in c.Names) Assert.True((await c.StatusAsync(n)).IsReady, n);
        }
        // Once the other run lets go, the same command runs.
        var result = UpgradeHarness.Run(c).AssertClean().Single<UpgradeResult>();
        Assert.True(result.Success);
    }
}
