using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using KmPs.Core.Bundles;
using KmPs.Core.Inventory;
using KmPs.Core.Policy;
using KmPs.Simulator.Shapes;
using KmPs.Core.Status;

namespace KmPs.Simulator.Cluster;

/// <summary>Options of <c>cluster create</c>.</summary>
public sealed class ClusterOptions
{
    public int Nodes { get; set; } = 4;
    public SchemaGeneration Generation { get; set; } = SchemaGeneration.V24;
    public int EpochIntervalMs { get; set; } = 1000;
    /// <summary>v2 becomes active this many epochs after the cluster starts.</summary>
    public int UpgradeInEpochs { get; set; } = 10;
    public string OldVersion { get; set; } = "0.5.0";
    public string NewVersion { get; set; } = "0.6.0";
    public string KmRuntimeId { get; set; } = "4000000000000000000000000000000000000000000000004a1a53dff2ae482d";
    /// <summary>Whether the v2 deployment is registered at creation (else add it with `cluster deploy`).</summary>
    public bool DeployNewVersion { get; set; } = true;
    /// <summary>Whether the key manager policy lets v2's enclave replicate from v1's (false: a policy not yet updated for v2).</summary>
    public bool PolicyAllowsUpgrade { get; set; } = true;
    /// <summary>oasis-core version the 24+ nodes report (e.g. 25.6.0: KeyManager.Secrets and next_policy; 25.0+ deployments carry bundle_checksum); null: 24.3.2.</summary>
    public string? SoftwareVersion { get; set; }
}

/// <summary>
/// Creates a simulated cluster: N nodes with real-shaped configs (22.2 flag style or 23.0+), a CPU
/// identity each, v1 and v2 KM ORCs, a policy letting v1 replicate to v2, the KM runtime with v1
/// active and v2 deployed at a future epoch, and the inventory with per-node start/stop commands.
/// </summary>
public static class ClusterBuilder
{
    public static string OrcPath(ClusterLayout l, string version) => Path.Combine(l.BundlesDir, $"keymanager-{version}.orc");

    public static ClusterSpec Create(string root, ClusterOptions o)
    {
        if (o.Nodes < 1 || o.Nodes > 64) throw new ArgumentException("--nodes must be between 1 and 64");
        var layout = new ClusterLayout(root);
        if (File.Exists(layout.SpecFile)) throw new ArgumentException($"{root} already holds a cluster");
        foreach (var d in new[] { layout.Root, layout.ChainDir, layout.RegistryDir, layout.BundlesDir, layout.CpusDir, layout.FaultsDir, layout.NodesDir, layout.P2pDir })
            Directory.CreateDirectory(d);

        var layoutKind = o.Generation >= SchemaGeneration.V24 ? OrcLayout.Components : OrcLayout.Legacy;
        var v1 = WriteOrc(layout, o.KmRuntimeId, o.OldVersion, layoutKind);
        var v2 = WriteOrc(layout, o.KmRuntimeId, o.NewVersion, layoutKind);
        var id1 = v1.EnclaveIdentity!.ToString();
        var id2 = v2.EnclaveIdentity!.ToString();

        var spec = new ClusterSpec
        {
            KmRuntimeId = o.KmRuntimeId,
            Generation = o.Generation,
            EpochIntervalMs = o.EpochIntervalMs,
            GenesisUnixMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
            SimulatorDll = typeof(ClusterBuilder).Assembly.Location,
            SoftwareVersion = o.SoftwareVersion,
        };
        var chain = new Chain(layout);
        var deployments = new List<ChainDeployment> { Deployment(v1, spec.FirstEpoch) };
        if (o.DeployNewVersion) deployments.Add(Deployment(v2, spec.FirstEpoch + (ulong)o.UpgradeInEpochs));
        chain.SaveDeployments(deployments);
        var policy = new SimPolicy { Serial = 1, MayGenerate = new() { id1 }, Enclaves = { PolicyEntry(id1, o.PolicyAllowsUpgrade ? new[] { id2 } : Array.Empty<string>()) } };
        if (o.PolicyAllowsUpgrade) policy.Enclaves.Add(PolicyEntry(id2, Array.Empty<string>()));
        chain.SavePolicy(new ChainPolicyState { Current = policy });

        var inventory = new List<KmNode>();
        for (var i = 1; i <= o.Nodes; i++)
        {
            var name = $"km{i}";
            spec.Nodes.Add(new ClusterNode { Name = name, MayGenerate = i == 1 });
            File.WriteAllBytes(layout.CpuFile(name), RandomNumberGenerator.GetBytes(32));
            CreateDataDir(layout, name, o.KmRuntimeId);
            File.WriteAllText(layout.ConfigFile(name), ConfigText(layout, name, o.Generation, OrcPath(layout, o.OldVersion), o.KmRuntimeId, i == 1));
            inventory.Add(InventoryNode(layout, spec, name));
        }
        spec.Save(layout);
        AtomicFile.WriteAllText(layout.InventoryFile, InventoryFile.ToJson(inventory));
        return spec;
    }

    /// <summary>The compute runtime's enclave that may query the key manager (the clients' may_query entry).</summary>
    public static readonly string ClientEnclave = new KmPs.Core.Sgx.EnclaveIdentity(SimKeys.Derive("client-runtime", "mr_enclave"), SimKeys.Derive("client-runtime", "mr_signer")).ToString();

    /// <summary>A policy entry: the enclave, whom it may replicate to, and the client runtime's enclave that may query it.</summary>
    public static SimEnclavePolicy PolicyEntry(string enclave, IEnumerable<string> mayReplicate) => new()
    {
        Enclave = enclave,
        MayReplicate = mayReplicate.ToList(),
        MayQuery = new() { [ClientRuntime] = new() { ClientEnclave } },
    };

    /// <summary>The compute runtime the simulated nodes serve (SimNodeStatus.ClientRuntimes' default).</summary>
    public const string ClientRuntime = "000000000000000000000000000000000000000000000000a6d1e3ebf60dff6c";

    /// <summary>The registry's deployment of a bundle: its version from an epoch, its real enclave identity and manifest hash.</summary>
    public static ChainDeployment Deployment(OrcBundle bundle, ulong validFrom) => new()
    {
        Version = bundle.Version.ToString(),
        ValidFrom = validFrom,
        Identity = bundle.EnclaveIdentity?.ToString() ?? throw new ArgumentException($"{bundle.Path} has no enclave identity"),
        ManifestHash = bundle.ManifestHash,
    };

    /// <summary>
    /// A key manager ORC of real shape (<see cref="OrcSpec.Simulated"/>): the same (runtime, version,
    /// build) always gives the same bytes and identity. The cluster's own bundles are build "";
    /// another <paramref name="build"/> is the right version of another build (another MRENCLAVE,
    /// the same signer), which the chain never deployed. Written to <paramref name="path"/>, else to
    /// the cluster's bundles folder as keymanager-&lt;version&gt;.orc.
    /// </summary>
    public static OrcBundle WriteOrc(ClusterLayout layout, string runtimeId, string version, OrcLayout kind, string build = "", string? path = null,
        string signer = KmPs.Core.Sgx.EnclaveSigner.DefaultName) =>
        OrcWriter.Write(path ?? OrcPath(layout, version), OrcSpec.Simulated(runtimeId, OasisVersion.Parse(version), kind, build, signer));

    private static void CreateDataDir(ClusterLayout layout, string node, string runtimeId)
    {
        var data = layout.DataDir(node);
        Directory.CreateDirectory(data);
        // oasis-node insists on a data dir only its owner can enter.
        File.SetUnixFileMode(data, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        Directory.CreateDirectory(Path.Combine(data, "runtimes", runtimeId));
        Directory.CreateDirectory(Path.Combine(data, "persistent-store.badger.db"));
        File.WriteAllText(Path.Combine(data, "persistent-store.badger.db", "MANIFEST"), "badger (simulated)\n");
        Directory.CreateDirectory(Path.Combine(data, "consensus", "state"));
        File.WriteAllText(Path.Combine(data, "identity_pub.pem"), "-----BEGIN ED25519 PUBLIC KEY-----\n" +
            Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)) + "\n-----END ED25519 PUBLIC KEY-----\n");
    }

    /// <summary>The node's config in the layout its oasis-node version reads (spec Q2).</summary>
    public static string ConfigText(ClusterLayout layout, string node, SchemaGeneration g, string orc, string runtimeId, bool mayGenerate)
    {
        var data = layout.DataDir(node);
        var genesis = Path.Combine(layout.ChainDir, "genesis.json");
        if (g == SchemaGeneration.V22_2)
            return $"""
                # oasis-node 22.2 configuration of key manager node {node} (simulated cluster)
                datadir: {data}
                log:
                  level:
                    default: info
                    tendermint: info
                  format: JSON
                  file: node.log
                genesis:
                  file: {genesis}
                runtime:
                  mode: keymanager
                  # Exactly one key manager bundle: swap it during upgrades, never list two.
                  paths:
                    - "{orc}"
                  sgx:
                    loader: /node/bin/oasis-core-runtime-loader
                worker:
                  registration:
                    entity: {Path.Combine(layout.Root, "entity", "entity.json")}
                  keymanager:
                    runtime:
                      id: "{runtimeId}"
                    may_generate: {(mayGenerate ? "true" : "false")}
                  p2p:
                    port: 20104
                """ + "\n";
        var mayGen = g == SchemaGeneration.V23_0 ? $"\n  may_generate: {(mayGenerate ? "true" : "false")}" : "";
        return $"""
            # oasis-node {(g == SchemaGeneration.V23_0 ? "23.0" : "24+")} configuration of key manager node {node} (simulated cluster)
            mode: keymanager
            common:
              data_dir: {data}
              log:
                format: JSON
                file: node.log
                level:
                  default: info
                  cometbft: info
            genesis:
              file: {genesis}
            registration:
              entity: {Path.Combine(layout.Root, "entity", "entity.json")}
            p2p:
              port: 9200
            runtime:
              # Exactly one key manager bundle: swap it during upgrades, never list two.
              paths:
                - "{orc}"
              sgx_loader: /node/bin/oasis-core-runtime-loader
            keymanager:
              runtime_id: "{runtimeId}"{mayGen}
            """ + "\n";
    }

    private static KmNode InventoryNode(ClusterLayout layout, ClusterSpec spec, string name)
    {
        var dll = NodeProcesses.SimulatorDll(spec);
        string Cmd(string verb) => $"& dotnet '{dll}' {verb} --cluster '{layout.Root}' --node '{name}' | Out-Null; if ($LASTEXITCODE) {{ throw \"{verb} of {name} failed ($LASTEXITCODE)\" }}";
        return new KmNode
        {
            Name = name,
            Socket = "unix:" + layout.SocketPath(name),
            DataDir = layout.DataDir(name),
            ConfigPath = layout.ConfigFile(name),
            RuntimeId = spec.KmRuntimeId,
            Lifecycle = LifecycleKind.Script,
            StartScript = Cmd("start-node"),
            StopScript = Cmd("stop-node"),
            LogPath = layout.LogFile(name),
        };
    }
}
