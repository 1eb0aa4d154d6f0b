using KmPs.Orchestration;
using KmPs.Tests.Infrastructure;

namespace KmPs.Tests.Module;

/// <summary>Invoke-KmSafeUpgrade in a hosted engine against a simulated cluster.</summary>
public class SafeUpgradeModuleTests
{
    private static Dictionary<string, object?> Variables(SimCluster c) => new()
    {
        ["inv"] = c.Layout.InventoryFile, ["orc"] = c.NewOrc, ["journal"] = Path.Combine(c.Root, "journal.json"),
    };

    [Fact]
    public async Task Two_nodes_upgrade_one_at_a_time()
    {
        // A first half of one node: its verification must not trip over a scalar where a list was meant.
        await using var c = await SimCluster.StartAsync(nodes: 2, epochMs: 300, upgradeIn: 4);
        using var ps = new PsEngine();
        var r = ps.Run("Invoke-KmSafeUpgrade -InventoryPath $inv -BundlePath $orc -JournalPath $journal -Confirm:$false -TimeoutSec 60", Variables(c));
        r.AssertClean();
        var result = r.Single<UpgradeResult>();
        Assert.True(result.Success);
        Assert.Equal(new[] { "km2" }, result.Plan!.FirstHalf);
        Assert.Equal(2, c.Audit().Holders);
    }
}
