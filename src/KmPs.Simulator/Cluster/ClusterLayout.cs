using KmPs.Core;
namespace KmPs.Simulator.Cluster;

/// <summary>
/// Files of a simulated cluster under one root folder:
/// <code>
/// cluster.json                 the cluster: epoch clock, KM runtime id, schema generation, nodes
/// chain/                       shared "consensus" state: deployments, policy, registrations, KM status
/// bundles/*.orc                v1 and v2 key manager ORCs
/// cpus/&lt;node&gt;.cpu             each node's CPU identity (outside its data dir, like a real CPU)
/// faults/&lt;node&gt;.json          fault injection, re-read live
/// nodes/&lt;node&gt;/config.yml     the node's oasis-node config; data/ is its data dir
/// p2p/&lt;node&gt;.sock            each node's replication endpoint (its "P2P port"), reachable by every peer
/// inventory.json               the nodes for Import-KmNode, with start/stop commands
/// </code>
/// </summary>
public sealed class ClusterLayout(string root)
{
    public string Root { get; } = Path.GetFullPath(root);
    public string SpecFile => Path.Combine(Root, "cluster.json");
    public string ChainDir => Path.Combine(Root, "chain");
    public string DeploymentsFile => Path.Combine(ChainDir, "deployments.json");
    public string PolicyFile => Path.Combine(ChainDir, "policy.json");
    public string KeyManagerStatusFile => Path.Combine(ChainDir, "keymanager.json");
    public string RegistryDir => Path.Combine(ChainDir, "registry");
    public string BundlesDir => Path.Combine(Root, "bundles");
    public string CpusDir => Path.Combine(Root, "cpus");
    public string FaultsDir => Path.Combine(Root, "faults");
    public string NodesDir => Path.Combine(Root, "nodes");
    public string InventoryFile => Path.Combine(Root, "inventory.json");
    public string P2pDir => Path.Combine(Root, "p2p");

    public string NodeDir(string node) => Path.Combine(NodesDir, node);
    public string ConfigFile(string node) => Path.Combine(NodeDir(node), "config.yml");
    public string DataDir(string node) => Path.Combine(NodeDir(node), "data");
    public string PidFile(string node) => Path.Combine(NodeDir(node), "node.pid");
    public string StdoutFile(string node) => Path.Combine(NodeDir(node), "stdout.log");
    /// <summary>
    /// Where peers ask the node for the master secret. Not the control socket: that one lives in the
    /// data dir, which only the node's own user may enter (real nodes replicate over the network).
    /// </summary>
    public string P2pSocket(string node) => Path.Combine(P2pDir, node + ".sock");
    public string CpuFile(string node) => Path.Combine(CpusDir, node + ".cpu");
    public string FaultFile(string node) => Path.Combine(FaultsDir, node + ".json");
    public string RegistrationFile(string node) => Path.Combine(RegistryDir, node + ".json");
    /// <summary>Where the node listens: the socket its config names (common.internal_socket_path), else &lt;data dir&gt;/internal.sock.</summary>
    public string SocketPath(string node)
    {
        var config = ConfigFile(node);
        var stamp = File.Exists(config) ? File.GetLastWriteTimeUtc(config) : DateTime.MinValue;
        lock (_sockets)
        {
            if (_sockets.TryGetValue(node, out var known) && known.Stamp == stamp) return known.Path;
            string? configured = null;
            try
            {
                if (stamp != DateTime.MinValue && KmPs.Core.Config.NodeConfig.Load(config) is { InternalSocket: not null } c) configured = c.SocketPath;
            }
            catch (KmException) { } // a config being rewritten or broken by a test: the default path
            var path = configured ?? Path.Combine(DataDir(node), "internal.sock");
            _sockets[node] = (stamp, path);
            return path;
        }
    }

    private readonly Dictionary<string, (DateTime Stamp, string Path)> _sockets = new();
    public string LogFile(string node) => Path.Combine(DataDir(node), "node.log");

    public const string LocalStorageName = "worker-local-storage.badger.db";
    public string LocalStorageDir(string node, string runtimeId) => Path.Combine(DataDir(node), "runtimes", runtimeId, LocalStorageName);
}
