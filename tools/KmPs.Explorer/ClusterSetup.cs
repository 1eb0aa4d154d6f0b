using KmPs.Core.Bundles;
using KmPs.Explorer.Model;
using KmPs.Core.Inventory;
using KmPs.Simulator.Cluster;
using KmPs.Core.Status;
using KmPs.Tools;

namespace KmPs.Explorer;

/// <summary>
/// The files a cluster of the model needs on this machine: the new ORC (Invoke-KmSafeUpgrade opens
/// it and pins its digest), the old one (for its enclave identity), and the inventory (Import-KmNode
/// reads it); everything else lives in the model. One per (node count, generation), reused.
/// </summary>
public sealed class ClusterSetup
{
    public required int Nodes { get; init; }
    public required SchemaGeneration Generation { get; init; }
    public required string InventoryPath { get; init; }
    public required string BundlePath { get; init; }
    public required string OldEnclave { get; init; }
    public required string NewEnclave { get; init; }
    public required string NewDigest { get; init; }

    /// <summary>Epochs from the cluster's start until the new version's deployment is active.</summary>
    public const int UpgradeInEpochs = 2;

    public ModelCluster NewCluster() => ModelCluster.Create(Nodes, Generation, OldEnclave, NewEnclave, NewDigest, UpgradeInEpochs);

    public static ClusterSetup Create(string dir, int nodes, SchemaGeneration g)
    {
        var layout = new ClusterLayout(Path.Combine(dir, $"n{nodes}-g{Generations.Text(g)}"));
        Directory.CreateDirectory(layout.BundlesDir);
        // The simulator's ORCs (ClusterBuilder.WriteOrc): its legacy manifest before 24.0, components after.
        var kind = g >= SchemaGeneration.V24 ? OrcLayout.Components : OrcLayout.Legacy;
        var oldOrc = File.Exists(ClusterBuilder.OrcPath(layout, ModelCluster.OldVersion)) ? OrcBundle.Open(ClusterBuilder.OrcPath(layout, ModelCluster.OldVersion))
            : ClusterBuilder.WriteOrc(layout, ModelCluster.RuntimeId, ModelCluster.OldVersion, kind);
        var newOrc = File.Exists(ClusterBuilder.OrcPath(layout, ModelCluster.NewVersion)) ? OrcBundle.Open(ClusterBuilder.OrcPath(layout, ModelCluster.NewVersion))
            : ClusterBuilder.WriteOrc(layout, ModelCluster.RuntimeId, ModelCluster.NewVersion, kind);
        // The model's nodes, as an operator's inventory names them (scripts are never run: the model host stops and starts).
        // Enclaves as attestation and the policy name them: the bundle's MRENCLAVE and MRSIGNER (OrcBundle.EnclaveIdentity).
        var oldEnclave = oldOrc.EnclaveIdentity!.ToString();
        var newEnclave = newOrc.EnclaveIdentity!.ToString();
        var model = ModelCluster.Create(nodes, g, oldEnclave, newEnclave, "-", UpgradeInEpochs);
        var inventory = model.Nodes.Select(n => new KmNode
        {
            Name = n.Name, Socket = n.Socket, DataDir = n.DataDir, ConfigPath = n.ConfigPath, RuntimeId = ModelCluster.RuntimeId,
            Lifecycle = LifecycleKind.Script, StartScript = "throw 'the model host starts this node'", StopScript = "throw 'the model host stops this node'",
            LogPath = n.LogPath,
        });
        var inventoryPath = Path.Combine(layout.Root, "inventory.json");
        // Written once (workers over the parent's clusters find it there, and may be reading it).
        var json = InventoryFile.ToJson(inventory);
        if (!File.Exists(inventoryPath) || File.ReadAllText(inventoryPath) != json) File.WriteAllText(inventoryPath, json);
        return new ClusterSetup
        {
            Nodes = nodes, Generation = g, InventoryPath = inventoryPath, BundlePath = newOrc.Path,
            OldEnclave = oldEnclave, NewEnclave = newEnclave, NewDigest = BundleStaging.Digest(newOrc.Path),
        };
    }
}
