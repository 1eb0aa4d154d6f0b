using System.Management.Automation;
using KmPs.Core.Orchestration;
using KmPs.Simulator.Cluster;
using KmPs.Core.Status;
using KmPs.Tests.Support;
using KmPs.Tests.Harness;

namespace KmPs.Scenario.Tests.Scenarios;

/// <summary>Runs Invoke-KmSafeUpgrade against a simulated cluster in a hosted engine and checks the outcome.</summary>
public static class UpgradeHarness
{
    public const int EpochMs = 250;

    public static Task<SimCluster> ClusterAsync(int nodes, SchemaGeneration g = SchemaGeneration.V24, int upgradeIn = 8, Action<ClusterOptions>? configure = null) =>
        SimCluster.StartAsync(nodes, g, EpochMs, upgradeIn, configure: configure);

    /// <summary>The ErrorIds of the problems a PreflightFailed error lists on its TargetObject.</summary>
    public static string[] PreflightIds(ErrorRecord e) =>
        ((e.TargetObject is PSObject ps ? ps.BaseObject : e.TargetObject) as IEnumerable<object> ?? Array.Empty<object>())
        .Select(o => o is PSObject p ? p.BaseObject : o).OfType<PreflightProblem>().Select(p => p.ErrorId).ToArray();

    public static string Journal(SimCluster c) => Path.Combine(c.Root, "journal.json");

    public static string Command(SimCluster c, string extra = "-Confirm:$false", int timeoutSec = 30) =>
        $"Invoke-KmSafeUpgrade -InventoryPath '{c.Layout.InventoryFile}' -BundlePath '{c.NewOrc}' -JournalPath '{Journal(c)}' -TimeoutSec {timeoutSec} -NodeTimeoutSec 30 {extra}";

    public static PsResult Run(SimCluster c, string extra = "-Confirm:$false", int timeoutSec = 30, RecordingHost? host = null, Action<PowerShell>? watch = null)
    {
        using var ps = new PsEngine(host);
        return ps.Run(Command(c, extra, timeoutSec), watch: watch);
    }

    /// <summary>Every byte of every data dir, config, bundle and the journal.</summary>
    public static string Snapshot(SimCluster c) =>
        TreeHash.Of(c.Layout.NodesDir, c.Layout.BundlesDir, Journal(c));

    public static async Task AssertUpgradedAsync(SimCluster c, UpgradeResult result, string checksumBefore)
    {
        Assert.True(result.Success);
        Assert.Equal(c.Options.NewVersion, result.NewVersion);
        Assert.Equal(checksumBefore, result.Checksum);
        var statuses = await Task.WhenAll(c.Names.Select(c.StatusAsync));
        Assert.All(statuses, s => Assert.True(s.IsReady, s.Name + " not ready"));
        Assert.All(statuses, s => Assert.Equal(OasisVersion.Parse(c.Options.NewVersion), s.RegisteredVersion));
        Assert.All(statuses, s => Assert.Equal(checksumBefore, s.Checksum));
        var audit = c.Audit();
        Assert.Equal(statuses.Length, audit.Holders);
        Assert.True(audit.KeyMaterialExists);
    }

    /// <summary>After a stopped run: the key material exists, and nodes outside <paramref name="touched"/> are as they were.</summary>
    public static async Task AssertStoppedSafelyAsync(SimCluster c, IEnumerable<string> untouched, string checksumBefore)
    {
        var audit = c.Audit();
        Assert.True(audit.KeyMaterialExists, audit.ToString());
        Assert.True(audit.Holders >= 1, audit.ToString());
        foreach (var n in untouched)
        {
            var s = await c.StatusAsync(n);
            Assert.True(s.IsReady, n + " should still be ready");
            Assert.Equal(OasisVersion.Parse(c.Options.OldVersion), s.RegisteredVersion);
            Assert.Equal(checksumBefore, s.Checksum);
            Assert.Contains(c.OldOrc, File.ReadAllText(c.Layout.ConfigFile(n)));
        }
    }

    public static ErrorRecord SingleError(PsResult r) =>
        Assert.Single(r.Errors.Concat(r.Terminating is RuntimeException t ? new[] { t.ErrorRecord } : Array.Empty<ErrorRecord>()));
}
