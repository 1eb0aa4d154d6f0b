using KmPs.Simulator.Cluster;

namespace KmPs.Tools;

/// <summary>Small cluster manipulations the tools share.</summary>
public static class ClusterTools
{
    /// <summary>
    /// Moves the deployment of <paramref name="version"/> to <paramref name="epochs"/> epochs after the
    /// current one: starting the nodes takes a varying time, so "deployed in N epochs" counts from
    /// when they are ready. Returns the current epoch and the upgrade epoch.
    /// </summary>
    public static (ulong Now, ulong UpgradeEpoch) DeployIn(ClusterLayout layout, string version, int epochs)
    {
        var chain = new Chain(layout);
        var deployments = chain.Deployments();
        var now = EpochClock.Of(ClusterSpec.Load(layout)).Now;
        var upgradeEpoch = now + (ulong)epochs;
        deployments.First(d => d.Version == version).ValidFrom = upgradeEpoch;
        chain.SaveDeployments(deployments);
        return (now, upgradeEpoch);
    }
}
