using System.Diagnostics;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using KmPs.Inventory;
using KmPs.Simulator.Cluster;
using KmPs.Tests.Infrastructure;

// Get-KmStatus over real SSH remoting, from a hosted PowerShell 7.6 engine on the admin host:
// 8 simulated nodes, each on its own SSH "machine" (an unprivileged user of a private sshd on
// 127.0.0.1, as in the tests), against 1 node on 1 machine.
//
//   dotnet run -c Release --project tools/KmPs.SshBenchmark [-- --rounds N --warm N]     (as root)
//
// Per round and size, with new sessions (a new pwsh on every machine):
//   import   Import-KmNode of the inventory: opens the sessions, completes each node on its machine;
//   first    the first Get-KmStatus on those sessions;
//   warm     later Get-KmStatus calls on the same sessions (median of --warm calls).
// Goals (issue 11): 8-node first call < 1.5x the 1-node one; warm < 100 ms.

var rounds = Arg("--rounds", 3);
var warmCalls = Arg("--warm", 20);
const int Machines = 8;

Console.WriteLine($"SSH benchmark: {Machines} nodes on {Machines} SSH machines vs 1; {rounds} rounds, {warmCalls} warm calls each; {Environment.ProcessorCount} cores");
using var ssh = SshMachines.Start(Machines);
var root = Path.Combine("/tmp", "kb" + Guid.NewGuid().ToString("N")[..10]);
ClusterBuilder.Create(root, new ClusterOptions { Nodes = Machines, EpochIntervalMs = 1000 });
var layout = new ClusterLayout(root);
try
{
    var placed = Enumerable.Range(0, Machines).ToDictionary(i => $"km{i + 1}", i => ssh.Machines[i]);
    var sw = Stopwatch.StartNew();
    var nodes = await ssh.StartClusterAsync(layout, placed);
    Console.WriteLine($"cluster of {Machines} started over ssh, one user each, all ready: {sw.Elapsed.TotalSeconds:0.0} s");
    var one = Path.Combine(root, "inventory-1.json");
    var all = Path.Combine(root, "inventory-8.json");
    File.WriteAllText(one, InventoryFile.ToJson(nodes.Take(1)));
    File.WriteAllText(all, InventoryFile.ToJson(nodes));

    using var engine = new Engine();
    Measure(engine, one, 2); // warm-up of the admin side: engine, module, SSH transport
    var results = new List<(int Nodes, double Import, double First, double Warm)>();
    for (var r = 1; r <= rounds; r++)
        foreach (var (inventory, size) in new[] { (one, 1), (all, Machines) })
        {
            var m = Measure(engine, inventory, warmCalls);
            results.Add((size, m.Import, m.First, m.Warm));
            Console.WriteLine($"  round {r}, {size} node(s): import {m.Import,7:0} ms   first Get-KmStatus {m.First,6:0} ms   warm {m.Warm,5:0.0} ms");
        }

    double Median(IEnumerable<double> v) { var s = v.OrderBy(x => x).ToArray(); return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2; }
    var (i1, f1, w1) = (Median(results.Where(x => x.Nodes == 1).Select(x => x.Import)), Median(results.Where(x => x.Nodes == 1).Select(x => x.First)), Median(results.Where(x => x.Nodes == 1).Select(x => x.Warm)));
    var (i8, f8, w8) = (Median(results.Where(x => x.Nodes == Machines).Select(x => x.Import)), Median(results.Where(x => x.Nodes == Machines).Select(x => x.First)), Median(results.Where(x => x.Nodes == Machines).Select(x => x.Warm)));
    Console.WriteLine();
    Console.WriteLine($"medians over {rounds} rounds             1 machine   {Machines} machines   ratio");
    Console.WriteLine($"  Import-KmNode (sessions opened)  {i1,9:0} ms  {i8,9:0} ms  {i8 / i1,6:0.00}");
    Console.WriteLine($"  first Get-KmStatus               {f1,9:0} ms  {f8,9:0} ms  {f8 / f1,6:0.00}   goal < 1.5");
    Console.WriteLine($"  import + first call              {i1 + f1,9:0} ms  {i8 + f8,9:0} ms  {(i8 + f8) / (i1 + f1),6:0.00}");
    Console.WriteLine($"  warm Get-KmStatus                {w1,9:0.0} ms  {w8,9:0.0} ms  {w8 / w1,6:0.00}   goal < 100 ms");
    return 0;
}
finally
{
    try { ClusterControl.StopAll(layout); } catch (Exception) { }
    try { Directory.Delete(root, true); } catch (IOException) { }
}

// One size: new sessions by Import-KmNode, the first status call, then warm calls; the sessions are removed at the end.
static (double Import, double First, double Warm) Measure(Engine engine, string inventory, int warmCalls)
{
    var sw = Stopwatch.StartNew();
    engine.Run($"$global:nodes = Import-KmNode '{inventory}'");
    var import = sw.Elapsed.TotalMilliseconds;
    var count = engine.Run("$global:nodes.Count")[0].BaseObject;
    sw.Restart();
    var first = engine.Run("$global:nodes | Get-KmStatus");
    var firstMs = sw.Elapsed.TotalMilliseconds;
    if (first.Count != (int)count || first.Any(s => !(bool)s.Properties["IsReady"].Value))
        throw new InvalidOperationException($"expected {count} ready statuses, got {first.Count}");
    var warm = new List<double>();
    for (var i = 0; i < warmCalls; i++)
    {
        sw.Restart();
        engine.Run("$global:nodes | Get-KmStatus");
        warm.Add(sw.Elapsed.TotalMilliseconds);
    }
    engine.Run("Get-PSSession | Remove-PSSession");
    warm.Sort();
    return (import, firstMs, warm[warm.Count / 2]);
}

int Arg(string name, int fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1]) : fallback;
}

/// <summary>The admin host's engine with the module imported; every error fails the benchmark.</summary>
sealed class Engine : IDisposable
{
    private readonly Runspace _runspace;

    public Engine()
    {
        var iss = InitialSessionState.CreateDefault2();
        iss.ImportPSModule(new[] { TestPaths.ModuleManifest });
        _runspace = RunspaceFactory.CreateRunspace(iss);
        _runspace.Open();
    }

    public List<PSObject> Run(string script)
    {
        using var ps = PowerShell.Create();
        ps.Runspace = _runspace;
        ps.AddScript(script);
        var output = ps.Invoke().ToList();
        if (ps.Streams.Error.Count > 0) throw new InvalidOperationException(string.Join("\n", ps.Streams.Error));
        return output;
    }

    public void Dispose() => _runspace.Dispose();
}
