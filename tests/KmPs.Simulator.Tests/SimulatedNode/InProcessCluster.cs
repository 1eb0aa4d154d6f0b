using Grpc.Core;
using KmPs.Core.Sgx;
using KmPs.Core.Status;
using KmPs.Simulator.Cluster;
using KmPs.Simulator.Node;
using KmPs.Simulator.Shapes;
using KmPs.Tests.Support;
using KmPs.Tests.Harness;
using Microsoft.Extensions.Time.Testing;

namespace KmPs.Simulator.Tests.SimulatedNode;

/// <summary>
/// Simulated key manager nodes in this process, on a fake clock: the simulator's own pieces
/// (<see cref="SimNode"/> built from a <see cref="SimNodeContext"/> and <see cref="SimNodePorts"/>)
/// over a real chain folder and real sealed state in a temp dir, with replication requests handed
/// straight to the peer's <see cref="NodeControlApi.Replicate"/>. Nothing runs unless a test ticks
/// it, and time moves only when a test advances it: every step is deterministic.
/// </summary>
internal sealed class InProcessCluster : IDisposable
{
    public const string RuntimeId = "4000000000000000000000000000000000000000000000004a1a53dff2ae482d";
    public const int EpochMs = 1000;
    public static readonly OasisVersion OldVersion = new(0, 5, 0);
    public static readonly OasisVersion NewVersion = new(0, 6, 0);
    public static readonly EnclaveIdentity OldEnclave = Enclave("old");
    public static readonly EnclaveIdentity NewEnclave = Enclave("new");

    private readonly TempDir _dir = new("kmsim");
    private readonly Dictionary<string, Member> _members = new();
    private readonly long _genesisMs;

    public FakeTimeProvider Time { get; }
    public ClusterLayout Layout { get; }
    public Chain Chain { get; }
    public EpochClock Clock { get; }

    /// <summary>One node name's process (the latest started) and what outlives it: its CPU, its faults.</summary>
    private sealed class Member
    {
        public required SimNode Node;
        public required byte[] Cpu;
        public Faults Faults = Faults.None;
        public bool Running = true;
    }

    public InProcessCluster(ulong newVersionFrom = 1)
    {
        var start = new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);
        _genesisMs = start.ToUnixTimeMilliseconds();
        // Mid-epoch, so that a step of less than half an epoch never crosses a transition by accident.
        Time = new FakeTimeProvider(start + TimeSpan.FromMilliseconds(EpochMs / 2));
        Layout = new ClusterLayout(_dir.Path);
        Chain = new Chain(Layout);
        Clock = new EpochClock(_genesisMs, EpochMs, 1, Time);
        Chain.SaveDeployments(new List<ChainDeployment>
        {
            new() { Version = OldVersion.ToString(), ValidFrom = 1, Identity = OldEnclave.ToString() },
            new() { Version = NewVersion.ToString(), ValidFrom = newVersionFrom, Identity = NewEnclave.ToString() },
        });
        SetPolicy(AllowingPolicy());
    }

    public static EnclaveIdentity Enclave(string seed) => new(SimKeys.Derive("enclave-" + seed, "mr_enclave"), SimKeys.Derive("signer", "mr_signer"));

    /// <summary>ClusterBuilder's policy: the old enclave generates and may replicate to the new, which has its own entry.</summary>
    public static SimPolicy AllowingPolicy(uint serial = 1) => new()
    {
        Serial = serial,
        MayGenerate = { OldEnclave.ToString() },
        Enclaves = { ClusterBuilder.PolicyEntry(OldEnclave.ToString(), new[] { NewEnclave.ToString() }), ClusterBuilder.PolicyEntry(NewEnclave.ToString(), Array.Empty<string>()) },
    };

    /// <summary>A policy not updated for the new enclave (no entry for it, the old one lists nobody).</summary>
    public static SimPolicy DenyingPolicy(uint serial = 1) => new()
    {
        Serial = serial,
        MayGenerate = { OldEnclave.ToString() },
        Enclaves = { ClusterBuilder.PolicyEntry(OldEnclave.ToString(), Array.Empty<string>()) },
    };

    public void SetPolicy(SimPolicy policy) => Chain.SavePolicy(new ChainPolicyState { Current = policy });

    public ulong Epoch => Clock.Now;

    /// <summary>
    /// Starts a process for <paramref name="name"/> (again: a restart, same data dir, same CPU) on the old
    /// or the new bundle; it does nothing until ticked.
    /// </summary>
    public SimNode Start(string name, bool newVersion = false, SchemaGeneration generation = SchemaGeneration.V24, bool mayGenerate = false)
    {
        if (!_members.TryGetValue(name, out var m))
        {
            m = new Member { Node = null!, Cpu = SimKeys.Derive("cpu-" + name, "cpu") };
            _members[name] = m;
        }
        var dataDir = Layout.DataDir(name);
        Directory.CreateDirectory(dataDir);
        var setup = new NodeSetup(dataDir, RuntimeId, Path.Combine(Layout.BundlesDir, newVersion ? "new.orc" : "old.orc"),
            newVersion ? NewVersion : OldVersion, newVersion ? NewEnclave : OldEnclave, Layout.LogFile(name));
        var ctx = new SimNodeContext(name, setup, m.Cpu, Layout.P2pSocket(name), generation,
            SimNodeContext.SoftwareVersionOf(generation, null), mayGenerate);
        var member = m;
        var ports = new SimNodePorts
        {
            Chain = Chain,
            Log = new NodeLog(setup.LogFile),
            Clock = Clock,
            Faults = () => member.Faults,
            Peers = new Router(this),
        };
        m.Node = new SimNode(ctx, ports);
        m.Running = true;
        return m.Node;
    }

    public SimNode Node(string name) => _members[name].Node;

    /// <summary>The operator guide's per-node upgrade: the process stopped, its local state wiped, started again on the new bundle.</summary>
    public SimNode UpgradeWiped(string name)
    {
        Kill(name);
        Directory.Delete(StorageDir(name), recursive: true);
        return Start(name, newVersion: true);
    }

    public void SetFaults(string name, Faults faults) => _members[name].Faults = faults;

    /// <summary>The process dies (its registration stays on the chain until it expires).</summary>
    public void Kill(string name) => _members[name].Running = false;

    public IEnumerable<SimNode> Running => _members.Values.Where(m => m.Running).Select(m => m.Node);

    /// <summary>One loop turn of every running node, in name order; a node that crashes is no longer running.</summary>
    public Dictionary<string, TickOutcome> TickAll()
    {
        var outcomes = new Dictionary<string, TickOutcome>();
        foreach (var (name, m) in _members.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            if (!m.Running) continue;
            var o = m.Node.Tick();
            outcomes[name] = o;
            if (o != TickOutcome.Continue) m.Running = false;
        }
        return outcomes;
    }

    public void Advance(TimeSpan dt) => Time.Advance(dt);

    /// <summary>Moves the clock to the same point of the epoch <paramref name="epochs"/> later, ticking every node once in each epoch.</summary>
    public void RunEpochs(int epochs)
    {
        for (var i = 0; i < epochs; i++)
        {
            Advance(TimeSpan.FromMilliseconds(EpochMs));
            TickAll();
        }
    }

    /// <summary>A cluster bootstrapped on the old version: km1 generates the master secret, the others replicate it; all ready.</summary>
    public static InProcessCluster Bootstrapped(int nodes, ulong newVersionFrom = 1)
    {
        var c = new InProcessCluster(newVersionFrom);
        for (var i = 1; i <= nodes; i++) c.Start($"km{i}");
        // Tick 1: km1 generates and registers ready; the others pre-register. Tick 2: they replicate.
        c.TickAll();
        c.TickAll();
        return c;
    }

    public SimNodeStatus Status(string name) => Node(name).Api.Status();

    /// <summary>The node's log lines' messages (the "msg" field), in order.</summary>
    public IReadOnlyList<string> LogMessages(string name) =>
        File.Exists(Layout.LogFile(name))
            ? File.ReadAllLines(Layout.LogFile(name)).Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement.GetProperty("msg").GetString()!).ToList()
            : Array.Empty<string>();

    public IReadOnlyList<string> LogLines(string name) =>
        File.Exists(Layout.LogFile(name)) ? File.ReadAllLines(Layout.LogFile(name)) : Array.Empty<string>();

    public string StorageDir(string name) => Layout.LocalStorageDir(name, RuntimeId);

    /// <summary>Replication requests go to the peer's own handler, as its P2P socket would; a peer whose process is not running does not answer.</summary>
    private sealed class Router(InProcessCluster cluster) : IReplicationClient
    {
        public byte[] Request(ChainRegistration peer, string requester, EnclaveIdentity identity)
        {
            if (!cluster._members.TryGetValue(peer.Node, out var m) || !m.Running)
                throw new RpcException(new Grpc.Core.Status(StatusCode.Unavailable, "failed to connect to all addresses"));
            return ReplicationWire.DecodeAnswer(m.Node.Api.Replicate(ReplicationWire.EncodeRequest(requester, identity)));
        }
    }

    public void Dispose() => _dir.Dispose();
}
