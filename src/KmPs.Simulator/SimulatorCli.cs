using System.Runtime.InteropServices;
using System.Text.Json;
using KmPs.Core.Control;
using KmPs.Simulator.Cluster;
using KmPs.Simulator.Control;
using KmPs.Simulator.Node;
using KmPs.Core.Status;

namespace KmPs.Simulator;

/// <summary>Command line of the simulator process.</summary>
public static class SimulatorCli
{
    public const string Usage = """
        KmPs.Simulator: simulated oasis-node key manager clusters for rehearsals and tests.

          cluster create --dir DIR [--nodes 4] [--generation 24|23.0|22.2] [--epoch-ms 1000] [--upgrade-in 10]
                         [--old-version 0.5.0] [--new-version 0.6.0] [--network testnet|mainnet] [--policy-not-updated]
              Create a cluster: configs, data dirs, CPU identities, v1/v2 ORCs, policy, deployments, inventory.json.
              --generation 25.1|25.6|26.1: 24+ shapes, reporting that oasis-core version (KeyManager.Secrets; 25.6+ next_policy).
              --policy-not-updated: the key manager policy does not yet let the new version's enclave replicate.
              --network picks the key manager runtime id (default Testnet's).
          cluster policy --dir DIR (--allow|--forbid) [--in N] [--show-from EPOCH]
              Update the key manager policy so the new version's enclave may (or may not) replicate from the old:
              at once, or in N epochs (25.6+ nodes show it as next_policy from the epoch before, or from EPOCH).
          cluster orc --dir DIR --version V [--build NAME] [--network testnet|mainnet] [--out FILE]
              Write a key manager ORC of real shape that the cluster did not deploy: another build of a
              version (--build: another MRENCLAVE), or the other network's (--network). Prints its identity.
          cluster start --dir DIR [--timeout-sec 60]    Start every node and wait until all are ready.
          cluster stop --dir DIR                        Stop every node (SIGTERM).
          cluster status --dir DIR                      One line per node.
          audit --dir DIR                               Who holds the key material, from the files alone (JSON).
          start-node --cluster DIR --node NAME          Start one node in the background; returns when its socket exists.
          stop-node --cluster DIR --node NAME [--kill]  Stop one node (SIGTERM; --kill: SIGKILL, like a crash).
          node --cluster DIR --node NAME                Run one node in the foreground (what start-node launches).
          serve-status --socket PATH --state FILE.json  Serve a fixed status snapshot (re-read on change).
        """ + "\n" + Releases.ReleaseServerCli.Usage;

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            Console.WriteLine(Usage);
            return args.Length == 0 ? 2 : 0;
        }
        try
        {
            var rest = args.Skip(1);
            return args[0] switch
            {
                "serve-status" => await ServeStatusAsync(Options.Parse(rest)),
                "serve-releases" => await ServeReleasesAsync(Options.Parse(rest)),
                "node" => await RunNodeAsync(Options.Parse(rest)),
                "start-node" => StartNode(Options.Parse(rest)),
                "stop-node" => StopNode(Options.Parse(rest)),
                "audit" => Audit(Options.Parse(rest)),
                "cluster" when args.Length > 1 => await ClusterAsync(args[1], Options.Parse(args.Skip(2))),
                _ => Fail($"unknown command '{string.Join(' ', args.Take(2))}'\n\n{Usage}"),
            };
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or TimeoutException or KmPs.Core.KmException or IOException)
        {
            return Fail(e.Message);
        }
    }

    private static int Fail(string message)
    {
        Console.Error.WriteLine("error: " + message);
        return message.StartsWith("unknown command", StringComparison.Ordinal) ? 2 : 1;
    }

    private static CancellationTokenSource StopOnSignals(out IDisposable registration)
    {
        var stop = new CancellationTokenSource();
        registration = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };
        return stop;
    }

    private static async Task<int> ServeStatusAsync(Options o)
    {
        var socket = o.Required("socket");
        var backend = new SnapshotBackend(o.Required("state"));
        using var stop = StopOnSignals(out var reg);
        using (reg)
        {
            await using var server = await ControlServer.StartAsync(socket, backend);
            Console.WriteLine($"listening on unix:{socket}");
            await Task.WhenAny(backend.ShutdownRequested, Task.Delay(Timeout.Infinite, stop.Token).ContinueWith(_ => { }));
        }
        return 0;
    }

    private static async Task<int> ServeReleasesAsync(Options o)
    {
        using var stop = StopOnSignals(out var reg);
        using (reg) return await Releases.ReleaseServerCli.RunAsync(o, stop.Token);
    }

    private static async Task<int> RunNodeAsync(Options o)
    {
        var layout = new ClusterLayout(o.Required("cluster"));
        var name = o.Required("node");
        var spec = ClusterSpec.Load(layout);
        var generation = spec.Node(name).Generation ?? spec.Generation;
        NodeSetup setup;
        try { setup = NodeSetup.Load(layout.ConfigFile(name), generation); }
        catch (Exception e) when (e is NodeStartupException or KmPs.Core.KmException)
        {
            // oasis-node logs the fatal error and exits non-zero; the service manager sees it.
            new NodeLog(layout.LogFile(name)).Error("node", "failed to start node", ("err", e.Message));
            Console.Error.WriteLine("error: " + e.Message);
            return 1;
        }
        using var stop = StopOnSignals(out var reg);
        using (reg) return await new SimNode(layout, name, setup).RunAsync(stop.Token);
    }

    private static int StartNode(Options o)
    {
        var layout = new ClusterLayout(o.Required("cluster"));
        var pid = NodeProcesses.Start(layout, o.Required("node"), TimeSpan.FromSeconds(o.Int("timeout-sec", 60)));
        Console.WriteLine(pid);
        return 0;
    }

    private static int StopNode(Options o)
    {
        var layout = new ClusterLayout(o.Required("cluster"));
        var node = o.Required("node");
        if (o.Optional("kill") is not null) NodeProcesses.Kill(layout, node);
        else NodeProcesses.Stop(layout, node, TimeSpan.FromSeconds(o.Int("timeout-sec", 30)));
        return 0;
    }

    private static int Audit(Options o)
    {
        var report = ClusterAuditor.Audit(o.Required("dir"));
        Console.WriteLine(JsonSerializer.Serialize(new
        {
            report.KeyMaterialExists, report.Holders, report.RecoverableCopies, report.ExpectedChecksum, report.Nodes,
        }, ClusterSpec.Json));
        return report.KeyMaterialExists ? 0 : 3;
    }

    private static async Task<int> ClusterAsync(string verb, Options o)
    {
        var dir = o.Required("dir");
        var layout = new ClusterLayout(dir);
        switch (verb)
        {
            case "create":
                var (generation, software) = ParseGenerationAndVersion(o.Optional("generation") ?? "24");
                var options = new ClusterOptions
                {
                    Nodes = o.Int("nodes", 4),
                    Generation = generation,
                    SoftwareVersion = software,
                    PolicyAllowsUpgrade = o.Optional("policy-not-updated") is null,
                    EpochIntervalMs = o.Int("epoch-ms", 1000),
                    UpgradeInEpochs = o.Int("upgrade-in", 10),
                    OldVersion = o.Optional("old-version") ?? "0.5.0",
                    NewVersion = o.Optional("new-version") ?? "0.6.0",
                };
                if (o.Optional("network") is { } network) options.KmRuntimeId = NetworkRuntimeId(network);
                ClusterBuilder.Create(dir, options);
                Console.WriteLine($"created {options.Nodes}-node cluster ({options.Generation}) in {layout.Root}; inventory: {layout.InventoryFile}");
                return 0;
            case "policy":
            {
                var allow = o.Optional("allow") is not null;
                if (allow == (o.Optional("forbid") is not null)) return Fail("cluster policy needs one of --allow or --forbid");
                var spec = ClusterSpec.Load(layout);
                var versions = new Chain(layout).Deployments().OrderBy(d => d.ValidFrom).Select(d => d.Version).ToList();
                if (versions.Count < 2) return Fail("the cluster has no second version to upgrade to");
                var policy = ClusterControl.UpgradePolicy(layout, versions[0], versions[^1], allow);
                var inEpochs = o.Int("in", 0);
                var now = EpochClock.Of(spec).Now;
                var from = ClusterControl.SetPolicy(layout, policy, inEpochs > 0 ? now + (ulong)inEpochs : null,
                    o.Optional("show-from") is { } show ? ulong.Parse(show, System.Globalization.CultureInfo.InvariantCulture) : null);
                Console.WriteLine($"policy serial {policy.Serial} {(allow ? "lets" : "does not let")} {versions[^1]} replicate from {versions[0]}, in effect from epoch {from}");
                return 0;
            }
            case "start":
                await ClusterControl.StartAllAsync(layout, TimeSpan.FromSeconds(o.Int("timeout-sec", 60)), CancellationToken.None);
                Console.WriteLine("all nodes ready");
                return 0;
            case "stop":
                ClusterControl.StopAll(layout);
                return 0;
            case "status":
                foreach (var line in await ClusterControl.StatusLinesAsync(layout)) Console.WriteLine(line);
                return 0;
            case "orc":
            {
                var spec = ClusterSpec.Load(layout);
                var version = o.Required("version");
                var runtimeId = o.Optional("network") is { } net ? NetworkRuntimeId(net) : spec.KmRuntimeId;
                var build = o.Optional("build") ?? "";
                var kind = spec.Generation >= SchemaGeneration.V24 ? KmPs.Core.Bundles.OrcLayout.Components : KmPs.Core.Bundles.OrcLayout.Legacy;
                var path = o.Optional("out") ?? Path.Combine(layout.Root, $"keymanager-{version}{(build.Length > 0 ? "-" + build : "")}" +
                    $"{(KmPs.Core.Bundles.KmNetworks.OfRuntime(runtimeId) == KmPs.Core.Bundles.KmNetwork.Testnet && KmPs.Core.Bundles.KmNetworks.OfRuntime(spec.KmRuntimeId) != KmPs.Core.Bundles.KmNetwork.Testnet ? "-testnet" : "")}.orc");
                var bundle = ClusterBuilder.WriteOrc(layout, runtimeId, version, kind, build, Path.GetFullPath(path));
                Console.WriteLine($"{bundle.Path}: runtime {bundle.RuntimeId} version {bundle.Version} enclave {bundle.EnclaveIdentity} manifest hash {bundle.ManifestHash}");
                return 0;
            }
            default:
                return Fail($"unknown command 'cluster {verb}'\n\n{Usage}");
        }
    }

    private static string NetworkRuntimeId(string network) =>
        Enum.TryParse<KmPs.Core.Bundles.KmNetwork>(network, ignoreCase: true, out var n) && Enum.IsDefined(n)
            ? KmPs.Core.Bundles.KmNetworks.KeyManagerOf(n)
            : throw new ArgumentException($"--network must be mainnet or testnet (got '{network}')");

    /// <summary>
    /// A generation, or a 24+ oasis-core version that changes what a node serves: 25.1 (the
    /// KeyManager.Secrets service name), 25.6 and 26.1 (next_policy).
    /// </summary>
    public static (SchemaGeneration Generation, string? SoftwareVersion) ParseGenerationAndVersion(string text) =>
        text.Trim().ToLowerInvariant() switch
        {
            "25.1" or "25.1.0" => (SchemaGeneration.V24, "25.1.0"),
            "25.6" or "25.6.0" => (SchemaGeneration.V24, "25.6.0"),
            "26.1" or "26.1.0" => (SchemaGeneration.V24, "26.1.0"),
            var t => (ParseGeneration(t), null),
        };

    public static SchemaGeneration ParseGeneration(string text) => text.Trim().ToLowerInvariant() switch
    {
        "22" or "22.2" or "v22_2" => SchemaGeneration.V22_2,
        "23" or "23.0" or "v23_0" => SchemaGeneration.V23_0,
        "24" or "24+" or "24.0" or "v24" or "25" or "26" => SchemaGeneration.V24,
        _ => throw new ArgumentException($"--generation must be 22.2, 23.0 or 24 (got '{text}')"),
    };
}
