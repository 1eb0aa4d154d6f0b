using KmPs.Core.Config;
using KmPs.Tests.Support;
using KmPs.Tests.Harness;

namespace KmPs.Scenario.Tests.Safety;

/// <summary>The same through a whole upgrade: the ORC given from a workspace that is cleaned afterwards.</summary>
public class BundlePinningScenarioTests
{
    [Fact]
    public async Task Nodes_upgraded_from_a_workspace_ORC_restart_after_the_workspace_is_gone()
    {
        await using var c = await Scenarios.UpgradeHarness.ClusterAsync(2);
        var before = (await c.StatusAsync("km1")).Checksum!;
        using var workspace = new TempDir("kmws");
        var orc = Path.Combine(workspace.Path, Path.GetFileName(c.NewOrc));
        File.Move(c.NewOrc, orc);
        using (var ps = new PsEngine())
        {
            var r = ps.Run($"Invoke-KmSafeUpgrade -InventoryPath '{c.Layout.InventoryFile}' -BundlePath '{orc}' -JournalPath '{Scenarios.UpgradeHarness.Journal(c)}' -TimeoutSec 30 -NodeTimeoutSec 30 -Confirm:$false").AssertClean();
            Assert.True(r.Single<KmPs.Core.Orchestration.UpgradeResult>().Success);
        }
        File.Delete(orc);
        foreach (var n in new[] { "km1", "km2" })
        {
            Assert.Equal(c.NewOrc, NodeConfig.Load(c.Layout.ConfigFile(n)).FindKmBundle()!.FullPath);
            Simulator.Cluster.NodeProcesses.Stop(c.Layout, n, TimeSpan.FromSeconds(60));
            Simulator.Cluster.NodeProcesses.Start(c.Layout, n, TimeSpan.FromSeconds(60));
            var s = await SimCluster.EventuallyAsync(() => c.StatusAsync(n), x => x.IsReady, TimeSpan.FromSeconds(30), $"{n} ready after a restart");
            Assert.Equal(before, s.Checksum);
        }
    }
}
