using KmPs.Core.Config;
using KmPs.Core.Control;
using KmPs.Core.Diagnosis;
using KmPs.Core.Policy;
using KmPs.Simulator.Cluster;
using KmPs.Core.Status;
using KmPs.Tests.Harness;

namespace KmPs.Scenario.Tests.Scenarios;

/// <summary>The simulated cluster's key manager policy, as real node processes: served, changed at an epoch, obeyed by replication.</summary>
public class PolicySimulatorTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);   // an upper bound only: a node process can take 10-20 s to start on 2 busy cores

    private static void UpgradeOnDisk(SimCluster c, string node)
    {
        Directory.Delete(c.Layout.LocalStorageDir(node, c.Spec.KmRuntimeId), true);
        ConfigEditor.Save(ConfigEditor.SetKmBundlePath(NodeConfig.Load(c.Layout.ConfigFile(node)), c.NewOrc));
    }

    private static Task<KmPolicyStatus> PolicyAsync(SimCluster c, string node) =>
        KeyManagerClient.For(SocketAddress.Parse(c.Socket(node))).GetPolicyStatusAsync(c.Spec.KmRuntimeId, TimeSpan.FromSeconds(5));

    [Fact]
    public async Task The_default_cluster_lets_the_new_enclave_replicate_from_the_old()
    {
        await using var c = await SimCluster.StartAsync(2, upgradeIn: 1000);
        var s = await PolicyAsync(c, "km1");
        var old = KmPs.Core.Bundles.OrcBundle.Open(c.OldOrc).EnclaveIdentity!;
        var @new = KmPs.Core.Bundles.OrcBundle.Open(c.NewOrc).EnclaveIdentity!;
        Assert.Equal(UpgradePolicyOutcome.Allowed, ReplicationPolicy.ForUpgrade(s, new[] { old }, @new).Outcome);
        Assert.Equal(ControlMethods.KeyManager, s.Service); // 24.3.2
        // The committee is the cluster's nodes, by their identity keys.
        var ids = (await Task.WhenAll(c.Names.Select(c.StatusAsync))).Select(x => x.IdentityNode).ToHashSet();
        Assert.All(s.Nodes, n => Assert.Contains(n, ids));
        // The enclaves registered the policy's checksum.
        Assert.Equal(s.Policy!.Checksum, (await c.StatusAsync("km1")).PolicyChecksum);
    }

    [Fact]
    public async Task A_new_enclave_the_policy_does_not_know_stays_starting_until_the_update_takes_effect()
    {
        await using var c = await SimCluster.StartAsync(3, upgradeIn: 2, configure: o => o.PolicyAllowsUpgrade = false);
        var checksum = (await c.StatusAsync("km1")).Checksum;
        NodeProcesses.Stop(c.Layout, "km3", Wait);
        UpgradeOnDisk(c, "km3");
        NodeProcesses.Start(c.Layout, "km3", Wait);
        await SimCluster.EventuallyAsync(() => Task.FromResult(c.Log("km3")), l => l.Contains("failed to initialize enclave"), Wait, "refusal logged");
        Assert.Equal(KmStatusWords.Starting, (await c.StatusAsync("km3")).Status);
        Assert.True(c.Epoch >= (ulong)c.Options.UpgradeInEpochs + 1, "the upgrade epoch has passed");
        var found = UpgradeProblemFinder.Scan(File.ReadLines(c.Layout.LogFile("km3")), "km3", c.Layout.LogFile("km3"));
        Assert.Equal("PolicyForbidsReplication", Assert.Single(found).Problem);
        Assert.Contains("mismatched enclave identity", c.Log("km3"));

        // The signers' update, in effect three epochs from now: not before.
        var at = ClusterControl.SetPolicy(c.Layout, ClusterControl.UpgradePolicy(c.Layout, c.Options.OldVersion, c.Options.NewVersion), c.Epoch + 3);
        var ready = await SimCluster.EventuallyAsync(() => c.StatusAsync("km3"), s => s.IsReady, Wait, "km3 ready");
        Assert.True(ready.Epoch >= at, $"ready at epoch {ready.Epoch}, before the policy's epoch {at}");
        Assert.Equal(checksum, ready.Checksum);
        Assert.Equal(2u, (await PolicyAsync(c, "km1")).Policy!.Serial);
    }

    [Fact]
    public async Task From_25_6_a_scheduled_policy_shows_as_next_policy_until_its_epoch()
    {
        await using var c = await SimCluster.StartAsync(2, upgradeIn: 1000, configure: o => { o.PolicyAllowsUpgrade = false; o.SoftwareVersion = "25.6.0"; });
        var now = c.Epoch;
        var at = ClusterControl.SetPolicy(c.Layout, ClusterControl.UpgradePolicy(c.Layout, c.Options.OldVersion, c.Options.NewVersion), now + 6, visibleFrom: now);
        var pending = await PolicyAsync(c, "km2");
        Assert.Equal(ControlMethods.KeyManagerSecrets, pending.Service);
        Assert.Equal(1u, pending.Policy!.Serial);
        Assert.Equal(2u, pending.NextPolicy!.Serial);
        Assert.Equal(UpgradePolicyOutcome.AllowedFromNextEpoch, ReplicationPolicy.ForUpgrade(pending,
            new[] { KmPs.Core.Bundles.OrcBundle.Open(c.OldOrc).EnclaveIdentity! }, KmPs.Core.Bundles.OrcBundle.Open(c.NewOrc).EnclaveIdentity!).Outcome);
        // A 25.6 enclave registers the scheduled policy's checksum (cached.rs Policy::init).
        await SimCluster.EventuallyAsync(() => c.StatusAsync("km2"), s => s.PolicyChecksum == pending.NextPolicy.Checksum, Wait, "next policy checksum registered");
        var applied = await SimCluster.EventuallyAsync(() => PolicyAsync(c, "km2"), s => s.NextPolicy is null, Wait, "next policy applied");
        // The answer's epoch is read before its status (so it may be one behind on a busy machine): the
        // chain's epoch read after the status is the one that bounds when the policy took effect.
        Assert.True(c.Epoch >= at, $"applied by epoch {c.Epoch}, before its epoch {at}");
        Assert.Equal(2u, applied.Policy!.Serial);
        // Serials only increase.
        Assert.Throws<ArgumentException>(() => ClusterControl.SetPolicy(c.Layout, new Simulator.Shapes.SimPolicy { Serial = applied.Policy.Serial }));
    }
}
