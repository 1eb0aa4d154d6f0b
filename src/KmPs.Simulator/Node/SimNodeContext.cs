using KmPs.Core.Status;
using KmPs.Simulator.Cluster;

namespace KmPs.Simulator.Node;

/// <summary>
/// What a node process knows at start and keeps until it exits: its name, config and bundle
/// (<see cref="NodeSetup"/>: data dir, runtime id, version, enclave identity, sockets), the CPU it
/// runs on, its replication endpoint, its schema generation and the software version it reports.
/// </summary>
/// <param name="MayGenerateFlag">The 22.2/23.0 may_generate flag of the node (24+ reads the policy).</param>
public sealed record SimNodeContext(
    string Name,
    NodeSetup Setup,
    byte[] Cpu,
    string P2pSocket,
    SchemaGeneration Generation,
    string SoftwareVersion,
    bool MayGenerateFlag)
{
    /// <summary>runtimes/&lt;id&gt;/worker-local-storage.badger.db, where the sealed state lives.</summary>
    public string StorageDir => Path.Combine(Setup.DataDir, "runtimes", Setup.KmRuntimeId, ClusterLayout.LocalStorageName);

    /// <summary>The address peers dial for replication, as the node registers it.</summary>
    public string P2pAddress => "unix:" + P2pSocket;

    /// <summary>The node <paramref name="name"/> of a cluster, with the setup its config and bundle gave.</summary>
    public static SimNodeContext Of(ClusterLayout layout, ClusterSpec spec, string name, NodeSetup setup)
    {
        var node = spec.Node(name);
        var generation = node.Generation ?? spec.Generation;
        return new SimNodeContext(name, setup, File.ReadAllBytes(layout.CpuFile(name)), layout.P2pSocket(name),
            generation, SoftwareVersionOf(generation, spec.SoftwareVersion), node.MayGenerate);
    }

    /// <summary>The oasis-core version a node of a generation reports (24+: the cluster's, by default 24.3.2).</summary>
    public static string SoftwareVersionOf(SchemaGeneration generation, string? configured) => generation switch
    {
        SchemaGeneration.V22_2 => "22.2.13",
        SchemaGeneration.V23_0 => "23.0.11",
        _ => configured ?? "24.3.2",
    };
}

/// <summary>
/// What a node's pieces act on outside their own state, injected so that they run the same in a
/// node process and in a unit test: the shared chain (files), the log, the clock, the live fault
/// set and the way to reach a peer for replication.
/// </summary>
public sealed class SimNodePorts
{
    public required Chain Chain { get; init; }
    public required NodeLog Log { get; init; }
    /// <summary>The cluster's epoch clock; its <see cref="EpochClock.Time"/> is the wall time every piece reads.</summary>
    public required EpochClock Clock { get; init; }
    /// <summary>The fault set now (a node process re-reads faults/&lt;node&gt;.json on every call).</summary>
    public required Func<Faults> Faults { get; init; }
    public required IReplicationClient Peers { get; init; }

    public TimeProvider Time => Clock.Time;
    public long UnixNow => Time.GetUtcNow().ToUnixTimeSeconds();
}
